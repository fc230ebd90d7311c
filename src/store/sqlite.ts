// The `agno-events/sqlite` entry: the only module that loads better-sqlite3.
import Database from 'better-sqlite3'
import type BetterSqlite3 from 'better-sqlite3'
import { AgnoEventsError, StoreBusyError } from '../errors.js'
import { arrayCursor, selectDue } from './claim.js'
import { MIGRATIONS } from './sqlite-migrations.js'
import type {
  AttemptCompletion,
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

export { StoreBusyError }

/** Options of {@link SqliteWebhookStore}. */
export interface SqliteWebhookStoreOptions {
  /** The database file (created when missing). Give this or `database`. */
  filename?: string
  /** An open better-sqlite3 database; the store does not close it. */
  database?: BetterSqlite3.Database
  /**
   * How long a write waits for another connection's lock before failing with
   * {@link StoreBusyError}. better-sqlite3 waits synchronously, so this also
   * bounds how long the event loop can be held. Default 5000.
   */
  busyTimeoutMs?: number
  /**
   * `NORMAL` (default): a committed write survives the process crashing;
   * an OS crash or power loss may lose the last commits. `FULL`: those too,
   * at the cost of an fsync per commit.
   */
  synchronous?: 'NORMAL' | 'FULL'
}

interface WebhookRow {
  seq: number
  id: string
  url: string
  events: string
  secret: string
  headers: string
  enabled: number
  owner_id: string | null
  description: string | null
  created_at: number
  updated_at: number
  disabled_reason: string | null
}

interface DeliveryRow {
  seq: number
  id: string
  webhook_id: string
  event: string
  body: string
  status: string
  next_attempt_at: number | null
  created_at: number
  test: number
  attempt_count: number
  cycle_attempts: number
  lease_token: string | null
}

type AttemptRow = AttemptRecord & { delivery_id: string }

/**
 * Webhooks, deliveries and the delivery queue in one SQLite file (WAL), so a
 * restart or a crash loses no accepted event: pending retries resume at their
 * stored times and interrupted attempts are made again. Several processes can
 * share the file: claims carry leases, so no delivery is attempted by two of
 * them at once.
 *
 * @example
 * ```ts
 * import { SqliteWebhookStore } from 'agno-events/sqlite'
 * const store = new SqliteWebhookStore({ filename: './webhooks.db' })
 * const dispatcher = new WebhookDispatcher({ bus, store })
 * ```
 */
export class SqliteWebhookStore implements WebhookStore {
  readonly shared = true
  /** The underlying better-sqlite3 connection. */
  readonly db: BetterSqlite3.Database
  private readonly ownsDatabase: boolean
  private readonly busyTimeoutMs: number
  private readonly sql: ReturnType<typeof prepareStatements>

  constructor(options: SqliteWebhookStoreOptions | BetterSqlite3.Database) {
    const opts: SqliteWebhookStoreOptions = isDatabase(options) ? { database: options } : options
    if (!opts.database && !opts.filename) {
      throw new TypeError('SqliteWebhookStore needs a filename or an open better-sqlite3 database')
    }
    this.busyTimeoutMs = opts.busyTimeoutMs ?? 5000
    this.ownsDatabase = !opts.database
    this.db = opts.database ?? new Database(opts.filename as string, { timeout: this.busyTimeoutMs })
    try {
      this.db.pragma(`busy_timeout = ${Math.max(0, Math.floor(this.busyTimeoutMs))}`)
      this.db.pragma('journal_mode = WAL')
      this.db.pragma(`synchronous = ${opts.synchronous === 'FULL' ? 'FULL' : 'NORMAL'}`)
      this.guard(() => migrate(this.db))
      this.sql = prepareStatements(this.db)
    } catch (error) {
      if (this.ownsDatabase) this.db.close()
      throw error
    }
  }

  /** Closes the database if the store opened it. */
  close(): void {
    if (this.ownsDatabase && this.db.open) this.db.close()
  }

  async insertWebhook(webhook: WebhookRecord): Promise<StoredWebhook> {
    return this.write(() => {
      const row = this.sql.insertWebhook.get(webhookParams(webhook)) as WebhookRow
      return toWebhook(row)
    })
  }

  async getWebhook(id: string): Promise<StoredWebhook | null> {
    return this.guard(() => {
      const row = this.sql.getWebhook.get(id) as WebhookRow | undefined
      return row ? toWebhook(row) : null
    })
  }

  async listWebhooks(query: { owner_id?: string | null; after?: number; limit: number }): Promise<StoredWebhook[]> {
    return this.guard(() => {
      const after = query.after ?? 0
      const rows =
        query.owner_id === undefined
          ? this.sql.listWebhooks.all(after, query.limit)
          : query.owner_id === null
            ? this.sql.listWebhooksWithoutOwner.all(after, query.limit)
            : this.sql.listWebhooksOfOwner.all(query.owner_id, after, query.limit)
      return (rows as WebhookRow[]).map(toWebhook)
    })
  }

  async listEnabledWebhooks(): Promise<StoredWebhook[]> {
    return this.guard(() => (this.sql.enabledWebhooks.all() as WebhookRow[]).map(toWebhook))
  }

  async updateWebhook(id: string, changes: WebhookChanges, now: number): Promise<StoredWebhook | null> {
    return this.write(() => {
      const current = this.sql.getWebhook.get(id) as WebhookRow | undefined
      if (!current) return null
      const before = toWebhook(current)
      const next: WebhookRecord = { ...before, updated_at: now }
      for (const [key, value] of Object.entries(changes)) {
        if (value !== undefined) (next as unknown as Record<string, unknown>)[key] = value
      }
      if (next.enabled && !before.enabled) {
        next.disabled_reason = null
        this.sql.unpark.run(now, id)
      } else if (!next.enabled && before.enabled) {
        this.sql.park.run(id)
      }
      this.sql.updateWebhook.run(webhookParams(next))
      return toWebhook(this.sql.getWebhook.get(id) as WebhookRow)
    })
  }

  async deleteWebhook(id: string): Promise<boolean> {
    return this.write(() => {
      if (!this.sql.getWebhook.get(id)) return false
      this.sql.cancelUnfinished.run(id)
      this.sql.deleteWebhook.run(id)
      return true
    })
  }

  async insertDeliveries(deliveries: readonly NewDelivery[]): Promise<void> {
    if (deliveries.length === 0) return
    this.write(() => {
      for (const d of deliveries) {
        // Positional parameters: the hot path of every emitted event.
        this.sql.insertDelivery.run(
          d.id,
          d.webhook_id,
          d.event,
          d.body,
          d.status,
          d.next_attempt_at,
          d.created_at,
          d.test ? 1 : 0,
          d.attempts.length,
          d.attempts.length,
        )
        for (const a of d.attempts) this.sql.insertAttempt.run({ delivery_id: d.id, ...a })
      }
    })
  }

  async getDelivery(id: string): Promise<StoredDelivery | null> {
    return this.guard(() => {
      const row = this.sql.getDelivery.get(id) as DeliveryRow | undefined
      return row ? this.withAttempts([row])[0] ?? null : null
    })
  }

  async listDeliveries(query: {
    webhook_id: string
    status?: DeliveryStatus
    before?: number
    limit: number
  }): Promise<StoredDelivery[]> {
    return this.guard(() => {
      const before = query.before ?? Number.MAX_SAFE_INTEGER
      const rows =
        query.status === undefined
          ? this.sql.listDeliveries.all(query.webhook_id, before, query.limit)
          : this.sql.listDeliveriesByStatus.all(query.webhook_id, query.status, before, query.limit)
      return this.withAttempts(rows as DeliveryRow[])
    })
  }

  async claimDue(request: ClaimRequest): Promise<ClaimResult> {
    return this.write(() => {
      // One index seek per enabled webhook, never a scan of the backlog: a
      // webhook with a deep queue costs a claim no more than an idle one.
      const webhooks = (this.sql.enabledWebhookIds.all() as Array<{ id: string }>).map(({ id }) => {
        const room = Math.max(0, Math.min(request.perWebhookLimit - (request.inFlight.get(id) ?? 0), request.limit))
        const rows = this.sql.dueOfWebhook.all(id, room + 1) as Array<{ seq: number; next_attempt_at: number }>
        return [id, arrayCursor(rows.map((row) => ({ at: row.next_attempt_at, seq: row.seq, value: id })))] as const
      })
      const { chosen, nextDueAt } = selectDue(request, webhooks)
      const leaseEnd = request.now + request.leaseMs
      // Only the webhooks that get work are read in full.
      const records = new Map<string, StoredWebhook>()
      const claimed: ClaimedDelivery[] = chosen.map(({ seq, value: webhookId }) => {
        let webhook = records.get(webhookId)
        if (!webhook) records.set(webhookId, (webhook = toWebhook(this.sql.getWebhook.get(webhookId) as WebhookRow)))
        const row = this.sql.claim.get(request.leaseToken, leaseEnd, seq) as DeliveryRow
        return { delivery: toQueued(row), webhook }
      })
      return { claimed, nextDueAt }
    })
  }

  async completeAttempts(completions: readonly AttemptCompletion[]): Promise<CompletionResult> {
    return this.write(() => {
      const disabled: WebhookRecord[] = []
      for (const c of completions) {
        if (c.status === 'released') {
          this.sql.release.run({ now: c.now, id: c.delivery_id, token: c.leaseToken })
          continue
        }
        // The attempt happened either way: it is recorded even when the lease
        // was lost, but only the lease holder moves the delivery on.
        this.sql.insertAttempt.run({ delivery_id: c.delivery_id, ...c.attempt })
        const owned =
          this.sql.complete.run({
            id: c.delivery_id,
            token: c.leaseToken,
            status: c.status,
            next: c.status === 'pending' ? c.next_attempt_at : null,
          }).changes > 0
        // `complete` counts the attempt; a lost lease still counts it here.
        if (!owned) this.sql.countAttempt.run(c.delivery_id)
        if (owned && c.disableWebhook !== null) {
          const row = this.sql.webhookOfDelivery.get(c.delivery_id) as { webhook_id: string } | undefined
          if (row && this.sql.disableWebhook.run(c.disableWebhook, c.now, row.webhook_id).changes > 0) {
            this.sql.park.run(row.webhook_id)
            disabled.push(toWebhook(this.sql.getWebhook.get(row.webhook_id) as WebhookRow))
          }
        }
      }
      return { disabled }
    })
  }

  async restartDelivery(id: string, now: number): Promise<StoredDelivery | null | 'busy'> {
    return this.write(() => {
      const row = this.sql.getDelivery.get(id) as DeliveryRow | undefined
      if (!row) return null
      if (row.status === 'delivering') return 'busy'
      this.sql.restart.run(now, id)
      return this.withAttempts([this.sql.getDelivery.get(id) as DeliveryRow])[0] ?? null
    })
  }

  private withAttempts(rows: DeliveryRow[]): StoredDelivery[] {
    if (rows.length === 0) return []
    const attempts = this.sql.attemptsOf.all(JSON.stringify(rows.map((r) => r.id))) as AttemptRow[]
    const byDelivery = new Map<string, AttemptRecord[]>()
    for (const { delivery_id, ...attempt } of attempts) {
      let list = byDelivery.get(delivery_id)
      if (!list) byDelivery.set(delivery_id, (list = []))
      list.push(attempt)
    }
    return rows.map((row) => toStored(row, byDelivery.get(row.id) ?? []))
  }

  /** Runs `fn` in one write transaction (BEGIN IMMEDIATE: no lock upgrade can fail half way). */
  private write<T>(fn: () => T): T {
    return this.guard(() => this.db.transaction(fn).immediate())
  }

  /** Turns "database is locked" into a StoreBusyError that says what waited and for how long. */
  private guard<T>(fn: () => T): T {
    try {
      return fn()
    } catch (error) {
      const code = (error as { code?: unknown }).code
      if (typeof code === 'string' && (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED'))) {
        throw new StoreBusyError(
          `The SQLite database is locked by another connection; gave up after waiting ${this.busyTimeoutMs} ms (${code})`,
          { cause: error },
        )
      }
      throw error
    }
  }
}

function isDatabase(value: unknown): value is BetterSqlite3.Database {
  return typeof (value as { prepare?: unknown }).prepare === 'function'
}

function migrate(db: BetterSqlite3.Database): void {
  db.transaction(() => {
    // Read inside the write transaction: two processes opening a new file at
    // once must not both run the same migration.
    const version = db.pragma('user_version', { simple: true }) as number
    if (version > MIGRATIONS.length) {
      throw new AgnoEventsError(
        'store_schema_newer',
        `The database schema is version ${version}; this agno-events knows versions up to ${MIGRATIONS.length}`,
      )
    }
    for (let v = version; v < MIGRATIONS.length; v++) db.exec(MIGRATIONS[v] as string)
    if (version !== MIGRATIONS.length) db.pragma(`user_version = ${MIGRATIONS.length}`)
  }).immediate()
}

const DELIVERY_COLUMNS = 'seq, id, webhook_id, event, body, status, next_attempt_at, created_at, test, attempt_count, cycle_attempts, lease_token'

function prepareStatements(db: BetterSqlite3.Database) {
  const webhookIsEnabled = '(SELECT enabled FROM webhooks w WHERE w.id = deliveries.webhook_id) = 1'
  return {
    insertWebhook: db.prepare(
      `INSERT INTO webhooks (id, url, events, secret, headers, enabled, owner_id, description, created_at, updated_at, disabled_reason)
       VALUES (@id, @url, @events, @secret, @headers, @enabled, @owner_id, @description, @created_at, @updated_at, @disabled_reason)
       RETURNING *`,
    ),
    updateWebhook: db.prepare(
      `UPDATE webhooks SET url = @url, events = @events, secret = @secret, headers = @headers, enabled = @enabled,
         owner_id = @owner_id, description = @description, updated_at = @updated_at, disabled_reason = @disabled_reason
       WHERE id = @id`,
    ),
    getWebhook: db.prepare('SELECT * FROM webhooks WHERE id = ?'),
    listWebhooks: db.prepare('SELECT * FROM webhooks WHERE seq > ? ORDER BY seq LIMIT ?'),
    listWebhooksOfOwner: db.prepare('SELECT * FROM webhooks WHERE owner_id = ? AND seq > ? ORDER BY seq LIMIT ?'),
    listWebhooksWithoutOwner: db.prepare('SELECT * FROM webhooks WHERE owner_id IS NULL AND seq > ? ORDER BY seq LIMIT ?'),
    enabledWebhooks: db.prepare('SELECT * FROM webhooks WHERE enabled = 1 ORDER BY seq'),
    enabledWebhookIds: db.prepare('SELECT id FROM webhooks WHERE enabled = 1 ORDER BY seq'),
    deleteWebhook: db.prepare('DELETE FROM webhooks WHERE id = ?'),
    disableWebhook: db.prepare(
      'UPDATE webhooks SET enabled = 0, disabled_reason = ?, updated_at = ? WHERE id = ? AND enabled = 1',
    ),
    // A disabled webhook's pending deliveries wait, unscheduled, until it is enabled again.
    park: db.prepare(
      "UPDATE deliveries SET next_attempt_at = NULL WHERE webhook_id = ? AND status = 'pending' AND next_attempt_at IS NOT NULL",
    ),
    unpark: db.prepare(
      `UPDATE deliveries SET next_attempt_at = ?, cycle_attempts = 0
       WHERE webhook_id = ? AND status = 'pending' AND next_attempt_at IS NULL`,
    ),
    cancelUnfinished: db.prepare(
      `UPDATE deliveries SET status = 'cancelled', next_attempt_at = NULL, lease_token = NULL
       WHERE webhook_id = ? AND status IN ('pending', 'delivering')`,
    ),
    insertDelivery: db.prepare(
      `INSERT INTO deliveries (id, webhook_id, event, body, status, next_attempt_at, created_at, test, attempt_count, cycle_attempts)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    insertAttempt: db.prepare(
      `INSERT INTO attempts (delivery_id, attempt, started_at, duration_ms, status_code, error, response_body)
       VALUES (@delivery_id, @attempt, @started_at, @duration_ms, @status_code, @error, @response_body)`,
    ),
    getDelivery: db.prepare(`SELECT ${DELIVERY_COLUMNS} FROM deliveries WHERE id = ?`),
    listDeliveries: db.prepare(
      `SELECT ${DELIVERY_COLUMNS} FROM deliveries WHERE webhook_id = ? AND seq < ? ORDER BY seq DESC LIMIT ?`,
    ),
    listDeliveriesByStatus: db.prepare(
      `SELECT ${DELIVERY_COLUMNS} FROM deliveries WHERE webhook_id = ? AND status = ? AND seq < ? ORDER BY seq DESC LIMIT ?`,
    ),
    attemptsOf: db.prepare(
      `SELECT delivery_id, attempt, started_at, duration_ms, status_code, error, response_body FROM attempts
       WHERE delivery_id IN (SELECT value FROM json_each(?)) ORDER BY rowid`,
    ),
    webhookOfDelivery: db.prepare('SELECT webhook_id FROM deliveries WHERE id = ?'),
    dueOfWebhook: db.prepare(
      `SELECT seq, next_attempt_at FROM deliveries INDEXED BY deliveries_due
       WHERE webhook_id = ? AND next_attempt_at IS NOT NULL ORDER BY next_attempt_at, seq LIMIT ?`,
    ),
    claim: db.prepare(
      `UPDATE deliveries SET status = 'delivering', lease_token = ?, next_attempt_at = ? WHERE seq = ?
       RETURNING ${DELIVERY_COLUMNS}`,
    ),
    countAttempt: db.prepare('UPDATE deliveries SET attempt_count = attempt_count + 1 WHERE id = ?'),
    complete: db.prepare(
      `UPDATE deliveries SET status = @status, lease_token = NULL,
         attempt_count = attempt_count + 1, cycle_attempts = cycle_attempts + 1,
         next_attempt_at = CASE WHEN @next IS NOT NULL AND ${webhookIsEnabled} THEN @next ELSE NULL END
       WHERE id = @id AND lease_token = @token AND status = 'delivering'`,
    ),
    release: db.prepare(
      `UPDATE deliveries SET status = 'pending', lease_token = NULL,
         next_attempt_at = CASE WHEN ${webhookIsEnabled} THEN @now ELSE NULL END
       WHERE id = @id AND lease_token = @token AND status = 'delivering'`,
    ),
    restart: db.prepare(
      `UPDATE deliveries SET status = 'pending', cycle_attempts = 0, lease_token = NULL, next_attempt_at = ? WHERE id = ?`,
    ),
  }
}

function webhookParams(w: WebhookRecord): Record<string, unknown> {
  return {
    id: w.id,
    url: w.url,
    events: JSON.stringify(w.events),
    secret: w.secret,
    headers: JSON.stringify(w.headers),
    enabled: w.enabled ? 1 : 0,
    owner_id: w.owner_id,
    description: w.description,
    created_at: w.created_at,
    updated_at: w.updated_at,
    disabled_reason: w.disabled_reason,
  }
}

function toWebhook(row: WebhookRow): StoredWebhook {
  return {
    seq: row.seq,
    id: row.id,
    url: row.url,
    events: JSON.parse(row.events) as StoredWebhook['events'],
    secret: row.secret,
    headers: JSON.parse(row.headers) as Record<string, string>,
    enabled: row.enabled === 1,
    owner_id: row.owner_id,
    description: row.description,
    created_at: row.created_at,
    updated_at: row.updated_at,
    disabled_reason: row.disabled_reason,
  }
}

function toStored(row: DeliveryRow, attempts: AttemptRecord[]): StoredDelivery {
  return {
    seq: row.seq,
    id: row.id,
    webhook_id: row.webhook_id,
    event: row.event as StoredDelivery['event'],
    body: row.body,
    status: row.status as DeliveryStatus,
    next_attempt_at: row.next_attempt_at,
    created_at: row.created_at,
    test: row.test === 1,
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
    created_at: row.created_at,
    test: row.test === 1,
    attempt_count: row.attempt_count,
    cycle_attempts: row.cycle_attempts,
  }
}
