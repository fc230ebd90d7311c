// The `agno-events/postgres` entry: the only module that loads `pg`.
import pg from 'pg'
import { AgnoEventsError } from '../errors.js'
import { arrayCursor, selectDue } from './claim.js'
import { PG_MIGRATIONS } from './postgres-migrations.js'
import type {
  AttemptCompletion,
  AttemptOutcome,
  AttemptRecord,
  ClaimedDelivery,
  ClaimRequest,
  ClaimResult,
  CompletionResult,
  DeliveryStatus,
  NewDelivery,
  QueuedDelivery,
  StoredDelivery,
  StoredWebhook,
  WebhookChanges,
  WebhookRecord,
  WebhookStore,
} from './types.js'

/** Options of {@link PostgresWebhookStore}. */
export interface PostgresWebhookStoreOptions {
  /** A `pg` pool to use; the store does not end it. Give this or `connectionString`. */
  pool?: pg.Pool
  /** Where to connect when the store makes its own pool. */
  connectionString?: string
  /** Size of the pool the store makes. Default 10. */
  max?: number
  /** The schema of the tables, created when missing. Default `public`. */
  schema?: string
  /** The LISTEN/NOTIFY channel instances wake each other on. Default `agno_events_work`. */
  channel?: string
}

interface WebhookRow {
  seq: string
  id: string
  url: string
  events: StoredWebhook['events']
  secret: string
  headers: Record<string, string>
  enabled: boolean
  owner_id: string | null
  description: string | null
  created_at: string
  updated_at: string
  disabled_reason: string | null
}

interface DeliveryRow {
  seq: string
  id: string
  webhook_id: string
  event: string
  body: string
  status: string
  next_attempt_at: string | null
  created_at: string
  test: boolean
  attempt_count: number
  cycle_attempts: number
}

interface AttemptRow {
  delivery_id: string
  attempt: number
  started_at: string
  duration_ms: number
  status_code: number | null
  error: string | null
  response_body: string | null
}

type Queryable = Pick<pg.PoolClient, 'query'>

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/
const DELIVERY_COLUMNS = 'seq, id, webhook_id, event, body, status, next_attempt_at, created_at, test, attempt_count, cycle_attempts'

/**
 * Webhooks, deliveries and the delivery queue in PostgreSQL, shared by every
 * instance of the host. Claims lock rows with `FOR UPDATE SKIP LOCKED` and
 * hold them with a lease, so no delivery is attempted by two instances at
 * once and a crashed instance's work is taken over when its leases end. An
 * instance that stores new work or schedules a retry tells the others with
 * NOTIFY, so any of them delivers it promptly, each with one timer and no
 * busy polling.
 *
 * @example
 * ```ts
 * import { PostgresWebhookStore } from 'agno-events/postgres'
 * const store = new PostgresWebhookStore({ connectionString: process.env.DATABASE_URL })
 * const dispatcher = new WebhookDispatcher({ bus, store })
 * ```
 */
export class PostgresWebhookStore implements WebhookStore {
  readonly shared = true
  /** The pool the store queries through. */
  readonly pool: pg.Pool
  private readonly ownsPool: boolean
  private readonly schema: string
  private readonly channel: string
  private readonly t: { webhooks: string; deliveries: string; attempts: string; version: string }
  private ready: Promise<void> | null = null
  private readonly listeners = new Set<pg.PoolClient>()

  constructor(options: PostgresWebhookStoreOptions) {
    if (!options?.pool && !options?.connectionString) {
      throw new TypeError('PostgresWebhookStore needs a pool or a connectionString')
    }
    this.schema = options.schema ?? 'public'
    this.channel = options.channel ?? 'agno_events_work'
    for (const [name, value] of [
      ['schema', this.schema],
      ['channel', this.channel],
    ] as const) {
      if (!IDENTIFIER.test(value)) throw new TypeError(`${name} must be a plain SQL identifier, got ${JSON.stringify(value)}`)
    }
    this.ownsPool = !options.pool
    this.pool = options.pool ?? new pg.Pool({ connectionString: options.connectionString, max: options.max ?? 10 })
    if (this.ownsPool) this.pool.on('error', () => undefined) // an idle client's broken connection; the next query reconnects
    const q = (name: string) => `"${this.schema}"."${name}"`
    this.t = { webhooks: q('webhooks'), deliveries: q('deliveries'), attempts: q('attempts'), version: q('agno_events_schema') }
  }

  /** Stops listening and, if the store made its pool, ends it. */
  async close(): Promise<void> {
    for (const client of this.listeners) client.release(true)
    this.listeners.clear()
    if (this.ownsPool) await this.pool.end()
  }

  /**
   * Calls `onWork` whenever any instance stores new work, schedules a retry,
   * re-enables a webhook or redelivers. Resolves with a function that stops.
   */
  async watch(onWork: () => void): Promise<() => Promise<void>> {
    await this.init()
    let client: pg.PoolClient | null = null
    let stopped = false
    const listen = async (): Promise<void> => {
      try {
        const c = await this.pool.connect()
        if (stopped) return c.release()
        client = c
        this.listeners.add(c)
        c.on('notification', (message) => {
          if (message.channel === this.channel) onWork()
        })
        c.on('error', () => {
          // The connection broke: listen again on a new one, and look for
          // work that may have been announced meanwhile.
          this.listeners.delete(c)
          c.release(true)
          client = null
          if (!stopped) setTimeout(() => void listen().then(onWork), 1000).unref()
        })
        await c.query(`LISTEN "${this.channel}"`)
      } catch {
        if (!stopped) setTimeout(() => void listen().then(onWork), 1000).unref()
      }
    }
    await listen()
    return async () => {
      stopped = true
      const c = client as pg.PoolClient | null
      if (c && this.listeners.delete(c)) {
        await c.query(`UNLISTEN "${this.channel}"`).catch(() => undefined)
        c.release()
      }
    }
  }

  async insertWebhook(webhook: WebhookRecord): Promise<StoredWebhook> {
    await this.init()
    const { rows } = await this.pool.query<WebhookRow>(
      `INSERT INTO ${this.t.webhooks} (id, url, events, secret, headers, enabled, owner_id, description, created_at, updated_at, disabled_reason)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING *`,
      webhookParams(webhook),
    )
    return toWebhook(rows[0] as WebhookRow)
  }

  async getWebhook(id: string): Promise<StoredWebhook | null> {
    await this.init()
    const { rows } = await this.pool.query<WebhookRow>(`SELECT * FROM ${this.t.webhooks} WHERE id = $1`, [id])
    return rows[0] ? toWebhook(rows[0]) : null
  }

  async listWebhooks(query: { owner_id?: string | null; after?: number; limit: number }): Promise<StoredWebhook[]> {
    await this.init()
    const after = query.after ?? 0
    const { rows } =
      query.owner_id === undefined
        ? await this.pool.query<WebhookRow>(`SELECT * FROM ${this.t.webhooks} WHERE seq > $1 ORDER BY seq LIMIT $2`, [after, query.limit])
        : query.owner_id === null
          ? await this.pool.query<WebhookRow>(
              `SELECT * FROM ${this.t.webhooks} WHERE owner_id IS NULL AND seq > $1 ORDER BY seq LIMIT $2`,
              [after, query.limit],
            )
          : await this.pool.query<WebhookRow>(
              `SELECT * FROM ${this.t.webhooks} WHERE owner_id = $1 AND seq > $2 ORDER BY seq LIMIT $3`,
              [query.owner_id, after, query.limit],
            )
    return rows.map(toWebhook)
  }

  async listEnabledWebhooks(): Promise<StoredWebhook[]> {
    await this.init()
    const { rows } = await this.pool.query<WebhookRow>(`SELECT * FROM ${this.t.webhooks} WHERE enabled ORDER BY seq`)
    return rows.map(toWebhook)
  }

  async updateWebhook(id: string, changes: WebhookChanges, now: number): Promise<StoredWebhook | null> {
    return this.transaction(async (c) => {
      const { rows } = await c.query<WebhookRow>(`SELECT * FROM ${this.t.webhooks} WHERE id = $1 FOR UPDATE`, [id])
      if (!rows[0]) return null
      const before = toWebhook(rows[0])
      const next: WebhookRecord = { ...before, updated_at: now }
      for (const [key, value] of Object.entries(changes)) {
        if (value !== undefined) (next as unknown as Record<string, unknown>)[key] = value
      }
      if (next.enabled && !before.enabled) {
        next.disabled_reason = null
        await c.query(
          `UPDATE ${this.t.deliveries} SET next_attempt_at = $1, cycle_attempts = 0
           WHERE webhook_id = $2 AND status = 'pending' AND next_attempt_at IS NULL`,
          [now, id],
        )
        await this.notify(c)
      } else if (!next.enabled && before.enabled) {
        await this.park(c, id)
      }
      const { rows: updated } = await c.query<WebhookRow>(
        `UPDATE ${this.t.webhooks} SET url = $2, events = $3, secret = $4, headers = $5, enabled = $6, owner_id = $7,
           description = $8, created_at = $9, updated_at = $10, disabled_reason = $11
         WHERE id = $1 RETURNING *`,
        webhookParams(next),
      )
      return toWebhook(updated[0] as WebhookRow)
    })
  }

  async deleteWebhook(id: string): Promise<boolean> {
    return this.transaction(async (c) => {
      await c.query(
        `UPDATE ${this.t.deliveries} SET status = 'cancelled', next_attempt_at = NULL, lease_token = NULL
         WHERE webhook_id = $1 AND status IN ('pending', 'delivering')`,
        [id],
      )
      return ((await c.query(`DELETE FROM ${this.t.webhooks} WHERE id = $1`, [id])).rowCount ?? 0) > 0
    })
  }

  async insertDeliveries(deliveries: readonly NewDelivery[]): Promise<void> {
    if (deliveries.length === 0) return
    await this.init()
    const columns = {
      id: [] as string[],
      webhook_id: [] as string[],
      event: [] as string[],
      body: [] as string[],
      status: [] as string[],
      next_attempt_at: [] as (number | null)[],
      created_at: [] as number[],
      test: [] as boolean[],
      attempts: [] as number[],
    }
    const attempts: Array<AttemptRecord & { delivery_id: string }> = []
    for (const d of deliveries) {
      columns.id.push(d.id)
      columns.webhook_id.push(d.webhook_id)
      columns.event.push(d.event)
      columns.body.push(d.body)
      columns.status.push(d.status)
      columns.next_attempt_at.push(d.next_attempt_at)
      columns.created_at.push(d.created_at)
      columns.test.push(d.test)
      columns.attempts.push(d.attempts.length)
      for (const a of d.attempts) attempts.push({ delivery_id: d.id, ...a })
    }
    // One statement: the rows, their recorded attempts (test sends) and the
    // wake-up of the other instances commit together.
    await this.pool.query(
      `WITH inserted AS (
         INSERT INTO ${this.t.deliveries} (id, webhook_id, event, body, status, next_attempt_at, created_at, test, attempt_count, cycle_attempts)
         SELECT id, webhook_id, event, body, status, next_attempt_at, created_at, test, n, n
         FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[], $7::bigint[], $8::boolean[], $9::int[])
           AS v(id, webhook_id, event, body, status, next_attempt_at, created_at, test, n)
         RETURNING 1
       ), recorded AS (
         ${attemptInsert(this.t.attempts, 10)}
         RETURNING 1
       )
       SELECT pg_notify($17, '') WHERE EXISTS (SELECT 1 FROM inserted)`,
      [
        columns.id,
        columns.webhook_id,
        columns.event,
        columns.body,
        columns.status,
        columns.next_attempt_at,
        columns.created_at,
        columns.test,
        columns.attempts,
        ...attemptColumns(attempts),
        this.channel,
      ],
    )
  }

  async getDelivery(id: string): Promise<StoredDelivery | null> {
    await this.init()
    const { rows } = await this.pool.query<DeliveryRow>(`SELECT ${DELIVERY_COLUMNS} FROM ${this.t.deliveries} WHERE id = $1`, [id])
    return (await this.withAttempts(this.pool, rows))[0] ?? null
  }

  async listDeliveries(query: {
    webhook_id: string
    status?: DeliveryStatus
    before?: number
    limit: number
  }): Promise<StoredDelivery[]> {
    await this.init()
    const before = query.before ?? Number.MAX_SAFE_INTEGER
    const { rows } =
      query.status === undefined
        ? await this.pool.query<DeliveryRow>(
            `SELECT ${DELIVERY_COLUMNS} FROM ${this.t.deliveries} WHERE webhook_id = $1 AND seq < $2 ORDER BY seq DESC LIMIT $3`,
            [query.webhook_id, before, query.limit],
          )
        : await this.pool.query<DeliveryRow>(
            `SELECT ${DELIVERY_COLUMNS} FROM ${this.t.deliveries}
             WHERE webhook_id = $1 AND status = $2 AND seq < $3 ORDER BY seq DESC LIMIT $4`,
            [query.webhook_id, query.status, before, query.limit],
          )
    return this.withAttempts(this.pool, rows)
  }

  async claimDue(request: ClaimRequest): Promise<ClaimResult> {
    await this.init()
    // The head of every enabled webhook's queue, one index seek each, in
    // one round trip; the shared policy picks from them.
    const { rows } = await this.pool.query<{ webhook_id: string; seq: string; next_attempt_at: string }>(
      `SELECT w.id AS webhook_id, d.seq, d.next_attempt_at
       FROM ${this.t.webhooks} w
       CROSS JOIN LATERAL (
         SELECT seq, next_attempt_at FROM ${this.t.deliveries}
         WHERE webhook_id = w.id AND next_attempt_at IS NOT NULL
         ORDER BY next_attempt_at, seq LIMIT $1
       ) d
       WHERE w.enabled
       ORDER BY w.seq, d.next_attempt_at, d.seq`,
      [Math.min(request.perWebhookLimit, request.limit) + 1],
    )
    const queues = new Map<string, Array<{ at: number; seq: number; value: string }>>()
    for (const row of rows) {
      let queue = queues.get(row.webhook_id)
      if (!queue) queues.set(row.webhook_id, (queue = []))
      queue.push({ at: Number(row.next_attempt_at), seq: Number(row.seq), value: row.webhook_id })
    }
    const { chosen, nextDueAt } = selectDue(
      request,
      [...queues].map(([id, queue]) => [id, arrayCursor(queue)] as const),
    )
    if (chosen.length === 0) return { claimed: [], nextDueAt }

    // Rows another instance is claiming right now are skipped, never waited
    // for; rows it claimed a moment ago no longer match and are left out.
    const { rows: claimedRows } = await this.pool.query<DeliveryRow>(
      `UPDATE ${this.t.deliveries} d SET status = 'delivering', lease_token = $1, next_attempt_at = $2
       WHERE d.seq IN (
         SELECT seq FROM ${this.t.deliveries}
         WHERE seq = ANY($3::bigint[]) AND next_attempt_at IS NOT NULL AND next_attempt_at <= $4
         FOR UPDATE SKIP LOCKED
       )
       RETURNING ${DELIVERY_COLUMNS.split(', ').map((c) => `d.${c}`).join(', ')}`,
      [request.leaseToken, request.now + request.leaseMs, chosen.map((c) => c.seq), request.now],
    )
    // Another instance took some of them first: look again shortly, there may be more.
    const again = claimedRows.length < chosen.length ? request.now + 10 : null
    const soonest = again !== null && (nextDueAt === null || again < nextDueAt) ? again : nextDueAt
    if (claimedRows.length === 0) return { claimed: [], nextDueAt: soonest }
    const webhookIds = [...new Set(claimedRows.map((r) => r.webhook_id))]
    const { rows: hooks } = await this.pool.query<WebhookRow>(`SELECT * FROM ${this.t.webhooks} WHERE id = ANY($1::text[])`, [webhookIds])
    const byId = new Map(hooks.map((h) => [h.id, toWebhook(h)]))
    const claimed: ClaimedDelivery[] = []
    for (const row of claimedRows.sort((a, b) => Number(a.next_attempt_at) - Number(b.next_attempt_at) || Number(a.seq) - Number(b.seq))) {
      const webhook = byId.get(row.webhook_id)
      if (webhook) claimed.push({ delivery: toQueued(row), webhook })
    }
    return { claimed, nextDueAt: soonest }
  }

  async completeAttempts(completions: readonly AttemptCompletion[]): Promise<CompletionResult> {
    if (completions.length === 0) return { disabled: [] }
    return this.transaction(async (c) => {
      const released = completions.filter((x) => x.status === 'released')
      const outcomes = completions.filter((x): x is AttemptOutcome => x.status !== 'released')
      const enabled = `(SELECT enabled FROM ${this.t.webhooks} w WHERE w.id = d.webhook_id)`
      if (released.length > 0) {
        await c.query(
          `UPDATE ${this.t.deliveries} d SET status = 'pending', lease_token = NULL,
             next_attempt_at = CASE WHEN ${enabled} THEN v.now ELSE NULL END
           FROM unnest($1::text[], $2::text[], $3::bigint[]) AS v(id, token, now)
           WHERE d.id = v.id AND d.lease_token = v.token AND d.status = 'delivering'`,
          [released.map((r) => r.delivery_id), released.map((r) => r.leaseToken), released.map((r) => r.now)],
        )
      }
      const disabled: WebhookRecord[] = []
      if (outcomes.length > 0) {
        // The attempt happened either way: it is recorded even when the lease
        // was lost, but only the lease holder moves the delivery on.
        await c.query(attemptInsert(this.t.attempts, 1), attemptColumns(outcomes.map((o) => ({ delivery_id: o.delivery_id, ...o.attempt }))))
        const { rows: owned } = await c.query<{ id: string; webhook_id: string }>(
          `UPDATE ${this.t.deliveries} d SET status = v.status, lease_token = NULL,
             attempt_count = attempt_count + 1, cycle_attempts = cycle_attempts + 1,
             next_attempt_at = CASE WHEN v.next IS NOT NULL AND ${enabled} THEN v.next ELSE NULL END
           FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[]) AS v(id, token, status, next)
           WHERE d.id = v.id AND d.lease_token = v.token AND d.status = 'delivering'
           RETURNING d.id, d.webhook_id`,
          [
            outcomes.map((o) => o.delivery_id),
            outcomes.map((o) => o.leaseToken),
            outcomes.map((o) => o.status),
            outcomes.map((o) => (o.status === 'pending' ? o.next_attempt_at : null)),
          ],
        )
        const ownedIds = new Map(owned.map((r) => [r.id, r.webhook_id]))
        const lost = outcomes.filter((o) => !ownedIds.has(o.delivery_id)).map((o) => o.delivery_id)
        if (lost.length > 0) {
          await c.query(`UPDATE ${this.t.deliveries} SET attempt_count = attempt_count + 1 WHERE id = ANY($1::text[])`, [lost])
        }
        for (const o of outcomes) {
          const webhookId = ownedIds.get(o.delivery_id)
          if (webhookId === undefined || o.disableWebhook === null) continue
          const { rows } = await c.query<WebhookRow>(
            `UPDATE ${this.t.webhooks} SET enabled = false, disabled_reason = $1, updated_at = $2 WHERE id = $3 AND enabled RETURNING *`,
            [o.disableWebhook, o.now, webhookId],
          )
          if (rows[0]) {
            await this.park(c, webhookId)
            disabled.push(toWebhook(rows[0]))
          }
        }
      }
      if (released.length > 0 || outcomes.some((o) => o.status === 'pending')) await this.notify(c)
      return { disabled }
    })
  }

  async restartDelivery(id: string, now: number): Promise<StoredDelivery | null | 'busy'> {
    return this.transaction(async (c) => {
      const { rows } = await c.query<DeliveryRow>(`SELECT ${DELIVERY_COLUMNS} FROM ${this.t.deliveries} WHERE id = $1 FOR UPDATE`, [id])
      if (!rows[0]) return null
      if (rows[0].status === 'delivering') return 'busy'
      const { rows: restarted } = await c.query<DeliveryRow>(
        `UPDATE ${this.t.deliveries} SET status = 'pending', cycle_attempts = 0, lease_token = NULL, next_attempt_at = $1
         WHERE id = $2 RETURNING ${DELIVERY_COLUMNS}`,
        [now, id],
      )
      await this.notify(c)
      return (await this.withAttempts(c, restarted))[0] ?? null
    })
  }

  // --- helpers ------------------------------------------------------------------

  private park(c: Queryable, webhookId: string): Promise<unknown> {
    return c.query(
      `UPDATE ${this.t.deliveries} SET next_attempt_at = NULL
       WHERE webhook_id = $1 AND status = 'pending' AND next_attempt_at IS NOT NULL`,
      [webhookId],
    )
  }

  /** Sent when the transaction commits; every watching instance looks for work. */
  private notify(c: Queryable): Promise<unknown> {
    return c.query('SELECT pg_notify($1, $2)', [this.channel, ''])
  }

  private async withAttempts(c: Queryable, rows: DeliveryRow[]): Promise<StoredDelivery[]> {
    if (rows.length === 0) return []
    const { rows: attempts } = await c.query<AttemptRow>(
      `SELECT delivery_id, attempt, started_at, duration_ms, status_code, error, response_body
       FROM ${this.t.attempts} WHERE delivery_id = ANY($1::text[]) ORDER BY id`,
      [rows.map((r) => r.id)],
    )
    const byDelivery = new Map<string, AttemptRecord[]>()
    for (const { delivery_id, ...a } of attempts) {
      let list = byDelivery.get(delivery_id)
      if (!list) byDelivery.set(delivery_id, (list = []))
      list.push({ ...a, started_at: Number(a.started_at) })
    }
    return rows.map((row) => toStored(row, byDelivery.get(row.id) ?? []))
  }

  private async transaction<T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    await this.init()
    const client = await this.pool.connect()
    try {
      await client.query('BEGIN')
      const result = await fn(client)
      await client.query('COMMIT')
      return result
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined)
      throw error
    } finally {
      client.release()
    }
  }

  private init(): Promise<void> {
    this.ready ??= this.migrate().catch((error: unknown) => {
      this.ready = null // a later call tries again (the server may have been down)
      throw error
    })
    return this.ready
  }

  private async migrate(): Promise<void> {
    const client = await this.pool.connect()
    try {
      await client.query('BEGIN')
      // Instances starting together must not both run the same migration.
      await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`agno-events:${this.schema}`])
      await client.query(`CREATE SCHEMA IF NOT EXISTS "${this.schema}"`)
      await client.query(`CREATE TABLE IF NOT EXISTS ${this.t.version} (version INTEGER NOT NULL)`)
      const { rows } = await client.query<{ version: number }>(`SELECT version FROM ${this.t.version}`)
      const version = rows[0]?.version ?? 0
      if (version > PG_MIGRATIONS.length) {
        throw new AgnoEventsError(
          'store_schema_newer',
          `The database schema is version ${version}; this agno-events knows versions up to ${PG_MIGRATIONS.length}`,
        )
      }
      if (version < PG_MIGRATIONS.length) {
        await client.query(`SET LOCAL search_path TO "${this.schema}"`)
        for (let v = version; v < PG_MIGRATIONS.length; v++) await client.query(PG_MIGRATIONS[v] as string)
        if (rows.length === 0) await client.query(`INSERT INTO ${this.t.version} (version) VALUES ($1)`, [PG_MIGRATIONS.length])
        else await client.query(`UPDATE ${this.t.version} SET version = $1`, [PG_MIGRATIONS.length])
      }
      await client.query('COMMIT')
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined)
      throw error
    } finally {
      client.release()
    }
  }
}

/** `INSERT INTO attempts ... FROM unnest(...)` with its seven array parameters from `$first`. */
function attemptInsert(table: string, first: number): string {
  const p = (i: number) => `$${first + i}`
  return `INSERT INTO ${table} (delivery_id, attempt, started_at, duration_ms, status_code, error, response_body)
    SELECT * FROM unnest(${p(0)}::text[], ${p(1)}::int[], ${p(2)}::bigint[], ${p(3)}::int[], ${p(4)}::int[], ${p(5)}::text[], ${p(6)}::text[])`
}

function attemptColumns(attempts: ReadonlyArray<AttemptRecord & { delivery_id: string }>): unknown[] {
  return [
    attempts.map((a) => a.delivery_id),
    attempts.map((a) => a.attempt),
    attempts.map((a) => a.started_at),
    attempts.map((a) => Math.round(a.duration_ms)),
    attempts.map((a) => a.status_code),
    attempts.map((a) => a.error),
    attempts.map((a) => a.response_body),
  ]
}

function webhookParams(w: WebhookRecord): unknown[] {
  return [
    w.id,
    w.url,
    JSON.stringify(w.events),
    w.secret,
    JSON.stringify(w.headers),
    w.enabled,
    w.owner_id,
    w.description,
    w.created_at,
    w.updated_at,
    w.disabled_reason,
  ]
}

function toWebhook(row: WebhookRow): StoredWebhook {
  return {
    seq: Number(row.seq),
    id: row.id,
    url: row.url,
    events: row.events,
    secret: row.secret,
    headers: row.headers,
    enabled: row.enabled,
    owner_id: row.owner_id,
    description: row.description,
    created_at: Number(row.created_at),
    updated_at: Number(row.updated_at),
    disabled_reason: row.disabled_reason,
  }
}

function toStored(row: DeliveryRow, attempts: AttemptRecord[]): StoredDelivery {
  return {
    seq: Number(row.seq),
    id: row.id,
    webhook_id: row.webhook_id,
    event: row.event as StoredDelivery['event'],
    body: row.body,
    status: row.status as DeliveryStatus,
    next_attempt_at: row.next_attempt_at === null ? null : Number(row.next_attempt_at),
    created_at: Number(row.created_at),
    test: row.test,
    attempts,
    cycle_attempts: row.cycle_attempts,
  }
}

function toQueued(row: DeliveryRow): QueuedDelivery {
  return {
    id: row.id,
    webhook_id: row.webhook_id,
    event: row.event as QueuedDelivery['event'],
    body: row.body,
    created_at: Number(row.created_at),
    test: row.test,
    attempt_count: row.attempt_count,
    cycle_attempts: row.cycle_attempts,
  }
}
