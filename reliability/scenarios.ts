// The reliability scenarios of RELIABILITY.md, as functions: `npm run
// reliability` runs them at full size and prints their figures; the test
// suite runs them small and checks what must hold, never a time.
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createEventBus, MemoryWebhookStore, WebhookDispatcher, type WebhookDispatcherOptions } from 'agno-events'
import { SqliteWebhookStore } from 'agno-events/sqlite'

const ROOT = join(import.meta.dirname, '..')
const payload = { agent_id: 'researcher', input: 'q', output: 'a', duration_ms: 1 }
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

interface TestServer {
  url: string
  server: Server
  close(): Promise<void>
}

/** A server on 127.0.0.1 that can be closed with its open sockets. */
export async function serve(handler: Parameters<typeof createServer>[1], port = 0): Promise<TestServer> {
  const sockets = new Set<Socket>()
  const server = createServer(handler)
  server.on('connection', (socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, '127.0.0.1', () => resolve())
  })
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy()
        server.close(() => resolve())
      }),
  }
}

function dispatcherFor(options: Partial<WebhookDispatcherOptions> = {}) {
  const bus = options.bus ?? createEventBus()
  const dispatcher = new WebhookDispatcher({
    store: new MemoryWebhookStore(),
    allowInsecureUrls: true,
    allowPrivateNetworks: true,
    onError: () => undefined,
    ...options,
    bus,
  })
  return { bus, dispatcher }
}

// --- slow endpoints ---------------------------------------------------------------

export interface SlowEndpointsOptions {
  hanging: number
  healthyEvents: number
  timeoutMs: number
  /** Default a quarter of `timeoutMs`; above `timeoutMs` the slow lane never engages (for comparison). */
  slowAttemptMs?: number
}

export interface SlowEndpointsResult {
  soloRate: number
  mixedRate: number
  ratio: number
  /** Most attempts to hanging endpoints in flight at once once the slow lane had them (of `concurrency` 64). */
  maxHangingInFlight: number
  healthyDelivered: number
}

/**
 * One healthy endpoint alone, then beside `hanging` endpoints that accept and
 * never answer. The healthy rate with them is measured once the first hanging
 * attempts have run past the slow threshold (they hold their slots until
 * their timeout; after that the slow lane keeps them to half the slots).
 */
export async function slowEndpoints(options: SlowEndpointsOptions): Promise<SlowEndpointsResult> {
  const healthy = await serve((req, res) => {
    req.resume()
    req.on('end', () => res.writeHead(204).end())
  })
  let hangingNow = 0
  let maxHanging = 0
  let measuring = false
  const hang = await serve((req) => {
    hangingNow++
    if (measuring) maxHanging = Math.max(maxHanging, hangingNow)
    req.resume()
    req.socket.once('close', () => hangingNow--)
  })
  const options_ = {
    timeoutMs: options.timeoutMs,
    slowAttemptMs: options.slowAttemptMs ?? Math.floor(options.timeoutMs / 4),
    retrySchedule: Array.from({ length: 50 }, (_, i) => (i === 0 ? 0 : 20)),
  }

  async function healthyRun(dispatcher: WebhookDispatcher, bus: ReturnType<typeof createEventBus>): Promise<number> {
    let delivered = 0
    let done: () => void = () => undefined
    const all = new Promise<void>((resolve) => (done = resolve))
    const off = dispatcher.on('delivered', (r) => {
      if (measuring) maxHanging = Math.max(maxHanging, hangingNow)
      if (r.event === 'agent.executed' && ++delivered === options.healthyEvents) done()
    })
    const started = performance.now()
    for (let i = 0; i < options.healthyEvents; i++) bus.emit('agent.executed', payload)
    await all
    off()
    return options.healthyEvents / ((performance.now() - started) / 1000)
  }

  try {
    const solo = dispatcherFor(options_)
    await solo.dispatcher.start()
    await solo.dispatcher.createWebhook({ url: `${healthy.url}/ok`, events: ['agent.executed'] })
    await healthyRun(solo.dispatcher, solo.bus) // warm-up: the first run also pays for compiling
    const soloRate = await healthyRun(solo.dispatcher, solo.bus)
    await solo.dispatcher.close()

    const mixed = dispatcherFor({ ...options_, closeTimeoutMs: 200 })
    await mixed.dispatcher.start()
    await mixed.dispatcher.createWebhook({ url: `${healthy.url}/ok`, events: ['agent.executed'] })
    for (let i = 0; i < options.hanging; i++) {
      await mixed.dispatcher.createWebhook({ url: `${hang.url}/hang/${i}`, events: ['workflow.failed'] })
    }
    for (let i = 0; i < 20; i++) mixed.bus.emit('workflow.failed', { workflow_id: 'w', error: { message: 'x' } })
    // The first hanging attempts hold their slots until they time out.
    await sleep(options.timeoutMs + 100)
    measuring = true
    maxHanging = hangingNow
    const mixedRate = await healthyRun(mixed.dispatcher, mixed.bus)
    measuring = false
    await mixed.dispatcher.close()
    return { soloRate, mixedRate, ratio: mixedRate / soloRate, maxHangingInFlight: maxHanging, healthyDelivered: options.healthyEvents }
  } finally {
    await healthy.close()
    await hang.close()
  }
}

// --- receivers down under load -----------------------------------------------------

export interface ReceiversDownOptions {
  eventsPerSecond: number
  seconds: number
  webhooks: number
}

export interface ReceiversDownResult {
  emitted: number
  deliveries: number
  peakRssMb: number
  baselineRssMb: number
  /** Timers the dispatcher held at the end of the load (alive, counted by a wrapping clock). */
  maxTimers: number
  emitP99Us: number
  emitP50Us: number
  /** Once the receivers were back: deliveries succeeded / expected. */
  completed: number
  recoverySeconds: number
}

/**
 * Emits at a steady rate into a SQLite-backed dispatcher while every
 * receiver refuses connections, then brings the receivers back (on the same
 * port) and waits for every delivery to succeed.
 */
export async function receiversDown(options: ReceiversDownOptions): Promise<ReceiversDownResult> {
  const dir = mkdtempSync(join(tmpdir(), 'agno-reliability-'))
  // Reserve a port, then close it: connections are refused until it is back.
  const probe = await serve(() => undefined)
  const port = Number(new URL(probe.url).port)
  await probe.close()

  const live = new Set<unknown>()
  let maxTimers = 0
  const clock = {
    now: () => Date.now(),
    setTimeout(callback: () => void, delayMs: number) {
      const handle: ReturnType<typeof setTimeout> = setTimeout(() => {
        live.delete(handle)
        callback()
      }, delayMs)
      handle.unref()
      live.add(handle)
      maxTimers = Math.max(maxTimers, live.size)
      return handle
    },
    clearTimeout(handle: unknown) {
      live.delete(handle)
      clearTimeout(handle as ReturnType<typeof setTimeout>)
    },
  }
  const store = new SqliteWebhookStore({ filename: join(dir, 'load.db') })
  const { bus, dispatcher } = dispatcherFor({
    store,
    clock,
    // Attempts over about a minute, so no delivery runs out of them
    // during the outage and disables its webhook.
    retrySchedule: [0, 500, 1000, 2000, 4000, 8000, 16000, 32000],
    timeoutMs: 1000,
  })
  await dispatcher.start()
  for (let i = 0; i < options.webhooks; i++) {
    await dispatcher.createWebhook({ url: `http://127.0.0.1:${port}/hook/${i}`, events: ['agent.executed'] })
  }
  global.gc?.()
  const baselineRss = process.memoryUsage().rss
  let peakRss = baselineRss
  const latencies: number[] = []
  const total = options.eventsPerSecond * options.seconds
  const started = performance.now()
  let emitted = 0
  // Emit in 10 ms slices at the target rate.
  while (emitted < total) {
    const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * options.eventsPerSecond))
    for (; emitted < due; emitted++) {
      const t = performance.now()
      bus.emit('agent.executed', payload)
      latencies.push((performance.now() - t) * 1000)
    }
    peakRss = Math.max(peakRss, process.memoryUsage().rss)
    await sleep(10)
  }
  await dispatcher.flush()
  peakRss = Math.max(peakRss, process.memoryUsage().rss)
  latencies.sort((a, b) => a - b)

  const expected = emitted * options.webhooks
  const receiver = await serve((req, res) => {
    req.resume()
    req.on('end', () => res.writeHead(204).end())
  }, port)
  const back = performance.now()
  let succeeded = 0
  dispatcher.on('delivered', () => void succeeded++)
  const deadline = Date.now() + 120_000
  const unfinished = store.db.prepare("SELECT count(*) AS n FROM deliveries WHERE status <> 'succeeded'")
  while ((unfinished.get() as { n: number }).n > 0 && Date.now() < deadline) await sleep(100)
  const recoverySeconds = (performance.now() - back) / 1000
  const done = (store.db.prepare("SELECT count(*) AS n FROM deliveries WHERE status = 'succeeded'").get() as { n: number }).n
  await dispatcher.close()
  store.close()
  await receiver.close()
  rmSync(dir, { recursive: true, force: true })
  return {
    emitted,
    deliveries: expected,
    peakRssMb: peakRss / 2 ** 20,
    baselineRssMb: baselineRss / 2 ** 20,
    maxTimers,
    emitP99Us: latencies[Math.floor(latencies.length * 0.99)] ?? 0,
    emitP50Us: latencies[Math.floor(latencies.length * 0.5)] ?? 0,
    completed: done / expected,
    recoverySeconds,
  }
}

// --- crash loop -------------------------------------------------------------------

export interface CrashLoopOptions {
  events: number
  kills: number
  /** Share of requests the flaky receiver fails at random. */
  failRate: number
}

export interface CrashLoopResult {
  deliveries: number
  received: number
  failedAndDisabled: number
  /** Unfinished deliveries of a webhook that was disabled: kept, resumed when it is enabled again. */
  parked: number
  missing: number
  duplicates: number
  kills: number
}

/**
 * A worker process (reliability/crash-worker.ts) emits `events` to three
 * webhooks, one of them flaky, and delivers them; it is killed with SIGKILL
 * `kills` times at random points and restarted on the same SQLite file.
 * Afterwards every delivery id was received, or is recorded `failed` with its
 * webhook disabled.
 */
export async function crashLoop(options: CrashLoopOptions): Promise<CrashLoopResult> {
  const dir = mkdtempSync(join(tmpdir(), 'agno-crash-loop-'))
  const file = join(dir, 'crash.db')
  const received = new Map<string, number>()
  const receiver = await serve((req, res) => {
    req.resume()
    req.on('end', () => {
      const flaky = (req.url ?? '').startsWith('/flaky')
      if (flaky && Math.random() < options.failRate) return void res.writeHead(500).end()
      const id = String(req.headers['x-webhook-delivery'])
      received.set(id, (received.get(id) ?? 0) + 1)
      res.writeHead(204).end()
    })
  })
  const run = (mode: string) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'reliability/crash-worker.ts'), mode, file, receiver.url, String(options.events)], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    let out = ''
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk))
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
    return { child, exited, out: () => out }
  }
  try {
    const first = run('emit')
    while (!first.out().includes('flushed')) {
      if (first.child.exitCode !== null) throw new Error('the emitting worker exited early')
      await sleep(20)
    }
    let current = first
    for (let kill = 0; kill < options.kills; kill++) {
      await sleep(150 + Math.random() * 500)
      current.child.kill('SIGKILL')
      await current.exited
      current = run('work')
      await sleep(100)
    }
    const last = current
    const code = await Promise.race([last.exited, sleep(180_000).then(() => 'timeout' as const)])
    if (code !== 0) throw new Error(`the last worker did not finish (${String(code)})`)

    const { default: Database } = await import('better-sqlite3')
    const db = new Database(file, { readonly: true })
    const rows = db.prepare('SELECT d.id, d.status, w.enabled FROM deliveries d JOIN webhooks w ON w.id = d.webhook_id').all() as {
      id: string
      status: string
      enabled: number
    }[]
    db.close()
    let missing = 0
    let failedAndDisabled = 0
    let parked = 0
    let duplicates = 0
    for (const row of rows) {
      const count = received.get(row.id) ?? 0
      if (count > 1) duplicates += count - 1
      if (count > 0) continue
      if (row.status === 'failed' && row.enabled === 0) failedAndDisabled++
      else if (row.status === 'pending' && row.enabled === 0) parked++
      else missing++
    }
    return { deliveries: rows.length, received: received.size, failedAndDisabled, parked, missing, duplicates, kills: options.kills }
  } finally {
    await receiver.close()
    rmSync(dir, { recursive: true, force: true })
  }
}
