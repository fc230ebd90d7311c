import type {
  AttemptCompletion,
  AttemptRecord,
  ClaimedDelivery,
  ClaimRequest,
  ClaimResult,
  CompletionResult,
  DeliveryStatus,
  NewDelivery,
  StoredDelivery,
  StoredWebhook,
  WebhookChanges,
  WebhookRecord,
  WebhookStore,
} from './types.js'
import { selectDue, type DueCursor } from './claim.js'

interface Row {
  seq: number
  id: string
  webhook_id: string
  event: NewDelivery['event']
  body: string
  status: DeliveryStatus
  next_attempt_at: number | null
  created_at: number
  test: boolean
  attempts: AttemptRecord[]
  cycle_attempts: number
  lease_token: string | null
  /** Bumped whenever next_attempt_at changes; heap entries of older versions are stale. */
  version: number
}

interface DueEntry {
  at: number
  seq: number
  version: number
  row: Row
}

// A binary min-heap on (at, seq). Entries are never removed in place: a row
// that is rescheduled gets a new entry and the old one is dropped as stale
// when it reaches the top.
class DueHeap {
  private readonly items: DueEntry[] = []

  push(entry: DueEntry): void {
    const items = this.items
    let i = items.length
    items.push(entry)
    while (i > 0) {
      const parent = (i - 1) >> 1
      const above = items[parent] as DueEntry
      if (!before(entry, above)) break
      items[i] = above
      i = parent
    }
    items[i] = entry
  }

  /** The earliest live entry, dropping stale ones on the way. */
  peek(): DueEntry | undefined {
    for (;;) {
      const top = this.items[0]
      if (!top || isLive(top)) return top
      this.pop()
    }
  }

  pop(): DueEntry | undefined {
    const items = this.items
    const top = items[0]
    const last = items.pop()
    const size = items.length
    if (size === 0 || !last) return top
    let i = 0
    for (;;) {
      const l = 2 * i + 1
      if (l >= size) break
      const r = l + 1
      const child = r < size && before(items[r] as DueEntry, items[l] as DueEntry) ? r : l
      const below = items[child] as DueEntry
      if (!before(below, last)) break
      items[i] = below
      i = child
    }
    items[i] = last
    return top
  }
}

const before = (a: DueEntry, b: DueEntry) => a.at < b.at || (a.at === b.at && a.seq < b.seq)
const isLive = (e: DueEntry) => e.version === e.row.version && e.row.next_attempt_at === e.at

/**
 * Keeps webhooks and deliveries in process memory: nothing survives a
 * restart. For tests, development and hosts that accept losing pending
 * retries; use `SqliteWebhookStore` otherwise.
 *
 * @example
 * ```ts
 * const dispatcher = new WebhookDispatcher({ bus, store: new MemoryWebhookStore() })
 * ```
 */
export class MemoryWebhookStore implements WebhookStore {
  readonly shared = false
  private readonly webhooks = new Map<string, StoredWebhook>()
  private readonly deliveries = new Map<string, Row>()
  private readonly byWebhook = new Map<string, Row[]>()
  private readonly due = new Map<string, DueHeap>()
  private webhookSeq = 0
  private deliverySeq = 0

  async insertWebhook(webhook: WebhookRecord): Promise<StoredWebhook> {
    if (this.webhooks.has(webhook.id)) throw new Error(`A webhook with id "${webhook.id}" already exists`)
    const stored = { ...copyWebhook(webhook), seq: ++this.webhookSeq }
    this.webhooks.set(stored.id, stored)
    return copyWebhook(stored)
  }

  async getWebhook(id: string): Promise<StoredWebhook | null> {
    const hook = this.webhooks.get(id)
    return hook ? copyWebhook(hook) : null
  }

  async listWebhooks(query: { owner_id?: string | null; after?: number; limit: number }): Promise<StoredWebhook[]> {
    const out: StoredWebhook[] = []
    for (const hook of this.webhooks.values()) {
      if (out.length >= query.limit) break
      if (hook.seq <= (query.after ?? 0)) continue
      if (query.owner_id !== undefined && hook.owner_id !== query.owner_id) continue
      out.push(copyWebhook(hook))
    }
    return out
  }

  async listEnabledWebhooks(): Promise<StoredWebhook[]> {
    return [...this.webhooks.values()].filter((h) => h.enabled).map(copyWebhook)
  }

  async updateWebhook(id: string, changes: WebhookChanges, now: number): Promise<StoredWebhook | null> {
    const hook = this.webhooks.get(id)
    if (!hook) return null
    const wasEnabled = hook.enabled
    Object.assign(hook, copyChanges(changes), { updated_at: now })
    if (hook.enabled && !wasEnabled) {
      hook.disabled_reason = null
      this.unpark(id, now)
    } else if (!hook.enabled && wasEnabled) {
      this.park(id)
    }
    return copyWebhook(hook)
  }

  async deleteWebhook(id: string): Promise<boolean> {
    if (!this.webhooks.delete(id)) return false
    for (const row of this.byWebhook.get(id) ?? []) {
      if (row.status === 'pending' || row.status === 'delivering') {
        row.status = 'cancelled'
        row.lease_token = null
        this.reschedule(row, null)
      }
    }
    this.due.delete(id)
    return true
  }

  async insertDeliveries(deliveries: readonly NewDelivery[]): Promise<void> {
    const ids = new Set<string>()
    for (const d of deliveries) {
      if (this.deliveries.has(d.id) || ids.has(d.id)) throw new Error(`A delivery with id "${d.id}" already exists`)
      ids.add(d.id)
    }
    for (const d of deliveries) {
      const row: Row = {
        seq: ++this.deliverySeq,
        id: d.id,
        webhook_id: d.webhook_id,
        event: d.event,
        body: d.body,
        status: d.status,
        next_attempt_at: d.next_attempt_at,
        created_at: d.created_at,
        test: d.test,
        attempts: d.attempts.map((a) => ({ ...a })),
        cycle_attempts: d.attempts.length,
        lease_token: null,
        version: 0,
      }
      this.deliveries.set(row.id, row)
      let list = this.byWebhook.get(row.webhook_id)
      if (!list) this.byWebhook.set(row.webhook_id, (list = []))
      list.push(row)
      if (row.next_attempt_at !== null) this.schedule(row)
    }
  }

  async getDelivery(id: string): Promise<StoredDelivery | null> {
    const row = this.deliveries.get(id)
    return row ? toStored(row) : null
  }

  async listDeliveries(query: {
    webhook_id: string
    status?: DeliveryStatus
    before?: number
    limit: number
  }): Promise<StoredDelivery[]> {
    const rows = this.byWebhook.get(query.webhook_id) ?? []
    const out: StoredDelivery[] = []
    for (let i = rows.length - 1; i >= 0 && out.length < query.limit; i--) {
      const row = rows[i] as Row
      if (query.before !== undefined && row.seq >= query.before) continue
      if (query.status !== undefined && row.status !== query.status) continue
      out.push(toStored(row))
    }
    return out
  }

  async claimDue(request: ClaimRequest): Promise<ClaimResult> {
    const webhooks: Array<readonly [string, DueCursor<DueEntry>]> = []
    for (const [webhookId, heap] of this.due) {
      if (!this.webhooks.get(webhookId)?.enabled) continue
      webhooks.push([
        webhookId,
        {
          peek: () => {
            const top = heap.peek()
            return top && { at: top.at, seq: top.seq, value: top }
          },
          take: () => {
            const top = heap.pop() as DueEntry
            return { at: top.at, seq: top.seq, value: top }
          },
        },
      ])
    }
    const { chosen, leftover, nextDueAt } = selectDue(request, webhooks)
    for (const { value: entry } of leftover) this.due.get(entry.row.webhook_id)?.push(entry)
    // One copy of each webhook per claim, shared by its deliveries (as SQLite reads each once).
    const copies = new Map<string, StoredWebhook>()
    const claimed: ClaimedDelivery[] = chosen.map(({ value: { row } }) => {
      row.status = 'delivering'
      row.lease_token = request.leaseToken
      this.reschedule(row, request.now + request.leaseMs)
      let webhook = copies.get(row.webhook_id)
      if (!webhook) copies.set(row.webhook_id, (webhook = copyWebhook(this.webhooks.get(row.webhook_id) as StoredWebhook)))
      return { delivery: toQueued(row), webhook }
    })
    return { claimed, nextDueAt }
  }

  async completeAttempts(completions: readonly AttemptCompletion[]): Promise<CompletionResult> {
    const disabled: WebhookRecord[] = []
    for (const c of completions) {
      const row = this.deliveries.get(c.delivery_id)
      if (!row) continue
      const owned = row.lease_token === c.leaseToken && row.status === 'delivering'
      if (c.status === 'released') {
        if (owned) {
          row.status = 'pending'
          row.lease_token = null
          this.reschedule(row, this.webhooks.get(row.webhook_id)?.enabled ? c.now : null)
        }
        continue
      }
      // The attempt happened either way; it is recorded even when the lease
      // was lost, but only the lease holder moves the delivery on.
      row.attempts.push({ ...c.attempt })
      if (owned) {
        row.lease_token = null
        row.cycle_attempts++
        row.status = c.status
        const enabled = this.webhooks.get(row.webhook_id)?.enabled === true
        this.reschedule(row, c.status === 'pending' && enabled ? c.next_attempt_at : null)
      }
      if (owned && c.disableWebhook !== null) {
        const hook = this.webhooks.get(row.webhook_id)
        if (hook?.enabled) {
          hook.enabled = false
          hook.disabled_reason = c.disableWebhook
          hook.updated_at = c.now
          this.park(hook.id)
          disabled.push(copyWebhook(hook))
        }
      }
    }
    return { disabled }
  }

  async restartDelivery(id: string, now: number): Promise<StoredDelivery | null | 'busy'> {
    const row = this.deliveries.get(id)
    if (!row) return null
    if (row.status === 'delivering') return 'busy'
    row.status = 'pending'
    row.cycle_attempts = 0
    row.lease_token = null
    this.reschedule(row, now)
    return toStored(row)
  }

  private schedule(row: Row): void {
    if (row.next_attempt_at === null) return
    let heap = this.due.get(row.webhook_id)
    if (!heap) this.due.set(row.webhook_id, (heap = new DueHeap()))
    heap.push({ at: row.next_attempt_at, seq: row.seq, version: row.version, row })
  }

  private reschedule(row: Row, at: number | null): void {
    row.next_attempt_at = at
    row.version++
    this.schedule(row)
  }

  /** A disabled webhook's pending deliveries wait, unscheduled, until it is enabled again. */
  private park(webhookId: string): void {
    for (const row of this.byWebhook.get(webhookId) ?? []) {
      if (row.status === 'pending' && row.next_attempt_at !== null) this.reschedule(row, null)
    }
  }

  private unpark(webhookId: string, now: number): void {
    for (const row of this.byWebhook.get(webhookId) ?? []) {
      if (row.status === 'pending' && row.next_attempt_at === null) {
        row.cycle_attempts = 0
        this.reschedule(row, now)
      }
    }
  }
}

function copyWebhook<T extends WebhookRecord>(hook: T): T {
  return { ...hook, events: [...hook.events], headers: { ...hook.headers } }
}

function copyChanges(changes: WebhookChanges): WebhookChanges {
  const out: WebhookChanges = {}
  for (const [key, value] of Object.entries(changes)) {
    if (value !== undefined) (out as Record<string, unknown>)[key] = value
  }
  if (changes.events) out.events = [...changes.events]
  if (changes.headers) out.headers = { ...changes.headers }
  return out
}

function toStored(row: Row): StoredDelivery {
  return {
    id: row.id,
    webhook_id: row.webhook_id,
    event: row.event,
    body: row.body,
    status: row.status,
    next_attempt_at: row.next_attempt_at,
    created_at: row.created_at,
    test: row.test,
    attempts: row.attempts.map((a) => ({ ...a })),
    seq: row.seq,
    cycle_attempts: row.cycle_attempts,
  }
}

function toQueued(row: Row): ClaimedDelivery['delivery'] {
  return {
    id: row.id,
    webhook_id: row.webhook_id,
    event: row.event,
    body: row.body,
    created_at: row.created_at,
    test: row.test,
    attempt_count: row.attempts.length,
    cycle_attempts: row.cycle_attempts,
  }
}
