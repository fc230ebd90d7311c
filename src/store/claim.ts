import type { ClaimRequest } from './types.js'

// The claim policy, shared by every store so that they agree on it: which
// due deliveries a claim takes within the global and per-webhook limits, and
// when the caller should look again. A store supplies, per enabled webhook, a
// cursor over that webhook's live work in (due time, seq) order.

/** A delivery that is due (or whose lease ends) at `at`. */
export interface DueItem<T> {
  at: number
  seq: number
  value: T
}

/** Walks one webhook's work, earliest first. `take` consumes what `peek` showed. */
export interface DueCursor<T> {
  peek(): DueItem<T> | undefined
  take(): DueItem<T>
}

/** A cursor over work already read, in (due time, seq) order: what the SQL stores hand to `selectDue`. */
export function arrayCursor<T>(items: readonly DueItem<T>[]): DueCursor<T> {
  let i = 0
  return {
    peek: () => items[i],
    take: () => items[i++] as DueItem<T>,
  }
}

/** What to claim, what was looked at but left, and when to look again. */
export interface ClaimSelection<T> {
  chosen: DueItem<T>[]
  /** Taken from their cursors but over the global limit: the store puts them back untouched. */
  leftover: DueItem<T>[]
  nextDueAt: number | null
}

/**
 * Chooses what a claim takes: per webhook, due work up to its free slots
 * (`perWebhookLimit` minus what is in flight); overall, the `limit` earliest.
 * `nextDueAt` is the earliest time anything not chosen may become claimable
 * (future work, the leases of what is chosen, work over the global limit),
 * leaving out work held back only by a webhook's limit: the caller looks
 * again when one of its attempts ends, so that sets no timer.
 */
export function selectDue<T>(
  request: Pick<ClaimRequest, 'now' | 'limit' | 'perWebhookLimit' | 'inFlight' | 'leaseMs'>,
  webhooks: Iterable<readonly [webhookId: string, cursor: DueCursor<T>]>,
): ClaimSelection<T> {
  const { now, limit } = request
  let nextDueAt: number | null = null
  const consider = (at: number) => {
    if (nextDueAt === null || at < nextDueAt) nextDueAt = at
  }
  const candidates: DueItem<T>[] = []
  for (const [webhookId, cursor] of webhooks) {
    const webhookFree = request.perWebhookLimit - (request.inFlight.get(webhookId) ?? 0)
    let taken = 0
    for (let item = cursor.peek(); item; item = cursor.peek()) {
      if (item.at > now) {
        consider(item.at)
        break
      }
      if (taken >= webhookFree) break
      if (taken >= limit) {
        consider(item.at)
        break
      }
      candidates.push(cursor.take())
      taken++
    }
  }
  candidates.sort((a, b) => a.at - b.at || a.seq - b.seq)
  const chosen = candidates.slice(0, limit)
  const leftover = candidates.slice(limit)
  for (const item of leftover) consider(item.at)
  if (chosen.length > 0) consider(now + request.leaseMs)
  return { chosen, leftover, nextDueAt }
}
