// `npm run bench`: agno-events against the raw parts it is built on, measured
// in the same process, printed as ratios. Traffic goes only to 127.0.0.1.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { EventEmitter } from 'eventemitter3'
import { Pool } from 'undici'
import { createEventBus, MemoryWebhookStore, WebhookDispatcher, type WebhookStore } from 'agno-events'
import { SqliteWebhookStore } from 'agno-events/sqlite'
import { best, opsPerSecond, printResults, startExternalReceiver, type Result } from './support.js'

const payload = { agent_id: 'researcher', input: 'What are AI trends?', output: 'Based on my research...', duration_ms: 2345 }
const results: Result[] = []

// 1. emit: validation, envelope, serialization, listeners; against a raw
//    eventemitter3 emit, and against eventemitter3 plus the JSON.stringify of
//    an equivalent envelope (what a bus without validation must still do).
{
  const N = 200_000
  const raw = new EventEmitter()
  let sink = 0
  raw.on('agent.executed', () => void sink++)
  const bus = createEventBus()
  bus.on('agent.executed', () => void sink++)
  const rawOps = await best(3, () => opsPerSecond(N, () => {
    for (let i = 0; i < N; i++) raw.emit('agent.executed', { event: 'agent.executed', payload })
  }))
  const rawJsonOps = await best(3, () => opsPerSecond(N, () => {
    for (let i = 0; i < N; i++) {
      const envelope = { event: 'agent.executed', timestamp: new Date().toISOString(), payload, metadata: { user_id: 'u', request_id: crypto.randomUUID() } }
      if (JSON.stringify(envelope).length > 0) raw.emit('agent.executed', envelope)
    }
  }))
  const ops = await best(3, () => opsPerSecond(N, () => {
    for (let i = 0; i < N; i++) bus.emit('agent.executed', payload, { user_id: 'u' })
  }))
  results.push({ name: 'bus.emit (validate + serialize)', ops, baselineName: 'eventemitter3 emit', baselineOps: rawOps })
  results.push({ name: 'bus.emit (validate + serialize)', ops, baselineName: 'eventemitter3 emit + JSON.stringify', baselineOps: rawJsonOps })
  if (sink === 0) throw new Error('listeners did not run')
}

const tempDir = mkdtempSync(join(tmpdir(), 'agno-bench-'))
let files = 0
const sqliteStore = () => new SqliteWebhookStore({ filename: join(tempDir, `bench-${files++}.db`) })

// 2. enqueue into SQLite: events emitted until flush() says they are stored
//    (fan-out to one webhook, one row each), against raw better-sqlite3
//    inserts of the same rows into the same schema, 1000 per transaction.
{
  const N = 20_000
  const baselineOps = await best(3, async () => {
    const store = sqliteStore()
    const insert = store.db.prepare(
      `INSERT INTO deliveries (id, webhook_id, event, body, status, next_attempt_at, created_at, test)
       VALUES (?, 'w', 'agent.executed', ?, 'pending', ?, ?, 0)`,
    )
    const body = JSON.stringify({ event: 'agent.executed', timestamp: new Date().toISOString(), payload, metadata: { request_id: 'r' } })
    const batch = store.db.transaction((from: number) => {
      const now = Date.now()
      for (let i = from; i < from + 1000; i++) insert.run(crypto.randomUUID(), body, now, now)
    })
    const ops = await opsPerSecond(N, () => {
      for (let i = 0; i < N; i += 1000) batch.immediate(i)
    })
    store.close()
    return ops
  })
  const ops = await best(3, async () => {
    const store = sqliteStore()
    const bus = createEventBus()
    const dispatcher = new WebhookDispatcher({ bus, store })
    await dispatcher.createWebhook({ url: 'https://example.com/hook', events: ['agent.executed'] })
    const result = await opsPerSecond(N, async () => {
      for (let i = 0; i < N; i++) bus.emit('agent.executed', payload, { user_id: 'u' })
      await dispatcher.flush()
    })
    await dispatcher.close()
    store.close()
    return result
  })
  results.push({ name: 'enqueue to SQLite (emit -> flush)', ops, baselineName: 'better-sqlite3 batched INSERT', baselineOps })
}

// 3. delivery: events emitted to delivered (signed, recorded in the store)
//    against a raw undici Pool POST loop with no signing and no persistence,
//    both at the same concurrency, both to the same external receiver.
const receiver = await startExternalReceiver()
try {
  const N = 20_000
  const body = JSON.stringify({ event: 'agent.executed', timestamp: new Date().toISOString(), payload, metadata: { request_id: 'r' } })

  async function rawLoop(concurrency: number): Promise<number> {
    const pool = new Pool(receiver.url, { connections: concurrency, pipelining: 1 })
    try {
      return await opsPerSecond(N, async () => {
        let next = 0
        await Promise.all(
          Array.from({ length: concurrency }, async () => {
            while (next++ < N) {
              const res = await pool.request({ path: '/hook', method: 'POST', body, headers: { 'content-type': 'application/json' } })
              await res.body.dump()
              if (res.statusCode !== 204) throw new Error(`status ${res.statusCode}`)
            }
          }),
        )
      })
    } finally {
      await pool.close()
    }
  }

  async function dispatcherRun(webhooks: number, makeStore: () => WebhookStore): Promise<number> {
    const bus = createEventBus()
    const store = makeStore()
    const dispatcher = new WebhookDispatcher({ bus, store, allowPrivateNetworks: true, allowInsecureUrls: true })
    await dispatcher.start()
    for (let i = 0; i < webhooks; i++) await dispatcher.createWebhook({ url: `${receiver.url}/hook/${i}`, events: ['agent.executed'] })
    const total = N
    let delivered = 0
    let failed = 0
    let done: () => void = () => undefined
    const finished = new Promise<void>((resolve) => (done = resolve))
    dispatcher.on('delivered', () => ++delivered + failed === total && done())
    dispatcher.on('retry', () => void failed++)
    const perHook = Math.ceil(N / webhooks)
    const ops = await opsPerSecond(total, async () => {
      for (let i = 0; i < perHook; i++) {
        bus.emit('agent.executed', payload, { user_id: 'u' })
        // Let the intake and the network run while the host keeps emitting.
        if (i % 1000 === 999) await new Promise((resolve) => setImmediate(resolve))
      }
      await finished
    })
    await dispatcher.close()
    if (failed > 0) throw new Error(`${failed} attempts failed`)
    return ops
  }

  for (const [webhooks, concurrency] of [
    [1, 8],
    [8, 64],
  ] as const) {
    const baselineOps = await best(2, () => rawLoop(concurrency))
    const ops = await best(2, () => dispatcherRun(webhooks, () => new MemoryWebhookStore()))
    results.push({
      name: `deliveries, memory store, ${webhooks} webhook(s) x 8 slots`,
      ops,
      baselineName: `undici Pool, ${concurrency} in flight`,
      baselineOps,
    })
    const sqliteOps = await best(2, () => dispatcherRun(webhooks, sqliteStore))
    results.push({
      name: `deliveries, SQLite store, ${webhooks} webhook(s) x 8 slots`,
      ops: sqliteOps,
      baselineName: `undici Pool, ${concurrency} in flight`,
      baselineOps,
    })
  }
} finally {
  receiver.child.kill()
  rmSync(tempDir, { recursive: true, force: true })
}

printResults(results)
