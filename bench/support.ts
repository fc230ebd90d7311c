import { fork, type ChildProcess } from 'node:child_process'
import { join } from 'node:path'

export interface Result {
  name: string
  ops: number
  baselineName: string
  baselineOps: number
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

/** The better of `runs` measurements: less noise from GC and a busy machine. */
export async function best(runs: number, measure: () => Promise<number>): Promise<number> {
  let top = 0
  for (let i = 0; i < runs; i++) top = Math.max(top, await measure())
  return top
}

export function printResults(results: Result[]): void {
  const rows = results.map((r) => [
    r.name,
    fmt(r.ops),
    r.baselineName,
    fmt(r.baselineOps),
    `${(r.ops / r.baselineOps).toFixed(2)}x`,
  ])
  const header = ['measure', 'ops/s', 'baseline (same process)', 'baseline ops/s', 'ratio']
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] ?? '').length)))
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ')
  console.log(line(header))
  console.log(widths.map((w) => '-'.repeat(w)).join('  '))
  for (const row of rows) console.log(line(row))
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US')
