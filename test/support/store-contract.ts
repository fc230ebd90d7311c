import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type {
  AttemptOutcome,
  ClaimRequest,
  NewDelivery,
  WebhookRecord,
  WebhookStore,
} from '../../src/index.js'

/** A store under test and how to dispose of it. */
export interface StoreFixture {
  store: WebhookStore
  cleanup(): Promise<void>
}

const T0 = 1_800_000_000_000
let ids = 0
const nextId = (prefix: string) => `${prefix}-${++ids}`

export function webhookRecord(overrides: Partial<WebhookRecord> = {}): WebhookRecord {
  return {
    id: nextId('wh'),
    url: 'https://example.com/hook',
    events: ['agent.executed'],
    secret: 'a-secret-of-enough-length',
    headers: { 'X-Custom': 'v' },
    enabled: true,
    owner_id: null,
    description: null,
    created_at: T0,
    updated_at: T0,
    disabled_reason: null,
    ...overrides,
  }
}

export function newDelivery(webhookId: string, overrides: Partial<NewDelivery> = {}): NewDelivery {
  return {
    id: nextId('dl'),
    webhook_id: webhookId,
    event: 'agent.executed',
    body: '{"event":"agent.executed"}',
    status: 'pending',
    next_attempt_at: T0,
    created_at: T0,
    test: false,
    attempts: [],
    ...overrides,
  }
}

function claim(overrides: Partial<ClaimRequest> = {}): ClaimRequest {
  return {
    now: T0,
    limit: 10,
    perWebhookLimit: 10,
    inFlight: new Map(),
    leaseMs: 30_000,
    leaseToken: nextId('lease'),
    ...overrides,
  }
}

function completion(deliveryId: string, leaseToken: string, overrides: Partial<AttemptOutcome> = {}): AttemptOutcome {
  return {
    delivery_id: deliveryId,
    leaseToken,
    attempt: { attempt: 1, started_at: T0, duration_ms: 5, status_code: 200, error: null, response_body: 'ok' },
    status: 'succeeded',
    next_attempt_at: null,
    disableWebhook: null,
    now: T0,
    ...overrides,
  }
}

/**
 * The behaviour every WebhookStore must have. Run it against a new store with
 * `describeStoreContract('name', makeFixture)`.
 */
export function describeStoreContract(name: string, makeFixture: () => Promise<StoreFixture>): void {
  describe(`${name}: store contract`, () => {
    let fixture: StoreFixture
    let store: WebhookStore
    beforeEach(async () => {
      fixture = await makeFixture()
      store = fixture.store
    })
    afterEach(async () => {
      await fixture.cleanup()
    })

    describe('webhooks', () => {
      it('inserts and reads back every field, secret included', async () => {
        const record = webhookRecord({ description: 'd', owner_id: 'u1', events: ['*'] })
        const stored = await store.insertWebhook(record)
        expect(stored).toMatchObject(record)
        expect(await store.getWebhook(record.id)).toEqual(stored)
        expect(await store.getWebhook('missing')).toBeNull()
      })

      it('refuses a duplicate id', async () => {
        const record = webhookRecord()
        await store.insertWebhook(record)
        await expect(store.insertWebhook(record)).rejects.toThrow()
      })

      it('returns copies: changing a result does not change the store', async () => {
        const record = webhookRecord()
        const stored = await store.insertWebhook(record)
        ;(stored.headers as Record<string, string>)['X-Other'] = 'x'
        ;(stored.events as string[]).push('team.executed')
        const again = await store.getWebhook(record.id)
        expect(again?.headers).toEqual({ 'X-Custom': 'v' })
        expect(again?.events).toEqual(['agent.executed'])
      })

      it('lists oldest first, pages by seq and filters by owner', async () => {
        const a = await store.insertWebhook(webhookRecord({ owner_id: 'u1' }))
        const b = await store.insertWebhook(webhookRecord({ owner_id: null }))
        const c = await store.insertWebhook(webhookRecord({ owner_id: 'u1' }))
        expect((await store.listWebhooks({ limit: 10 })).map((h) => h.id)).toEqual([a.id, b.id, c.id])
        expect((await store.listWebhooks({ limit: 2 })).map((h) => h.id)).toEqual([a.id, b.id])
        expect((await store.listWebhooks({ limit: 10, after: b.seq })).map((h) => h.id)).toEqual([c.id])
        expect((await store.listWebhooks({ limit: 10, owner_id: 'u1' })).map((h) => h.id)).toEqual([a.id, c.id])
        expect((await store.listWebhooks({ limit: 10, owner_id: null })).map((h) => h.id)).toEqual([b.id])
      })

      it('lists enabled webhooks only for fan-out', async () => {
        const on = await store.insertWebhook(webhookRecord())
        await store.insertWebhook(webhookRecord({ enabled: false, disabled_reason: 'x' }))
        expect((await store.listEnabledWebhooks()).map((h) => h.id)).toEqual([on.id])
      })

      it('updates fields and updated_at; null for a missing webhook', async () => {
        const hook = await store.insertWebhook(webhookRecord())
        const updated = await store.updateWebhook(
          hook.id,
          { url: 'https://example.org/new', events: ['*'], headers: {}, description: 'new', secret: 's'.repeat(20) },
          T0 + 5,
        )
        expect(updated).toMatchObject({
          url: 'https://example.org/new',
          events: ['*'],
          headers: {},
          description: 'new',
          secret: 's'.repeat(20),
          updated_at: T0 + 5,
          created_at: T0,
        })
        expect(await store.updateWebhook('missing', { description: 'x' }, T0)).toBeNull()
      })

      it('disabling parks pending deliveries; enabling resumes them due now with a fresh cycle', async () => {
        const hook = await store.insertWebhook(webhookRecord())
        const d = newDelivery(hook.id, { next_attempt_at: T0 + 60_000 })
        await store.insertDeliveries([d])
        await store.updateWebhook(hook.id, { enabled: false, disabled_reason: 'manual' }, T0)
        expect(await store.getWebhook(hook.id)).toMatchObject({ enabled: false, disabled_reason: 'manual' })
        expect(await store.getDelivery(d.id)).toMatchObject({ status: 'pending', next_attempt_at: null })
        expect((await store.claimDue(claim({ now: T0 + 120_000 }))).claimed).toEqual([])

        await store.updateWebhook(hook.id, { enabled: true }, T0 + 200_000)
        expect(await store.getWebhook(hook.id)).toMatchObject({ enabled: true, disabled_reason: null })
        expect(await store.getDelivery(d.id)).toMatchObject({
          status: 'pending',
          next_attempt_at: T0 + 200_000,
          cycle_attempts: 0,
        })
      })

      it('delete cancels unfinished deliveries and keeps finished ones as they were', async () => {
        const hook = await store.insertWebhook(webhookRecord())
        const pending = newDelivery(hook.id)
        const done = newDelivery(hook.id, { status: 'succeeded', next_attempt_at: null })
        const claimedOne = newDelivery(hook.id)
        await store.insertDeliveries([pending, done])
        await store.insertDeliveries([claimedOne])
        const { claimed } = await store.claimDue(claim({ limit: 1 }))
        expect(claimed).toHaveLength(1)
        expect(await store.deleteWebhook(hook.id)).toBe(true)
        expect(await store.getWebhook(hook.id)).toBeNull()
        expect(await store.deleteWebhook(hook.id)).toBe(false)
        expect((await store.getDelivery(pending.id))?.status).toBe('cancelled')
        expect((await store.getDelivery(claimedOne.id))?.status).toBe('cancelled')
        expect((await store.getDelivery(done.id))?.status).toBe('succeeded')
        expect((await store.claimDue(claim({ now: T0 + 10 ** 9 }))).claimed).toEqual([])
      })
    })

    describe('deliveries', () => {
      let hookId: string
      beforeEach(async () => {
        hookId = (await store.insertWebhook(webhookRecord())).id
      })

      it('inserts all or none', async () => {
        const a = newDelivery(hookId)
        await store.insertDeliveries([a])
        const b = newDelivery(hookId)
        await expect(store.insertDeliveries([b, { ...a }])).rejects.toThrow()
        expect(await store.getDelivery(b.id)).toBeNull()
      })

      it('reads back every field, attempts included', async () => {
        const attempt = { attempt: 1, started_at: T0, duration_ms: 9, status_code: 500, error: 'HTTP 500', response_body: 'no' }
        const d = newDelivery(hookId, { status: 'failed', next_attempt_at: null, test: true, attempts: [attempt] })
        await store.insertDeliveries([d])
        expect(await store.getDelivery(d.id)).toMatchObject({ ...d, attempts: [attempt] })
        expect(await store.getDelivery('missing')).toBeNull()
      })

      it('keeps the body bytes exactly, unicode included', async () => {
        const body = JSON.stringify({ output: 'olá 世界 🚀 \u2028 "quoted" \\ back' })
        const d = newDelivery(hookId, { body })
        await store.insertDeliveries([d])
        expect((await store.getDelivery(d.id))?.body).toBe(body)
      })

      it('lists newest first, pages with before, filters by status', async () => {
        const first = newDelivery(hookId)
        const second = newDelivery(hookId, { status: 'succeeded', next_attempt_at: null })
        const third = newDelivery(hookId)
        await store.insertDeliveries([first, second])
        await store.insertDeliveries([third])
        const all = await store.listDeliveries({ webhook_id: hookId, limit: 10 })
        expect(all.map((d) => d.id)).toEqual([third.id, second.id, first.id])
        const page = await store.listDeliveries({ webhook_id: hookId, limit: 2 })
        const rest = await store.listDeliveries({ webhook_id: hookId, limit: 2, before: page[1]?.seq })
        expect([...page, ...rest].map((d) => d.id)).toEqual([third.id, second.id, first.id])
        const pending = await store.listDeliveries({ webhook_id: hookId, limit: 10, status: 'pending' })
        expect(pending.map((d) => d.id)).toEqual([third.id, first.id])
        expect(await store.listDeliveries({ webhook_id: 'other', limit: 10 })).toEqual([])
      })
    })

    describe('claims', () => {
      it('claims due work earliest first, within the limit, with the webhook as of the claim', async () => {
        const hook = await store.insertWebhook(webhookRecord())
        const late = newDelivery(hook.id, { next_attempt_at: T0 - 10 })
        const early = newDelivery(hook.id, { next_attempt_at: T0 - 20 })
        const future = newDelivery(hook.id, { next_attempt_at: T0 + 5000 })
        await store.insertDeliveries([late, early, future])
        const result = await store.claimDue(claim({ limit: 1 }))
        expect(result.claimed.map((c) => c.delivery.id)).toEqual([early.id])
        expect(result.claimed[0]?.webhook).toMatchObject({ id: hook.id, secret: hook.secret, url: hook.url })
        expect(result.claimed[0]?.delivery).toMatchObject({ body: early.body, attempt_count: 0, cycle_attempts: 0 })
        // More is due right now: the next claim is due at once.
        expect(result.nextDueAt).toBeLessThanOrEqual(T0)
        const next = await store.claimDue(claim())
        expect(next.claimed.map((c) => c.delivery.id)).toEqual([late.id])
        expect(next.nextDueAt).toBe(T0 + 5000)
        expect((await store.getDelivery(late.id))?.status).toBe('delivering')
      })

      it('reports null when nothing at all is queued', async () => {
        expect(await store.claimDue(claim())).toEqual({ claimed: [], nextDueAt: null })
      })

      it('respects the per-webhook limit, counting work in flight, without hiding other webhooks', async () => {
        const busy = await store.insertWebhook(webhookRecord())
        const calm = await store.insertWebhook(webhookRecord())
        const backlog = Array.from({ length: 50 }, (_, i) => newDelivery(busy.id, { next_attempt_at: T0 - 1000 + i }))
        const other = newDelivery(calm.id, { next_attempt_at: T0 })
        await store.insertDeliveries([...backlog, other])
        const result = await store.claimDue(claim({ perWebhookLimit: 3, inFlight: new Map([[busy.id, 2]]) }))
        const byHook = result.claimed.map((c) => c.webhook.id)
        expect(byHook.filter((id) => id === busy.id)).toHaveLength(1)
        expect(byHook).toContain(calm.id)
        // The busy webhook's backlog waits for its attempts to end: no timer for it.
        expect(result.nextDueAt).toBe(T0 + 30_000)
      })

      it('skips webhooks that are disabled', async () => {
        const hook = await store.insertWebhook(webhookRecord({ enabled: false, disabled_reason: 'x' }))
        await store.insertDeliveries([newDelivery(hook.id)])
        expect((await store.claimDue(claim())).claimed).toEqual([])
      })

      it('hides claimed deliveries until their lease ends, then lets another claim take them over', async () => {
        const hook = await store.insertWebhook(webhookRecord())
        const d = newDelivery(hook.id)
        await store.insertDeliveries([d])
        const first = await store.claimDue(claim({ leaseToken: 'A', leaseMs: 1000 }))
        expect(first.claimed).toHaveLength(1)
        expect(first.nextDueAt).toBe(T0 + 1000)
        expect((await store.claimDue(claim({ now: T0 + 999, leaseToken: 'B' }))).claimed).toEqual([])
        const takeover = await store.claimDue(claim({ now: T0 + 1000, leaseToken: 'B' }))
        expect(takeover.claimed.map((c) => c.delivery.id)).toEqual([d.id])
        // The first holder's outcome is recorded but does not move the delivery on.
        await store.completeAttempts([completion(d.id, 'A')])
        expect(await store.getDelivery(d.id)).toMatchObject({ status: 'delivering' })
        expect((await store.getDelivery(d.id))?.attempts).toHaveLength(1)
        await store.completeAttempts([completion(d.id, 'B', { attempt: { ...completion(d.id, 'B').attempt, attempt: 2 } })])
        expect(await store.getDelivery(d.id)).toMatchObject({ status: 'succeeded', next_attempt_at: null })
      })
    })

    describe('completions', () => {
      let hook: WebhookRecord
      beforeEach(async () => {
        hook = await store.insertWebhook(webhookRecord())
      })

      async function claimOne(d: NewDelivery, now = T0): Promise<string> {
        await store.insertDeliveries([d])
        const token = nextId('lease')
        const { claimed } = await store.claimDue(claim({ now, leaseToken: token }))
        expect(claimed.map((c) => c.delivery.id)).toContain(d.id)
        return token
      }

      it('records success', async () => {
        const d = newDelivery(hook.id)
        const token = await claimOne(d)
        expect(await store.completeAttempts([completion(d.id, token)])).toEqual({ disabled: [] })
        expect(await store.getDelivery(d.id)).toMatchObject({
          status: 'succeeded',
          next_attempt_at: null,
          cycle_attempts: 1,
          attempts: [{ attempt: 1, status_code: 200, response_body: 'ok', error: null, duration_ms: 5, started_at: T0 }],
        })
      })

      it('schedules the next attempt and counts the cycle', async () => {
        const d = newDelivery(hook.id)
        const token = await claimOne(d)
        await store.completeAttempts([
          completion(d.id, token, { status: 'pending', next_attempt_at: T0 + 60_000, attempt: { ...completion(d.id, token).attempt, status_code: 500, error: 'HTTP 500' } }),
        ])
        expect(await store.getDelivery(d.id)).toMatchObject({ status: 'pending', next_attempt_at: T0 + 60_000, cycle_attempts: 1 })
        const { claimed, nextDueAt } = await store.claimDue(claim({ now: T0 + 59_999 }))
        expect(claimed).toEqual([])
        expect(nextDueAt).toBe(T0 + 60_000)
        const again = await store.claimDue(claim({ now: T0 + 60_000 }))
        expect(again.claimed[0]?.delivery).toMatchObject({ id: d.id, attempt_count: 1, cycle_attempts: 1 })
      })

      it('fails and disables the webhook once, parking its other pending deliveries', async () => {
        const d = newDelivery(hook.id)
        const other = newDelivery(hook.id, { next_attempt_at: T0 + 1000 })
        await store.insertDeliveries([other])
        const token = await claimOne(d)
        const result = await store.completeAttempts([
          completion(d.id, token, { status: 'failed', disableWebhook: 'too many failures', now: T0 + 7 }),
        ])
        expect(result.disabled.map((h) => [h.id, h.enabled, h.disabled_reason])).toEqual([[hook.id, false, 'too many failures']])
        expect(await store.getWebhook(hook.id)).toMatchObject({ enabled: false, disabled_reason: 'too many failures', updated_at: T0 + 7 })
        expect(await store.getDelivery(d.id)).toMatchObject({ status: 'failed' })
        expect(await store.getDelivery(other.id)).toMatchObject({ status: 'pending', next_attempt_at: null })
      })

      it('parks a retry whose webhook was disabled meanwhile', async () => {
        const d = newDelivery(hook.id)
        const token = await claimOne(d)
        await store.updateWebhook(hook.id, { enabled: false, disabled_reason: 'x' }, T0)
        await store.completeAttempts([completion(d.id, token, { status: 'pending', next_attempt_at: T0 + 60_000 })])
        expect(await store.getDelivery(d.id)).toMatchObject({ status: 'pending', next_attempt_at: null })
      })

      it('releases a claim without counting an attempt', async () => {
        const d = newDelivery(hook.id)
        const token = await claimOne(d)
        await store.completeAttempts([{ status: 'released', delivery_id: d.id, leaseToken: token, now: T0 + 3 }])
        expect(await store.getDelivery(d.id)).toMatchObject({ status: 'pending', next_attempt_at: T0 + 3, attempts: [], cycle_attempts: 0 })
      })

      it('writes a batch of completions together', async () => {
        const ds = [newDelivery(hook.id), newDelivery(hook.id), newDelivery(hook.id)]
        await store.insertDeliveries(ds)
        const { claimed } = await store.claimDue(claim({ leaseToken: 'batch' }))
        expect(claimed).toHaveLength(3)
        await store.completeAttempts(ds.map((d) => completion(d.id, 'batch')))
        for (const d of ds) expect((await store.getDelivery(d.id))?.status).toBe('succeeded')
      })

      it('restarts a finished delivery with a fresh cycle; refuses one in flight', async () => {
        const d = newDelivery(hook.id)
        const token = await claimOne(d)
        expect(await store.restartDelivery(d.id, T0)).toBe('busy')
        await store.completeAttempts([completion(d.id, token, { status: 'failed' })])
        const restarted = await store.restartDelivery(d.id, T0 + 50)
        expect(restarted).toMatchObject({ id: d.id, body: d.body, status: 'pending', next_attempt_at: T0 + 50, cycle_attempts: 0 })
        expect(restarted !== 'busy' && restarted?.attempts).toHaveLength(1)
        expect(await store.restartDelivery('missing', T0)).toBeNull()
      })
    })
  })
}
