import { execFileSync } from 'node:child_process'
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { signPayload } from '../src/signing/sign.js'

// Every ```ts block of the README is a complete module; this compiles them
// against the built package, as a user would import it, so the README cannot
// drift from the API.
const root = join(import.meta.dirname, '..')
const out = join(root, 'test-results', 'readme')

describe('README', () => {
  const readme = readFileSync(join(root, 'README.md'), 'utf8')
  const blocks = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1] ?? '')

  it('starts with the two commands: install and start, then test', () => {
    const quickStart = /## Quick start\n\n```sh\n([\s\S]*?)```/.exec(readme)?.[1]
    expect(quickStart).toBe('npm install && npm start\nnpm test\n')
  })

  it('keeps the order: what it is, Quick start, Concepts, API, Receiving webhooks, Security, Performance, Changelog', () => {
    const sections = [...readme.matchAll(/^## (.+)$/gm)].map((m) => m[1])
    expect(sections).toEqual(['Quick start', 'Concepts', 'API', 'Receiving webhooks', 'Security', 'Performance', 'Changelog'])
  })

  it("has a Python verifier that accepts agno-events' signatures and refuses others", () => {
    const python = /```python\n([\s\S]*?)```/.exec(readme)?.[1] ?? ''
    expect(python).toContain('def verify_signature')
    const body = '{"event":"agent.created","payload":{"agent_id":"ü"}}'
    const secret = 'a-secret-of-16-chars-or-more'
    const run = (signature: string) =>
      execFileSync(
        'python3',
        ['-c', `${python}\nimport sys\nprint(verify_signature(sys.argv[1].encode(), sys.argv[2], sys.argv[3]))`, body, signature, secret],
        { encoding: 'utf8' },
      ).trim()
    expect(run(signPayload(body, secret))).toBe('True')
    expect(run(signPayload(body, `${secret}x`))).toBe('False')
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
