import { spawn } from 'node:child_process'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { describe, expect, it } from 'vitest'
import { createEventBus, StoreBusyError, WebhookDispatcher } from '../src/index.js'
import { SqliteWebhookStore } from '../src/store/sqlite.js'
import { ManualClock } from './support/manual-clock.js'
import { registerCleanup, startDispatcher } from './support/harness.js'
import { respond, startReceiver, waitFor } from './support/receiver.js'
import { describeStoreContract, newDelivery, webhookRecord } from './support/store-contract.js'
import { tempDatabase } from './support/temp.js'

function openStore(filename: string, options: { busyTimeoutMs?: number } = {}): SqliteWebhookStore {
  const store = new SqliteWebhookStore({ filename, ...options })
  registerCleanup(async () => store.close())
  return store
}

describeStoreContract('SqliteWebhookStore', async () => {
  const store = new SqliteWebhookStore({ filename: tempDatabase() })
  return { store, cleanup: async () => store.close() }
})

describe('SqliteWebhookStore schema and settings', () => {
  it('migrates a new file to the current version once, with WAL, synchronous=NORMAL and a busy timeout', () => {
    const file = tempDatabase()
    const store = openStore(file, { busyTimeoutMs: 1234 })
    expect(store.db.pragma('user_version', { simple: true })).toBe(1)
    expect(store.db.pragma('journal_mode', { simple: true })).toBe('wal')
    expect(store.db.pragma('synchronous', { simple: true })).toBe(1)
    expect(store.db.pragma('busy_timeout', { simple: true })).toBe(1234)
    store.close()
    // Reopening does not run migration 1 again (it would fail: the tables exist).
    const again = openStore(file)
    expect(again.db.pragma('user_version', { simple: true })).toBe(1)
  })

  it('uses synchronous=FULL when asked', () => {
    const store = new SqliteWebhookStore({ filename: tempDatabase(), synchronous: 'FULL' })
    registerCleanup(async () => store.close())
    expect(store.db.pragma('synchronous', { simple: true })).toBe(2)
  })

  it('refuses a database written by a newer schema', () => {
    const file = tempDatabase()
    const db = new Database(file)
    db.pragma('user_version = 99')
    db.close()
    expect(() => openStore(file)).toThrow('The database schema is version 99; this agno-events knows versions up to 1')
  })

  it('answers "earliest due" and "newest first" with index searches', () => {
    const store = openStore(tempDatabase())
    const plan = (sql: string) =>
      (store.db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all() as Array<{ detail: string }>).map((r) => r.detail).join(' | ')
    expect(
      plan("SELECT seq, next_attempt_at FROM deliveries WHERE webhook_id = 'w' AND next_attempt_at IS NOT NULL ORDER BY next_attempt_at, seq LIMIT 9"),
    ).toMatch(/^SEARCH deliveries USING (COVERING )?INDEX deliveries_due \(webhook_id=\?( AND next_attempt_at>\?)?\)$/)
    expect(plan("SELECT * FROM deliveries WHERE webhook_id = 'w' AND seq < 10 ORDER BY seq DESC LIMIT 20")).toMatch(
      /^SEARCH deliveries USING INDEX deliveries_by_webhook \(webhook_id=\? AND seq<\?\)$/,
    )
  })

  it('uses an open database it was given, and leaves it open', async () => {
    const db = new Database(tempDatabase())
    const store = new SqliteWebhookStore(db)
    await store.insertWebhook(webhookRecord())
    store.close()
    expect(db.open).toBe(true)
    expect((db.prepare('SELECT count(*) AS n FROM webhooks').get() as { n: number }).n).toBe(1)
    db.close()
    expect(() => new SqliteWebhookStore({})).toThrow('needs a filename or an open better-sqlite3 database')
  })
})

describe('durable delivery', () => {
  it('resumes a retry due at +5 min at +5 min after a restart: not at once, not never', async () => {
    const file = tempDatabase()
    const r = await startReceiver(respond(500))
    registerCleanup(() => r.close())
    const clock = new ManualClock()
    const t0 = clock.now()

    const first = openStore(file)
    const a = await startDispatcher({ store: first, clock, retrySchedule: [0, 5 * 60_000, 60_000] })
    const hook = await a.dispatcher.createWebhook({ url: r.url, events: ['*'] })
    a.bus.emit('agent.deleted', { agent_id: 'a' })
    await waitFor(() => a.attempts.length === 1)
    await a.dispatcher.close()
    first.close()

    // The process comes back a minute later.
    clock.advance(60_000)
    const second = openStore(file)
    const b = await startDispatcher({ store: second, clock, retrySchedule: [0, 5 * 60_000, 60_000] })
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect(r.requests).toHaveLength(1)
    expect(clock.pending).toBe(1)
    clock.set(t0 + 5 * 60_000 - 1)
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect(r.requests).toHaveLength(1)
    clock.set(t0 + 5 * 60_000)
    await waitFor(() => b.attempts.length === 1)
    const delivery = await b.dispatcher.getDelivery(b.attempts[0]?.delivery_id ?? '')
    expect(delivery.attempts.map((x) => Date.parse(x.started_at) - t0)).toEqual([0, 5 * 60_000])
    expect(delivery.attempts.map((x) => x.attempt)).toEqual([1, 2])
    expect(r.requests.map((q) => q.headers['x-webhook-delivery'])).toEqual([delivery.id, delivery.id])
    expect(hook.id).toBe(delivery.webhook_id)
  })

  it('keeps a disabled webhook disabled across a restart', async () => {
    const file = tempDatabase()
    const r = await startReceiver(respond(410))
    registerCleanup(() => r.close())
    const first = openStore(file)
    const a = await startDispatcher({ store: first })
    const hook = await a.dispatcher.createWebhook({ url: r.url, events: ['*'] })
    a.bus.emit('agent.deleted', { agent_id: 'a' })
    await waitFor(async () => !(await a.dispatcher.getWebhook(hook.id)).enabled)
    await a.dispatcher.close()
    first.close()

    const b = await startDispatcher({ store: openStore(file) })
    expect(await b.dispatcher.getWebhook(hook.id)).toMatchObject({ enabled: false, disabled_reason: 'The endpoint answered 410 Gone' })
    b.bus.emit('agent.deleted', { agent_id: 'b' })
    await b.dispatcher.flush()
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect(r.requests).toHaveLength(1)
  })

  it('with 100,000 pending deliveries, start() arms one timer and loads only a due batch', async () => {
    const file = tempDatabase()
    const store = openStore(file)
    const clock = new ManualClock()
    const hook = await store.insertWebhook(webhookRecord({ url: 'https://example.com/hook', events: ['*'] }))
    const body = JSON.stringify({ event: 'agent.deleted', padding: 'x'.repeat(1000) })
    for (let batch = 0; batch < 100; batch++) {
      await store.insertDeliveries(
        Array.from({ length: 1000 }, (_, i) =>
          newDelivery(hook.id, { body, next_attempt_at: clock.now() + 3_600_000 + batch * 1000 + i }),
        ),
      )
    }
    let claimedRows = 0
    const claimDue = store.claimDue.bind(store)
    store.claimDue = async (request) => {
      const result = await claimDue(request)
      claimedRows += result.claimed.length
      return result
    }
    const heapBefore = process.memoryUsage().heapUsed
    const dispatcher = new WebhookDispatcher({ bus: createEventBus(), store, clock })
    registerCleanup(() => dispatcher.close())
    const started = Date.now()
    await dispatcher.start()
    expect(Date.now() - started).toBeLessThan(1000)
    expect(clock.created).toBe(1)
    expect(clock.pending).toBe(1)
    expect(claimedRows).toBe(0)
    // 100,000 bodies of 1 KB would be 100 MB; nothing like that was loaded.
    expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(20 * 1024 * 1024)
    expect((store.db.prepare("SELECT count(*) AS n FROM deliveries WHERE status = 'pending'").get() as { n: number }).n).toBe(100_000)
  })
})

describe('a store shared between processes', () => {
  it('an idle dispatcher picks up work another process wrote, within pollIntervalMs', async () => {
    const file = tempDatabase()
    const r = await startReceiver()
    registerCleanup(() => r.close())
    const h = await startDispatcher({ store: openStore(file), pollIntervalMs: 200 })
    // Another process (here: another connection) registers a webhook and
    // queues a delivery; this dispatcher hears nothing of it.
    const other = openStore(file)
    const hook = await other.insertWebhook(webhookRecord({ url: `${r.url}/hook`, events: ['*'] }))
    await other.insertDeliveries([newDelivery(hook.id, { next_attempt_at: Date.now() })])
    const started = Date.now()
    await waitFor(() => h.attempts.length === 1, 3000, 'the poll to find the work')
    expect(Date.now() - started).toBeLessThan(1500)
    expect(r.requests).toHaveLength(1)
  })
})

describe('another process holding the write lock', () => {
  function holdLock(file: string, ms: number): Promise<void> {
    const child = spawn(process.execPath, [join(import.meta.dirname, 'fixtures', 'hold-lock.mjs'), file, String(ms)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    registerCleanup(async () => void child.kill('SIGKILL'))
    return new Promise((resolve, reject) => {
      child.stdout.once('data', () => resolve())
      child.once('error', reject)
    })
  }

  it('makes a write wait for it (busy_timeout) and then succeed', async () => {
    const file = tempDatabase()
    const store = openStore(file, { busyTimeoutMs: 5000 })
    const hook = await store.insertWebhook(webhookRecord())
    await holdLock(file, 300)
    const started = Date.now()
    await store.insertDeliveries([newDelivery(hook.id)])
    expect(Date.now() - started).toBeGreaterThanOrEqual(200)
    expect(await store.listDeliveries({ webhook_id: hook.id, limit: 5 })).toHaveLength(1)
  })

  it('fails a write that waits too long with a clear StoreBusyError, and the dispatcher keeps the events', async () => {
    const file = tempDatabase()
    const store = openStore(file, { busyTimeoutMs: 100 })
    const h = await startDispatcher({ store, start: false })
    const hook = await h.dispatcher.createWebhook({ url: 'https://example.com/x', events: ['*'] })
    await holdLock(file, 800)
    await expect(store.insertDeliveries([newDelivery(hook.id)])).rejects.toThrow(StoreBusyError)
    await expect(store.insertDeliveries([newDelivery(hook.id)])).rejects.toThrow(
      /locked by another connection; gave up after waiting 100 ms \(SQLITE_BUSY/,
    )
    h.bus.emit('agent.deleted', { agent_id: 'kept' })
    await expect(h.dispatcher.flush()).rejects.toBeInstanceOf(StoreBusyError)
    // Once the lock is gone the queued event is stored: nothing was dropped.
    await waitFor(async () => (await store.listDeliveries({ webhook_id: hook.id, limit: 5 })).length === 1, 5000)
    const [row] = await store.listDeliveries({ webhook_id: hook.id, limit: 5 })
    expect(JSON.parse(row?.body ?? '{}').payload.agent_id).toBe('kept')
  })
})
