// `npm run bench`: agno-events against the raw parts it is built on, each
// figure the median of repetitions (min and max beside it), each ratio taken
// against a baseline measured in the same repetition. Traffic goes only to
// 127.0.0.1. Flags: --quick (reduced sizes, for CI), --large (1,000,000
// pending retries in the scale section), --out FILE (default
// bench/results.json; --quick writes test-results/bench-quick.json).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { cpus, tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { EventEmitter } from 'eventemitter3'
import { ofetch } from 'ofetch'
import { Pool } from 'undici'
import { createEventBus, eventCatalog, MemoryWebhookStore, systemClock, WebhookDispatcher, type Clock, type WebhookStore } from 'agno-events'
import { PostgresWebhookStore } from 'agno-events/postgres'
import { SqliteWebhookStore } from 'agno-events/sqlite'
import { execFileSync } from 'node:child_process'
import { compare, elapsedMs, opsPerSecond, printTable, repeat, spread, startExternalReceiver, type Row } from './support.js'

const args = process.argv.slice(2)
const quick = args.includes('--quick')
const large = args.includes('--large')
const outIndex = args.indexOf('--out')
const out =
  outIndex >= 0 && args[outIndex + 1]
    ? (args[outIndex + 1] as string)
    : join(import.meta.dirname, '..', quick ? 'test-results/bench-quick.json' : 'bench/results.json')
const size = (full: number, reduced: number) => (quick ? reduced : full)
// --only emit,enqueue,delivery,scale,fanout: run just those sections.
const onlyIndex = args.indexOf('--only')
const only = onlyIndex >= 0 ? new Set((args[onlyIndex + 1] ?? '').split(',')) : null
const want = (section: string) => only === null || only.has(section)
const REPS = 3

const rows: Row[] = []

// PostgreSQL: AGNO_PG_URL, or the throwaway server of scripts/postgres.sh;
// without either the PostgreSQL line is left out.
const postgresUrl = (() => {
  if (process.env.AGNO_PG_URL) return process.env.AGNO_PG_URL
  try {
    return execFileSync('bash', [join(import.meta.dirname, '..', 'scripts', 'postgres.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim()
  } catch {
    process.stderr.write('bench: no PostgreSQL (set AGNO_PG_URL); its line is left out\n')
    return null
  }
})()
const tempDir = mkdtempSync(join(tmpdir(), 'agno-bench-'))
let files = 0
const sqliteStore = (file = join(tempDir, `bench-${files++}.db`)) => new SqliteWebhookStore({ filename: file })
const payload = { agent_id: 'researcher', input: 'What are AI trends?', output: 'Based on my research...', duration_ms: 2345 }
const tick = () => new Promise((resolve) => setImmediate(resolve))
const progress = (text: string) => process.stderr.write(`bench: ${text}\n`)

const receiver = await startExternalReceiver()
try {
  // --- 1. emit -------------------------------------------------------------------
  // bus.emit validates payload and metadata, builds the envelope, serializes
  // it once and calls the listeners. The baseline does the part any typed bus
  // must: zod safeParse of the payload and a raw eventemitter3 emit of it.
  if (want('emit')) {
    progress('emit')
    const N = size(200_000, 20_000)
    const schema = eventCatalog['agent.executed']
    const raw = new EventEmitter()
    let sink = 0
    raw.on('agent.executed', () => void sink++)
    const bus = createEventBus()
    bus.on('agent.executed', () => void sink++)
    const result = await compare(
      REPS,
      () =>
        opsPerSecond(N, () => {
          for (let i = 0; i < N; i++) {
            const parsed = schema.safeParse(payload)
            if (parsed.success) raw.emit('agent.executed', parsed.data)
          }
        }),
      () =>
        opsPerSecond(N, () => {
          for (let i = 0; i < N; i++) bus.emit('agent.executed', payload, { user_id: 'u' })
        }),
    )
    if (sink === 0) throw new Error('listeners did not run')
    rows.push({
      section: 'emit',
      name: 'bus.emit',
      unit: 'ops/s',
      value: result.value,
      baseline: { name: 'zod safeParse + eventemitter3 emit', value: result.baseline },
      ratio: result.ratio,
      target: '>= 0.67x (cost <= 1.5x)',
      met: result.ratio.median >= 1 / 1.5,
    })
  }

  // --- 2. enqueue ---------------------------------------------------------------
  // emit until flush() says every delivery is stored, 3 subscribed webhooks
  // (so 3 deliveries per event), the dispatcher not started (nothing sent).
  if (want('enqueue')) {
    progress('enqueue')
    const N = size(20_000, 2_000)
    async function enqueue(store: WebhookStore): Promise<number> {
      const bus = createEventBus()
      const dispatcher = new WebhookDispatcher({ bus, store })
      for (let i = 0; i < 3; i++) {
        await dispatcher.createWebhook({ url: `https://hooks.example.com/${i}`, events: ['agent.executed'] })
      }
      const ops = await opsPerSecond(N, async () => {
        for (let i = 0; i < N; i++) bus.emit('agent.executed', payload, { user_id: 'u' })
        await dispatcher.flush()
      })
      await dispatcher.close()
      return ops
    }
    // The same rows (3 per event) into the same schema, 1,000 events per
    // transaction, one prepared statement: what a hand-written queue does.
    async function rawInsert(): Promise<number> {
      const store = sqliteStore()
      const insert = store.db.prepare(
        `INSERT INTO deliveries (id, webhook_id, event, body, status, next_attempt_at, created_at, test)
         VALUES (?, ?, 'agent.executed', ?, 'pending', ?, ?, 0)`,
      )
      const batch = store.db.transaction((from: number, count: number) => {
        const now = Date.now()
        for (let i = from; i < from + count; i++) {
          const body = JSON.stringify({ event: 'agent.executed', timestamp: new Date(now).toISOString(), payload, metadata: { request_id: crypto.randomUUID() } })
          for (let w = 0; w < 3; w++) insert.run(crypto.randomUUID(), `w${w}`, body, now, now)
        }
      })
      const ops = await opsPerSecond(N, () => {
        for (let i = 0; i < N; i += 1000) batch.immediate(i, Math.min(1000, N - i))
      })
      store.close()
      return ops
    }
    const memory = await repeat(REPS, () => enqueue(new MemoryWebhookStore()))
    rows.push({ section: 'enqueue (3 webhooks)', name: 'emit -> flush, memory store', unit: 'events/s', value: memory })
    const sqlite = await compare(REPS, rawInsert, async () => {
      const store = sqliteStore()
      const ops = await enqueue(store)
      store.close()
      return ops
    })
    rows.push({
      section: 'enqueue (3 webhooks)',
      name: 'emit -> flush, SQLite store',
      unit: 'events/s',
      value: sqlite.value,
      baseline: { name: 'better-sqlite3 batched INSERT', value: sqlite.baseline },
      ratio: sqlite.ratio,
      target: '>= 0.70x',
      met: sqlite.ratio.median >= 0.7,
    })
  }

  // --- 3. delivery ----------------------------------------------------------------
  // N deliveries of a 1 KiB event to the receiver process, 64 in flight.
  if (want('delivery')) {
    progress('delivery')
    const N = size(20_000, 2_000)
    const OFETCH_N = size(5_000, 500)
    const CONCURRENCY = 64
    const bigPayload = { ...payload, output: 'x'.repeat(850) }
    const body = JSON.stringify({ event: 'agent.executed', timestamp: new Date().toISOString(), payload: bigPayload, metadata: { user_id: 'u', request_id: crypto.randomUUID() } })
    if (body.length < 1000 || body.length > 1100) throw new Error(`body is ${body.length} bytes, not about 1 KiB`)
    const headers = { 'content-type': 'application/json' }

    async function workers(count: number, send: () => Promise<void>): Promise<void> {
      let next = 0
      await Promise.all(
        Array.from({ length: CONCURRENCY }, async () => {
          while (next++ < count) await send()
        }),
      )
    }
    async function ceiling(): Promise<number> {
      const pool = new Pool(receiver.url, { connections: CONCURRENCY, pipelining: 1 })
      try {
        return await opsPerSecond(N, () =>
          workers(N, async () => {
            const res = await pool.request({ path: '/hook', method: 'POST', body, headers })
            await res.body.dump()
            if (res.statusCode !== 204) throw new Error(`status ${res.statusCode}`)
          }),
        )
      } finally {
        await pool.close()
      }
    }
    async function ofetchLoop(): Promise<number> {
      return opsPerSecond(OFETCH_N, () =>
        workers(OFETCH_N, async () => {
          await ofetch(`${receiver.url}/hook`, { method: 'POST', body, headers })
        }),
      )
    }
    async function dispatcherRun(store: WebhookStore): Promise<number> {
      const bus = createEventBus()
      const dispatcher = new WebhookDispatcher({
        bus,
        store,
        allowPrivateNetworks: true,
        allowInsecureUrls: true,
        concurrency: CONCURRENCY,
        perWebhookConcurrency: CONCURRENCY,
      })
      await dispatcher.start()
      await dispatcher.createWebhook({ url: `${receiver.url}/hook`, events: ['agent.executed'] })
      let delivered = 0
      let failed = 0
      let done: () => void = () => undefined
      const finished = new Promise<void>((resolve) => (done = resolve))
      dispatcher.on('delivered', () => ++delivered === N && done())
      dispatcher.on('retry', () => void failed++)
      const ops = await opsPerSecond(N, async () => {
        for (let i = 0; i < N; i++) {
          bus.emit('agent.executed', bigPayload, { user_id: 'u' })
          // Let the intake and the network run while the host keeps emitting.
          if (i % 1000 === 999) await tick()
        }
        await finished
      })
      await dispatcher.close()
      if (failed > 0) throw new Error(`${failed} attempts failed`)
      return ops
    }

    const c: number[] = []
    const f: number[] = []
    const m: number[] = []
    const s: number[] = []
    const p: number[] = []
    for (let rep = 0; rep < REPS; rep++) {
      c.push(await ceiling())
      f.push(await ofetchLoop())
      m.push(await dispatcherRun(new MemoryWebhookStore()))
      const store = sqliteStore()
      s.push(await dispatcherRun(store))
      store.close()
      if (postgresUrl) {
        const schema = `bench_${process.pid}_${rep}`
        const pgStore = new PostgresWebhookStore({ connectionString: postgresUrl, schema, max: 10 })
        p.push(await dispatcherRun(pgStore))
        await pgStore.pool.query(`DROP SCHEMA "${schema}" CASCADE`)
        await pgStore.close()
      }
    }
    const ratio = (a: number[], b: number[]) => spread(a.map((v, i) => v / (b[i] as number)))
    const section = `delivery (1 KiB, ${CONCURRENCY} in flight, receiver in its own process)`
    rows.push({ section, name: 'undici Pool#request loop (the ceiling)', unit: 'ops/s', value: spread(c) })
    rows.push({ section, name: 'ofetch loop (what users write by hand)', unit: 'ops/s', value: spread(f) })
    // PostgreSQL has no target of its own: its line is for comparison.
    const stores: Array<[string, number[], number | null]> = [
      ['memory store', m, 0.8],
      ['SQLite store', s, 0.5],
    ]
    if (p.length > 0) stores.push(['PostgreSQL store (server on the same machine)', p, null])
    for (const [name, values, vsCeiling] of stores) {
      const r = ratio(values, c)
      rows.push({
        section,
        name: `dispatcher, ${name}`,
        unit: 'ops/s',
        value: spread(values),
        baseline: { name: 'undici Pool', value: spread(c) },
        ratio: r,
        ...(vsCeiling === null ? {} : { target: `>= ${vsCeiling.toFixed(2)}x`, met: r.median >= vsCeiling }),
      })
      const rf = ratio(values, f)
      rows.push({
        section,
        name: `dispatcher, ${name}, against ofetch`,
        unit: 'ops/s',
        value: spread(values),
        baseline: { name: 'ofetch loop', value: spread(f) },
        ratio: rf,
        ...(vsCeiling === null ? {} : { target: '>= 3.00x', met: rf.median >= 3 }),
      })
    }
  }

  // --- 4. scale ---------------------------------------------------------------------
  // P pending retries in SQLite, due in an hour; per repetition, BATCH more
  // due in a moment. Measured: start() (recovery), the timers it holds, the
  // RSS it adds, and the time from the batch's due time to its last attempt.
  if (want('scale')) {
    const P = large ? 1_000_000 : size(100_000, 10_000)
    const BATCH = size(1_000, 200)
    progress(`scale: writing ${P.toLocaleString('en-US')} pending retries`)
    const file = join(tempDir, 'scale.db')
    const setup = sqliteStore(file)
    const hook = await (async () => {
      const dispatcher = new WebhookDispatcher({ bus: createEventBus(), store: setup, allowPrivateNetworks: true, allowInsecureUrls: true })
      const created = await dispatcher.createWebhook({ url: `${receiver.url}/hook`, events: ['agent.executed'] })
      await dispatcher.close()
      return created
    })()
    const body = JSON.stringify({ event: 'agent.executed', timestamp: new Date().toISOString(), payload, metadata: { request_id: 'r' } })
    const pending = (count: number, dueAt: number) =>
      Array.from({ length: count }, () => ({
        id: crypto.randomUUID(),
        webhook_id: hook.id,
        event: 'agent.executed' as const,
        body,
        status: 'pending' as const,
        next_attempt_at: dueAt,
        created_at: Date.now(),
        test: false,
        attempts: [{ attempt: 1, started_at: Date.now(), duration_ms: 3, status_code: 503, error: null, response_body: 'busy' }],
      }))
    for (let written = 0; written < P; written += 10_000) {
      await setup.insertDeliveries(pending(Math.min(10_000, P - written), Date.now() + 3_600_000))
    }

    const startMs: number[] = []
    const timers: number[] = []
    const rssMb: number[] = []
    const batchMs: number[] = []
    // The system clock's timers are unref'd, so they do not show among the
    // process's active resources: a wrapper counts the ones alive instead.
    const live = new Set<unknown>()
    const countingClock: Clock = {
      now: () => systemClock.now(),
      setTimeout(callback, delayMs) {
        const handle: unknown = systemClock.setTimeout(() => {
          live.delete(handle)
          callback()
        }, delayMs)
        live.add(handle)
        return handle
      },
      clearTimeout(handle) {
        live.delete(handle)
        systemClock.clearTimeout(handle)
      },
    }
    for (let rep = 0; rep < REPS; rep++) {
      progress(`scale: repetition ${rep + 1}`)
      const dueAt = Date.now() + 1500
      await setup.insertDeliveries(pending(BATCH, dueAt))
      const store = sqliteStore(file)
      const bus = createEventBus()
      const dispatcher = new WebhookDispatcher({
        bus,
        store,
        clock: countingClock,
        allowPrivateNetworks: true,
        allowInsecureUrls: true,
        concurrency: 64,
        perWebhookConcurrency: 64,
      })
      let attempted = 0
      let done: () => void = () => undefined
      const batchDone = new Promise<void>((resolve) => (done = resolve))
      dispatcher.on('attempt', () => ++attempted === BATCH && done())
      global.gc?.()
      const rssBefore = process.memoryUsage().rss
      startMs.push(await elapsedMs(() => dispatcher.start()))
      timers.push(live.size)
      rssMb.push((process.memoryUsage().rss - rssBefore) / 2 ** 20)
      const startedAt = Date.now()
      await batchDone
      // From when the batch was due (or start() returned, if later) to its last attempt.
      batchMs.push(Date.now() - Math.max(dueAt, startedAt))
      await dispatcher.close()
      store.close()
    }
    setup.close()
    const section = `scale (${P.toLocaleString('en-US')} pending retries in SQLite)`
    rows.push({ section, name: 'start(): recovery', unit: 'ms', value: spread(startMs) })
    rows.push({ section, name: 'timers held by the dispatcher', unit: 'timers', value: spread(timers), target: '= 1', met: spread(timers).max === 1 })
    rows.push({ section, name: 'RSS added by start()', unit: 'MB', value: spread(rssMb) })
    rows.push({ section, name: `claim and attempt a due batch of ${BATCH.toLocaleString('en-US')}`, unit: 'ms', value: spread(batchMs) })
  }

  // --- 5. fan-out -------------------------------------------------------------------
  if (want('fanout')) {
    const W = size(1_000, 200)
    progress(`fan-out to ${W} webhooks`)
    const store = sqliteStore()
    const bus = createEventBus()
    const dispatcher = new WebhookDispatcher({ bus, store, allowPrivateNetworks: true, allowInsecureUrls: true })
    for (let i = 0; i < W; i++) await dispatcher.createWebhook({ url: `${receiver.url}/hook/${i}`, events: ['agent.executed'] })
    await dispatcher.start()
    const enqueueMs: number[] = []
    const deliverMs: number[] = []
    for (let rep = 0; rep < REPS; rep++) {
      let delivered = 0
      let done: () => void = () => undefined
      const all = new Promise<void>((resolve) => (done = resolve))
      const off = dispatcher.on('delivered', () => ++delivered === W && done())
      const started = process.hrtime.bigint()
      bus.emit('agent.executed', payload, { user_id: 'u' })
      await dispatcher.flush()
      enqueueMs.push(Number(process.hrtime.bigint() - started) / 1e6)
      await all
      deliverMs.push(Number(process.hrtime.bigint() - started) / 1e6)
      off()
    }
    await dispatcher.close()
    store.close()
    const section = `fan-out (1 event, ${W.toLocaleString('en-US')} webhooks, SQLite)`
    rows.push({ section, name: 'emit -> all deliveries stored', unit: 'ms', value: spread(enqueueMs) })
    rows.push({ section, name: 'emit -> all delivered', unit: 'ms', value: spread(deliverMs) })
  }
} finally {
  receiver.child.kill()
  rmSync(tempDir, { recursive: true, force: true })
}

printTable(rows)
mkdirSync(dirname(out), { recursive: true })
writeFileSync(
  out,
  `${JSON.stringify(
    {
      date: new Date().toISOString(),
      node: process.version,
      cpus: cpus().length,
      mode: quick ? 'quick' : large ? 'large' : 'full',
      repetitions: REPS,
      rows,
    },
    null,
    2,
  )}\n`,
)
console.log(`\nwritten to ${out}`)
const missed = rows.filter((r) => r.met === false)
if (missed.length > 0) console.log(`targets missed: ${missed.map((r) => `${r.section} / ${r.name}`).join('; ')}`)
