import { describe, expect, it, vi } from 'vitest'
import { DEFAULT_RETRY_SCHEDULE, type Webhook } from '../src/index.js'
import { ManualClock } from './support/manual-clock.js'
import { registerCleanup, startDispatcher } from './support/harness.js'
import { respond, startReceiver, waitFor, type Handler } from './support/receiver.js'

const MIN = 60_000

async function setup(handler: Handler, options: { retrySchedule?: number[] } = {}) {
  const receiver = await startReceiver(handler)
  registerCleanup(() => receiver.close())
  const clock = new ManualClock()
  const disabled: Array<[Webhook, string]> = []
  const h = await startDispatcher({ clock, onWebhookDisabled: (hook, reason) => void disabled.push([hook, reason]), ...options })
  const webhookDisabledEvents = vi.fn()
  const retries = vi.fn()
  const failures = vi.fn()
  const deliveries = vi.fn()
  h.dispatcher.on('webhook-disabled', webhookDisabledEvents)
  h.dispatcher.on('retry', retries)
  h.dispatcher.on('failed', failures)
  h.dispatcher.on('delivered', deliveries)
  const hook = await h.dispatcher.createWebhook({ url: `${receiver.url}/hook`, events: ['*'] })
  return { ...h, clock, receiver, hook, disabled, webhookDisabledEvents, retries, failures, deliveries }
}

/** Lets anything that was (wrongly) due run, in real time, briefly. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 40))

describe('retry schedule (injected clock)', () => {
  it('is the seed schedule by default', () => {
    expect(DEFAULT_RETRY_SCHEDULE).toEqual([0, 1 * MIN, 5 * MIN, 30 * MIN, 120 * MIN])
  })

  it('attempts an always-failing endpoint at 0, +1, +5, +30 min and +2 h, then disables it with no sixth attempt', async () => {
    const s = await setup(respond(500, 'down'))
    const start = s.clock.now()
    s.bus.emit('agent.deleted', { agent_id: 'a' })
    await waitFor(() => s.attempts.length === 1)

    for (const [i, delay] of [1 * MIN, 5 * MIN, 30 * MIN, 120 * MIN].entries()) {
      // One timer, armed for exactly the next attempt.
      expect(s.clock.pending).toBe(1)
      expect(s.clock.nextAt).toBe(s.clock.now() + delay)
      s.clock.advance(delay - 1)
      await settle()
      expect(s.receiver.requests).toHaveLength(i + 1)
      s.clock.advance(1)
      await waitFor(() => s.attempts.length === i + 2)
    }

    const delivery = await s.dispatcher.getDelivery(s.attempts[0]?.delivery_id ?? '')
    const times = delivery.attempts.map((a) => Date.parse(a.started_at) - start)
    expect(times).toEqual([0, 1 * MIN, 6 * MIN, 36 * MIN, 156 * MIN])
    expect(delivery.status).toBe('failed')
    expect(delivery.next_attempt_at).toBeNull()
    expect(delivery.attempts.map((a) => a.attempt)).toEqual([1, 2, 3, 4, 5])

    const hook = await s.dispatcher.getWebhook(s.hook.id)
    expect(hook.enabled).toBe(false)
    expect(hook.disabled_reason).toBe('5 consecutive attempts failed; the last one: HTTP 500')
    await waitFor(() => s.disabled.length === 1)
    expect(s.disabled[0]?.[0]).toMatchObject({ id: s.hook.id, enabled: false })
    expect(s.webhookDisabledEvents).toHaveBeenCalledOnce()
    expect(s.retries).toHaveBeenCalledTimes(4)
    expect(s.failures).toHaveBeenCalledOnce()

    s.clock.advance(24 * 60 * MIN)
    await settle()
    expect(s.receiver.requests).toHaveLength(5)

    // A disabled webhook gets no new deliveries either.
    s.bus.emit('agent.deleted', { agent_id: 'b' })
    await s.dispatcher.flush()
    expect((await s.dispatcher.listDeliveries(s.hook.id)).data).toHaveLength(1)
  })

  it('ends the cycle when the endpoint recovers at attempt 3', async () => {
    let calls = 0
    const s = await setup((_req, res) => void res.writeHead(++calls >= 3 ? 204 : 502).end())
    s.bus.emit('agent.deleted', { agent_id: 'a' })
    await waitFor(() => s.attempts.length === 1)
    s.clock.advance(1 * MIN)
    await waitFor(() => s.attempts.length === 2)
    s.clock.advance(5 * MIN)
    await waitFor(() => s.attempts.length === 3)
    const delivery = await s.dispatcher.getDelivery(s.attempts[0]?.delivery_id ?? '')
    expect(delivery.status).toBe('succeeded')
    expect(delivery.attempts.map((a) => a.status_code)).toEqual([502, 502, 204])
    expect(s.deliveries).toHaveBeenCalledOnce()
    s.clock.advance(10 * 60 * MIN)
    await settle()
    expect(s.receiver.requests).toHaveLength(3)
    expect((await s.dispatcher.getWebhook(s.hook.id)).enabled).toBe(true)
    // Nothing left to wait for: no timer stays armed for this delivery.
    expect(s.clock.pending).toBe(0)
  })

  it('honours a custom schedule', async () => {
    const s = await setup(respond(500), { retrySchedule: [0, 1000, 250] })
    s.bus.emit('agent.deleted', { agent_id: 'a' })
    await waitFor(() => s.attempts.length === 1)
    s.clock.advance(999)
    await settle()
    expect(s.attempts).toHaveLength(1)
    s.clock.advance(1)
    await waitFor(() => s.attempts.length === 2)
    s.clock.advance(250)
    await waitFor(() => s.attempts.length === 3)
    await waitFor(() => s.disabled.length === 1)
    expect(s.disabled[0]?.[1]).toBe('3 consecutive attempts failed; the last one: HTTP 500')
    s.clock.advance(60 * MIN)
    await settle()
    expect(s.attempts).toHaveLength(3)
  })

  it('disables at once on 410 Gone', async () => {
    const s = await setup(respond(410, 'gone'))
    s.bus.emit('agent.deleted', { agent_id: 'a' })
    s.bus.emit('agent.deleted', { agent_id: 'b' })
    await waitFor(() => s.disabled.length === 1)
    expect(s.disabled[0]?.[1]).toBe('The endpoint answered 410 Gone')
    const deliveries = (await s.dispatcher.listDeliveries(s.hook.id)).data
    // The first to come back failed and disabled the webhook; the other was
    // either in flight (then failed too) or parked, kept for redelivery.
    expect(deliveries.some((d) => d.status === 'failed')).toBe(true)
    s.clock.advance(200 * MIN)
    await settle()
    expect(s.receiver.requests.length).toBeLessThanOrEqual(2)
  })

  it('keeps a disabled webhook’s unfinished deliveries and resumes them when it is enabled again', async () => {
    let healthy = false
    const s = await setup((_req, res) => void res.writeHead(healthy ? 200 : 500).end(), { retrySchedule: [0, 1000] })
    s.bus.emit('agent.deleted', { agent_id: 'first' })
    await waitFor(() => s.attempts.length === 1)
    // A second delivery, half a cycle later: it still has an attempt left
    // when the first one's last attempt fails and disables the webhook.
    s.clock.advance(500)
    s.bus.emit('agent.deleted', { agent_id: 'second' })
    await waitFor(() => s.attempts.length === 2)
    s.clock.advance(500)
    await waitFor(() => s.disabled.length === 1)
    const parked = (await s.dispatcher.listDeliveries(s.hook.id, { status: 'pending' })).data
    expect(parked).toHaveLength(1)
    expect(parked[0]?.next_attempt_at).toBeNull()
    const failed = (await s.dispatcher.listDeliveries(s.hook.id, { status: 'failed' })).data
    expect(failed).toHaveLength(1)

    // Redelivering while disabled is refused, saying why.
    await expect(s.dispatcher.redeliver(failed[0]?.id ?? '')).rejects.toThrow(/disabled; enable it/)

    healthy = true
    const before = s.receiver.requests.length
    await s.dispatcher.updateWebhook(s.hook.id, { enabled: true })
    await waitFor(() => s.receiver.requests.length === before + 1)
    await waitFor(async () => (await s.dispatcher.getDelivery(parked[0]?.id ?? '')).status === 'succeeded')

    const redelivered = await s.dispatcher.redeliver(failed[0]?.id ?? '')
    expect(redelivered).toMatchObject({ id: failed[0]?.id, body: failed[0]?.body, status: 'pending' })
    await waitFor(async () => (await s.dispatcher.getDelivery(failed[0]?.id ?? '')).status === 'succeeded')
    const again = s.receiver.requests.at(-1)
    expect(again?.headers['x-webhook-delivery']).toBe(failed[0]?.id)
    expect(again?.body.toString()).toBe(failed[0]?.body)
    expect((await s.dispatcher.getDelivery(failed[0]?.id ?? '')).attempts.map((a) => a.attempt)).toEqual([1, 2, 3])
  })
})
