import { randomUUID } from 'node:crypto'
import { describe, expect, inject, it } from 'vitest'
import { createEventBus, WebhookDispatcher } from '../src/index.js'
import { PostgresWebhookStore } from '../src/store/postgres.js'
import { runTs, type Child } from './support/child.js'
import { registerCleanup } from './support/harness.js'
import { startReceiver, waitFor } from './support/receiver.js'

// Three app processes share one database: 10,000 events emitted across
// them, one receiver. Every delivery must arrive, and no delivery may be
// attempted by two of them at once; then the same with one of them killed.
const url = inject('postgresUrl')
const TOTAL = 10_000

async function setup() {
  const schema = `multi_${randomUUID().replaceAll('-', '').slice(0, 12)}`
  const store = new PostgresWebhookStore({ connectionString: url as string, schema, max: 2 })
  registerCleanup(async () => {
    await store.pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)
    await store.close()
  })
  const seen = new Map<string, number>()
  const open = new Set<string>()
  let overlaps = 0
  const receiver = await startReceiver((req, res) => {
    const id = String(req.headers['x-webhook-delivery'])
    if (open.has(id)) overlaps++
    open.add(id)
    seen.set(id, (seen.get(id) ?? 0) + 1)
    // Answer a moment later, so attempts of the same delivery would overlap.
    setTimeout(() => {
      open.delete(id)
      res.writeHead(204).end()
    }, 1)
  })
  registerCleanup(() => receiver.close())
  // One webhook, registered the way an app does, before the instances start.
  const dispatcher = new WebhookDispatcher({ bus: createEventBus(), store, allowInsecureUrls: true, allowPrivateNetworks: true })
  await dispatcher.createWebhook({ url: `${receiver.url}/hook`, events: ['*'] })
  await dispatcher.close()
  const workers = [3334, 3333, 3333].map((count) => runTs('test/fixtures/pg-worker.ts', [url as string, schema, String(count), String(TOTAL)]))
  for (const w of workers) await w.waitFor(/flushed/, 60_000)
  return { store, schema, seen, overlaps: () => overlaps, workers }
}

async function finished(workers: Child[]): Promise<Array<{ attempts: number }>> {
  const codes = await Promise.all(workers.map((w) => w.exited))
  expect(codes).toEqual(workers.map(() => 0))
  return workers.map((w) => JSON.parse(w.output().trim().split('\n').at(-1) ?? '{}') as { attempts: number })
}

describe.skipIf(!url)('PostgreSQL: three app processes on one database', () => {
  it('deliver all 10,000, each attempted by one process at a time, the work shared', async () => {
    const { seen, overlaps, workers } = await setup()
    const reports = await finished(workers)
    expect(seen.size).toBe(TOTAL)
    expect(overlaps()).toBe(0)
    const attempts = reports.map((r) => r.attempts)
    expect(attempts.reduce((a, b) => a + b, 0)).toBe([...seen.values()].reduce((a, b) => a + b, 0))
    // Every process delivered a share.
    for (const n of attempts) expect(n).toBeGreaterThan(0)
  }, 120_000)

  it('one killed with SIGKILL mid-run: its leased deliveries are taken over, nothing is lost', async () => {
    const { store, schema, seen, overlaps, workers } = await setup()
    const [, victim, ...rest] = workers as [Child, Child, Child]
    await waitFor(() => seen.size > TOTAL / 4, 60_000, 'a quarter delivered')
    victim.process.kill('SIGKILL')
    expect(await victim.exited).toBeNull()
    const leased = await store.pool.query<{ n: string }>(`SELECT count(*) AS n FROM "${schema}".deliveries WHERE status = 'delivering'`)
    await finished([workers[0] as Child, ...rest])
    expect(seen.size).toBe(TOTAL)
    expect(overlaps()).toBe(0)
    const { rows } = await store.pool.query<{ status: string; n: string }>(
      `SELECT status, count(*) AS n FROM "${schema}".deliveries GROUP BY status`,
    )
    expect(rows).toEqual([{ status: 'succeeded', n: String(TOTAL) }])
    const duplicates = [...seen.values()].reduce((a, b) => a + b - 1, 0)
    console.log(`killed one of three: ${leased.rows[0]?.n} leased at the kill, ${duplicates} delivered twice, none lost`)
  }, 120_000)
})
