import { randomUUID } from 'node:crypto'
import pg from 'pg'
import { describe, expect, inject, it } from 'vitest'
import { PostgresWebhookStore } from '../src/store/postgres.js'
import { registerCleanup } from './support/harness.js'
import { describeStoreContract, newDelivery, webhookRecord } from './support/store-contract.js'

const url = inject('postgresUrl')

/** A store on a schema of its own, dropped after the test. */
export function postgresStore(schema = `t_${randomUUID().replaceAll('-', '').slice(0, 16)}`): PostgresWebhookStore {
  const store = new PostgresWebhookStore({ connectionString: url as string, schema, max: 4 })
  registerCleanup(async () => {
    await store.pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)
    await store.close()
  })
  return store
}

describe.skipIf(!url)('PostgresWebhookStore', () => {
  describeStoreContract('PostgresWebhookStore', async () => {
    const schema = `c_${randomUUID().replaceAll('-', '').slice(0, 16)}`
    const store = new PostgresWebhookStore({ connectionString: url as string, schema, max: 4 })
    return {
      store,
      cleanup: async () => {
        await store.pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)
        await store.close()
      },
    }
  })

  it('migrates once, even with several instances starting together, and refuses a newer schema', async () => {
    const schema = `m_${randomUUID().replaceAll('-', '').slice(0, 16)}`
    const stores = Array.from({ length: 4 }, () => postgresStore(schema))
    await Promise.all(stores.map((s) => s.listEnabledWebhooks()))
    const { rows } = await (stores[0] as PostgresWebhookStore).pool.query(`SELECT version FROM "${schema}".agno_events_schema`)
    expect(rows).toEqual([{ version: 1 }])
    await (stores[0] as PostgresWebhookStore).pool.query(`UPDATE "${schema}".agno_events_schema SET version = 99`)
    const newer = postgresStore(schema)
    await expect(newer.listEnabledWebhooks()).rejects.toThrow('The database schema is version 99; this agno-events knows versions up to 1')
  })

  it('can answer each webhook’s earliest due work from an index', async () => {
    const schema = `i_${randomUUID().replaceAll('-', '').slice(0, 16)}`
    const store = postgresStore(schema)
    await store.listEnabledWebhooks()
    const client = await store.pool.connect()
    try {
      // An empty table is cheapest to scan whole; forbid the other plans to
      // see that the index can serve the query in order, with no sort.
      await client.query('SET enable_seqscan = off')
      await client.query('SET enable_bitmapscan = off')
      const { rows } = await client.query<{ 'QUERY PLAN': string }>(
        `EXPLAIN SELECT seq, next_attempt_at FROM "${schema}".deliveries
         WHERE webhook_id = 'w' AND next_attempt_at IS NOT NULL ORDER BY next_attempt_at, seq LIMIT 9`,
      )
      const plan = rows.map((r) => r['QUERY PLAN']).join('\n')
      expect(plan).toMatch(/Index (Only )?Scan using deliveries_due/)
      expect(plan).not.toMatch(/Sort/)
    } finally {
      await client.query('RESET ALL')
      client.release()
    }
  })

  it('wakes a watcher when another instance stores work or schedules a retry', async () => {
    const schema = `w_${randomUUID().replaceAll('-', '').slice(0, 16)}`
    const a = postgresStore(schema)
    const b = postgresStore(schema)
    let woken = 0
    const stop = await a.watch(() => woken++)
    const hook = await b.insertWebhook(webhookRecord())
    await b.insertDeliveries([newDelivery(hook.id)])
    await expect.poll(() => woken, { timeout: 3000 }).toBeGreaterThan(0)
    await stop()
    const before = woken
    await b.insertDeliveries([newDelivery(hook.id)])
    await new Promise((resolve) => setTimeout(resolve, 200))
    expect(woken).toBe(before)
  })

  it('uses a pool it is given and leaves it open', async () => {
    const pool = new pg.Pool({ connectionString: url as string, max: 2 })
    const schema = `p_${randomUUID().replaceAll('-', '').slice(0, 16)}`
    const store = new PostgresWebhookStore({ pool, schema })
    await store.insertWebhook(webhookRecord())
    await store.close()
    expect((await pool.query<{ n: string }>(`SELECT count(*) AS n FROM "${schema}".webhooks`)).rows[0]?.n).toBe('1')
    await pool.query(`DROP SCHEMA "${schema}" CASCADE`)
    await pool.end()
  })
})
