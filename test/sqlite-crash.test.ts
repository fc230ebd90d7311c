import { spawn, type ChildProcess } from 'node:child_process'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { describe, expect, it } from 'vitest'
import { SqliteWebhookStore } from '../src/store/sqlite.js'
import { registerCleanup } from './support/harness.js'
import { startReceiver, waitFor, type Receiver } from './support/receiver.js'
import { newDelivery, webhookRecord } from './support/store-contract.js'
import { tempDatabase } from './support/temp.js'

// Real processes on one SQLite file, killed with SIGKILL, against a real
// receiver on 127.0.0.1. Leases and retries are short (see the worker).
const WORKER = join(import.meta.dirname, 'fixtures', 'sqlite-worker.mjs')

function startWorker(args: string[]): { child: ChildProcess; lines: string[]; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [WORKER, ...args], { stdio: ['ignore', 'pipe', 'inherit'] })
  registerCleanup(async () => void child.kill('SIGKILL'))
  const lines: string[] = []
  child.stdout?.on('data', (data: Buffer) => lines.push(...data.toString().split('\n').filter(Boolean)))
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  return { child, lines, exited }
}

/** A receiver that counts every delivery id and notices two attempts of one id at the same time. */
async function countingReceiver(delayMs: number) {
  const received = new Map<string, number>()
  const inFlight = new Set<string>()
  let overlaps = 0
  const receiver: Receiver = await startReceiver((_req, res, req) => {
    const id = String(req.headers['x-webhook-delivery'])
    if (inFlight.has(id)) overlaps++
    inFlight.add(id)
    received.set(id, (received.get(id) ?? 0) + 1)
    setTimeout(() => {
      inFlight.delete(id)
      res.writeHead(204).end()
    }, delayMs)
  })
  registerCleanup(() => receiver.close())
  return { receiver, received, overlaps: () => overlaps }
}

function rows<T>(file: string, sql: string): T[] {
  const db = new Database(file, { readonly: true })
  try {
    return db.prepare(sql).all() as T[]
  } finally {
    db.close()
  }
}

describe('crash: SIGKILL mid-delivery, then a new process on the same file', () => {
  const EVENTS = 2000
  const DELIVERIES = EVENTS * 2

  it.each([
    ['early', 0.1],
    ['halfway', 0.5],
    ['late', 0.9],
  ])('killed %s: every delivery arrives, duplicates only of attempts in flight at the kill', async (_, fraction) => {
    const file = tempDatabase()
    const { receiver, received, overlaps } = await countingReceiver(2)
    // A random point around the fraction, after the flush.
    const killAt = Math.floor(DELIVERIES * (fraction + (Math.random() - 0.5) * 0.1))

    const first = startWorker(['emit', file, receiver.url, String(EVENTS)])
    await waitFor(() => first.lines.includes('flushed'), 20_000, 'the flush')
    await waitFor(() => receiver.requests.length >= killAt, 20_000, `${killAt} deliveries`)
    first.child.kill('SIGKILL')
    await first.exited
    const receivedAtKill = receiver.requests.length

    // What was accepted is all there; what was in flight is still claimed.
    const stored = rows<{ id: string; status: string }>(file, 'SELECT id, status FROM deliveries')
    expect(stored).toHaveLength(DELIVERIES)
    const inFlightAtKill = new Set(stored.filter((d) => d.status === 'delivering').map((d) => d.id))
    expect(receivedAtKill).toBeLessThan(DELIVERIES)

    const second = startWorker(['work', file])
    expect(await Promise.race([second.exited, new Promise((resolve) => setTimeout(() => resolve('timeout'), 30_000))])).toBe(0)

    const final = rows<{ id: string; status: string }>(file, 'SELECT id, status FROM deliveries')
    expect(final.every((d) => d.status === 'succeeded')).toBe(true)
    const lost = final.filter((d) => !received.has(d.id))
    const duplicated = [...received].filter(([, n]) => n > 1).map(([id]) => id)
    expect(lost).toEqual([])
    for (const id of duplicated) expect(inFlightAtKill.has(id)).toBe(true)
    expect(overlaps()).toBe(0)
    console.log(
      `crash test (${fraction}): killed after ${receivedAtKill}/${DELIVERIES} received; ` +
        `${inFlightAtKill.size} in flight at the kill; lost ${lost.length}; duplicated ${duplicated.length}`,
    )
  }, 60_000)
})

describe('two processes on one file', () => {
  it('deliver 2,000 deliveries between them, none attempted twice at once', async () => {
    const file = tempDatabase()
    const { receiver, received, overlaps } = await countingReceiver(10)
    const store = new SqliteWebhookStore({ filename: file })
    const hooks = [
      await store.insertWebhook(webhookRecord({ url: `${receiver.url}/a`, events: ['*'] })),
      await store.insertWebhook(webhookRecord({ url: `${receiver.url}/b`, events: ['*'] })),
    ]
    const now = Date.now()
    await store.insertDeliveries(
      Array.from({ length: 2000 }, (_, i) => newDelivery((hooks[i % 2] as { id: string }).id, { next_attempt_at: now })),
    )
    store.close()

    const workers = [startWorker(['work', file]), startWorker(['work', file])]
    const codes = await Promise.race([
      Promise.all(workers.map((w) => w.exited)),
      new Promise((resolve) => setTimeout(() => resolve('timeout'), 45_000)),
    ])
    expect(codes).toEqual([0, 0])
    const attempts = workers.map((w) => (JSON.parse(w.lines.at(-1) ?? '{}') as { attempts?: number }).attempts ?? 0)
    // Both did part of the work, and together exactly all of it.
    expect(attempts.every((n) => n > 0)).toBe(true)
    expect(attempts[0]! + attempts[1]!).toBe(2000)
    expect(overlaps()).toBe(0)
    expect(received.size).toBe(2000)
    expect([...received.values()].every((n) => n === 1)).toBe(true)
    expect(rows<{ n: number }>(file, "SELECT count(*) AS n FROM deliveries WHERE status = 'succeeded'")[0]?.n).toBe(2000)
    console.log(`two processes: attempts per process ${attempts.join(' + ')}`)
  }, 60_000)
})
