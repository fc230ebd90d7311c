import type { EventType } from '../events/catalog.js'

// The storage contract. It is async and narrow so that the memory store, the
// SQLite store and a server database later can all implement it, and every
// method that writes does so atomically. Times are milliseconds since the
// epoch; the dispatcher turns them into ISO strings for its callers.

/** A webhook as stored, secret included. Never returned by the public API as is. */
export interface WebhookRecord {
  id: string
  url: string
  /** Subscribed event types, or `['*']` for all. */
  events: readonly (EventType | '*')[]
  secret: string
  headers: Readonly<Record<string, string>>
  enabled: boolean
  /** The principal that registered it through the API, or null when registered in code. */
  owner_id: string | null
  description: string | null
  created_at: number
  updated_at: number
  disabled_reason: string | null
}

/** A stored webhook with its insertion order, which is what list cursors follow. */
export interface StoredWebhook extends WebhookRecord {
  seq: number
}

/** Fields an update may change. */
export type WebhookChanges = Partial<
  Pick<WebhookRecord, 'url' | 'events' | 'secret' | 'headers' | 'enabled' | 'description' | 'disabled_reason'>
>

/** `pending`: waiting for its next attempt (or parked while its webhook is disabled); `delivering`: claimed. */
export type DeliveryStatus = 'pending' | 'delivering' | 'succeeded' | 'failed' | 'cancelled'

/** Every delivery status. */
export const DELIVERY_STATUSES: readonly DeliveryStatus[] = ['pending', 'delivering', 'succeeded', 'failed', 'cancelled']

/** One HTTP attempt of a delivery. */
export interface AttemptRecord {
  /** 1-based, counting every attempt of the delivery. */
  attempt: number
  started_at: number
  duration_ms: number
  status_code: number | null
  error: string | null
  /** At most 4 KiB of the response body. */
  response_body: string | null
}

/** A delivery as the dispatcher creates it. */
export interface NewDelivery {
  id: string
  webhook_id: string
  event: EventType
  /** The exact bytes that are signed and sent. */
  body: string
  status: DeliveryStatus
  /** When the next attempt is due, or null when none is. */
  next_attempt_at: number | null
  created_at: number
  test: boolean
  /** Attempts already made (test sends are recorded complete). */
  attempts: readonly AttemptRecord[]
}

/** A delivery as stored. */
export interface StoredDelivery extends NewDelivery {
  seq: number
  /** Attempts made since the current attempt cycle began (a redelivery or re-enable starts one). */
  cycle_attempts: number
}

/** What an attempt needs of a claimed delivery (its history is not loaded). */
export interface QueuedDelivery {
  id: string
  webhook_id: string
  event: EventType
  body: string
  created_at: number
  test: boolean
  /** Attempts recorded so far; the next one is `attempt_count + 1`. */
  attempt_count: number
  cycle_attempts: number
}

/** What the scheduler asks for: due work, within its concurrency limits. */
export interface ClaimRequest {
  now: number
  /** At most this many deliveries in all. */
  limit: number
  /** At most this many in flight per webhook, counting `inFlight`. */
  perWebhookLimit: number
  /** Attempts this dispatcher already has in flight, per webhook id. */
  inFlight: ReadonlyMap<string, number>
  /** The claimed rows stay invisible to other claims until `now + leaseMs`. */
  leaseMs: number
  /** Identifies this claim; completing an attempt requires it (fencing). */
  leaseToken: string
}

/** A claimed delivery and the webhook it goes to, as of the claim. */
export interface ClaimedDelivery {
  delivery: QueuedDelivery
  webhook: WebhookRecord
}

/** Due work handed to this dispatcher, and when to look again. */
export interface ClaimResult {
  claimed: ClaimedDelivery[]
  /**
   * The earliest time anything left might become claimable by this caller:
   * a scheduled retry, or another claim's lease running out. Work held back
   * only by `perWebhookLimit` is not counted (the caller looks again when one
   * of its attempts ends). Null when there is nothing.
   */
  nextDueAt: number | null
}

/**
 * What to record after one attempt: `succeeded` / `failed` end the delivery;
 * `pending` schedules the next attempt at `next_attempt_at` (parked instead
 * if the webhook is disabled by then).
 */
export interface AttemptOutcome {
  status: 'succeeded' | 'failed' | 'pending'
  delivery_id: string
  leaseToken: string
  attempt: AttemptRecord
  next_attempt_at: number | null
  /** Disable the webhook with this reason (its unfinished deliveries are parked). */
  disableWebhook: string | null
  now: number
}

/** Puts a claim back, due at `now`, without counting an attempt (the dispatcher was closing). */
export interface ReleasedClaim {
  status: 'released'
  delivery_id: string
  leaseToken: string
  now: number
}

/** What `completeAttempts` records, one per claimed delivery. */
export type AttemptCompletion = AttemptOutcome | ReleasedClaim

/** What completing a batch changed beyond the deliveries themselves. */
export interface CompletionResult {
  /** Webhooks this batch disabled (each exactly once, even across processes). */
  disabled: WebhookRecord[]
}

/**
 * Storage for webhooks, deliveries and the delivery queue.
 * `MemoryWebhookStore` and `SqliteWebhookStore` implement it and pass the same
 * contract suite (`test/store-contract.ts`).
 */
export interface WebhookStore {
  /** True when other processes may write to the same data, so the scheduler re-checks it now and then. */
  readonly shared: boolean

  insertWebhook(webhook: WebhookRecord): Promise<StoredWebhook>
  getWebhook(id: string): Promise<StoredWebhook | null>
  /** Oldest first, `seq > after`. `owner_id` undefined: all owners. */
  listWebhooks(query: { owner_id?: string | null; after?: number; limit: number }): Promise<StoredWebhook[]>
  /** Enabled webhooks, for fan-out. */
  listEnabledWebhooks(): Promise<StoredWebhook[]>
  /**
   * Applies `changes`. Disabling parks the webhook's pending deliveries;
   * enabling clears `disabled_reason` and makes parked ones due at `now`, with
   * a fresh attempt cycle. Null when there is no such webhook.
   */
  updateWebhook(id: string, changes: WebhookChanges, now: number): Promise<StoredWebhook | null>
  /** Deletes the webhook and cancels its unfinished deliveries (kept, for the record). */
  deleteWebhook(id: string): Promise<boolean>

  /** Inserts deliveries, all or none. */
  insertDeliveries(deliveries: readonly NewDelivery[]): Promise<void>
  getDelivery(id: string): Promise<StoredDelivery | null>
  /** Newest first, `seq < before`. */
  listDeliveries(query: {
    webhook_id: string
    status?: DeliveryStatus
    before?: number
    limit: number
  }): Promise<StoredDelivery[]>

  /** Claims due deliveries of enabled webhooks, earliest due first, within the limits. */
  claimDue(request: ClaimRequest): Promise<ClaimResult>
  /** Records attempts and their outcomes, all or none. */
  completeAttempts(completions: readonly AttemptCompletion[]): Promise<CompletionResult>
  /**
   * Starts a fresh attempt cycle for a delivery that is not being attempted:
   * due at `now`, same id and body. Null when there is no such delivery;
   * `'busy'` when it is being attempted right now.
   */
  restartDelivery(id: string, now: number): Promise<StoredDelivery | null | 'busy'>
  /**
   * Optional, for stores shared between processes: calls `onWork` when any
   * of them adds work or schedules a retry, so the dispatcher looks at once
   * instead of at its next poll. Resolves with a function that stops.
   */
  watch?(onWork: () => void): Promise<() => Promise<void>>
}
