import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { runTs } from './support/child.js'

// `npm run bench -- --quick` in CI, so the benchmark cannot rot. Nothing
// here asserts a time: only that every section ran and reported figures.
describe('npm run bench -- --quick', () => {
  it('runs every section and writes its results', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'agno-bench-test-')), 'results.json')
    const child = runTs('bench/index.ts', ['--quick', '--out', out])
    expect(await child.exited).toBe(0)
    const results = JSON.parse(readFileSync(out, 'utf8')) as {
      mode: string
      rows: { section: string; name: string; value: { median: number; min: number; max: number }; ratio?: unknown }[]
    }
    expect(results.mode).toBe('quick')
    const sections = new Set(results.rows.map((r) => r.section.split(' ')[0]))
    expect([...sections]).toEqual(['emit', 'enqueue', 'delivery', 'scale', 'fan-out'])
    for (const row of results.rows) {
      expect(Number.isFinite(row.value.median), row.name).toBe(true)
      expect(row.value.min).toBeLessThanOrEqual(row.value.max)
    }
    // The one count in the table: the scheduler holds a single timer.
    expect(results.rows.find((r) => r.name === 'timers held by the dispatcher')?.value).toEqual({ median: 1, min: 1, max: 1 })
    expect(child.output()).toMatch(/bus\.emit .* ops\/s/)
  }, 180_000)
})
