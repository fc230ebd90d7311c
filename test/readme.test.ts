import { execFileSync } from 'node:child_process'
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'

// Every ```ts block of the README is a complete module; this compiles them
// against the built package, as a user would import it, so the README cannot
// drift from the API.
const root = join(import.meta.dirname, '..')
const out = join(root, 'test-results', 'readme')

describe('README', () => {
  const readme = readFileSync(join(root, 'README.md'), 'utf8')
  const blocks = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1] ?? '')

  it('shows the install and test commands', () => {
    expect(readme).toMatch(/npm install\n/)
    expect(readme).toMatch(/npm test\n/)
  })

  it('has TypeScript examples that compile', () => {
    expect(blocks.length).toBeGreaterThanOrEqual(3)
    rmSync(out, { recursive: true, force: true })
    mkdirSync(out, { recursive: true })
    const files = blocks.map((code, i) => {
      const file = `snippet-${i}.ts`
      writeFileSync(join(out, file), code)
      return file
    })
    writeFileSync(
      join(out, 'tsconfig.json'),
      JSON.stringify({ extends: '../../tsconfig.json', include: files, compilerOptions: { noUnusedLocals: false } }),
    )
    const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc')
    let output = ''
    try {
      execFileSync(process.execPath, [tsc, '--noEmit', '-p', join(out, 'tsconfig.json')], { encoding: 'utf8' })
    } catch (error) {
      output = String((error as { stdout?: string }).stdout ?? error)
    }
    expect(output).toBe('')
  })
})
