import { fork, type ChildProcess } from 'node:child_process'
import { join } from 'node:path'

/** Median, min and max of a set of repetitions. */
export interface Spread {
  median: number
  min: number
  max: number
}

/** One row of the table and of bench/results.json. */
export interface Row {
  section: string
  name: string
  /** What `value` counts: ops/s, ms, MB... */
  unit: string
  value: Spread
  baseline?: { name: string; value: Spread }
  /** value / baseline, computed per repetition (each repetition runs both, back to back). */
  ratio?: Spread
  /** e.g. ">= 0.80x of the ceiling"; `met` says whether the median meets it. */
  target?: string
  met?: boolean
}

export function spread(values: number[]): Spread {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  const median = sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2
  return { median, min: sorted[0] as number, max: sorted[sorted.length - 1] as number }
}

/** Starts bench/receiver.mjs in its own process and resolves with its URL. */
export async function startExternalReceiver(): Promise<{ url: string; child: ChildProcess }> {
  const child = fork(join(import.meta.dirname, 'receiver.mjs'), [], { stdio: ['ignore', 'pipe', 'inherit', 'ipc'] })
  const port = await new Promise<string>((resolve, reject) => {
    child.stdout?.once('data', (data: Buffer) => resolve(data.toString().trim()))
    child.once('error', reject)
  })
  return { url: `http://127.0.0.1:${port}`, child }
}

/** Runs `fn` (which does `count` operations) and returns operations per second. */
export async function opsPerSecond(count: number, fn: () => Promise<void> | void): Promise<number> {
  const started = process.hrtime.bigint()
  await fn()
  const seconds = Number(process.hrtime.bigint() - started) / 1e9
  return count / seconds
}

/** Milliseconds `fn` takes. */
export async function elapsedMs(fn: () => Promise<unknown> | unknown): Promise<number> {
  const started = process.hrtime.bigint()
  await fn()
  return Number(process.hrtime.bigint() - started) / 1e6
}

/**
 * `reps` repetitions of the baseline and the subject back to back, so both
 * see the same machine load; the ratio is taken per repetition.
 */
export async function compare(
  reps: number,
  baseline: () => Promise<number>,
  subject: () => Promise<number>,
): Promise<{ value: Spread; baseline: Spread; ratio: Spread }> {
  const b: number[] = []
  const s: number[] = []
  for (let i = 0; i < reps; i++) {
    b.push(await baseline())
    s.push(await subject())
  }
  return { value: spread(s), baseline: spread(b), ratio: spread(s.map((v, i) => v / (b[i] as number))) }
}

export async function repeat(reps: number, measure: () => Promise<number>): Promise<Spread> {
  const values: number[] = []
  for (let i = 0; i < reps; i++) values.push(await measure())
  return spread(values)
}

const fmt = (n: number, unit: string) =>
  unit === 'ops/s' ? Math.round(n).toLocaleString('en-US') : n >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(n >= 10 ? 1 : 2)

const range = (s: Spread, f: (n: number) => string) => `${f(s.median)} (${f(s.min)}-${f(s.max)})`

export function printTable(rows: Row[]): void {
  const cells = rows.map((r) => [
    r.name,
    `${range(r.value, (n) => fmt(n, r.unit))} ${r.unit}`,
    r.baseline ? `${r.baseline.name}: ${fmt(r.baseline.value.median, r.unit)}` : '',
    r.ratio ? range(r.ratio, (n) => `${n.toFixed(2)}x`) : '',
    r.target ? `${r.target} ${r.met ? 'met' : 'MISSED'}` : '',
  ])
  const header = ['measure', 'median (min-max)', 'baseline (same run), median', 'ratio (min-max)', 'target']
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((row) => (row[i] ?? '').length)))
  const line = (c: string[]) => c.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join('  ').trimEnd()
  let section = ''
  console.log(line(header))
  console.log(widths.map((w) => '-'.repeat(w)).join('  '))
  rows.forEach((r, i) => {
    if (r.section !== section) {
      section = r.section
      console.log(`${section}:`)
    }
    console.log(line(cells[i] as string[]))
  })
}
