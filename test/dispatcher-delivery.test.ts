import { verify as octokitVerify } from '@octokit/webhooks-methods'
import { Webhook as StandardWebhook } from 'standardwebhooks'
import type { ServerResponse } from 'node:http'
import { describe, expect, it, vi } from 'vitest'
import { createEventBus, EventValidationError, MAX_RESPONSE_BYTES, verifySignature, verifyWebhook, type EventEnvelope, type Webhook } from '../src/index.js'
import { executed, registerCleanup, startDispatcher, type SenderKind } from './support/harness.js'
import { closedPort, respond, startReceiver, waitFor, type Handler } from './support/receiver.js'
import { ManualClock } from './support/manual-clock.js'

function drainOrClose(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done)
      res.off('close', done)
      resolve()
    }
    res.on('drain', done)
    res.on('close', done)
  })
}

async function receiver(handler?: Handler) {
  const r = await startReceiver(handler)
  registerCleanup(() => r.close())
  return r
}

describe.each<SenderKind>(['undici', 'ofetch'])('delivery with the %s sender', (senderKind) => {
  describe('fan-out', () => {
    it('reaches only enabled webhooks subscribed to the event, and "*" gets everything', async () => {
      const r = await receiver()
      const { bus, dispatcher } = await startDispatcher({ senderKind })
      const url = (name: string) => `${r.url}/${name}`
      await dispatcher.createWebhook({ url: url('subscribed'), events: ['agent.executed', 'team.executed'] })
      await dispatcher.createWebhook({ url: url('all'), events: ['*'] })
      await dispatcher.createWebhook({ url: url('other'), events: ['team.executed'] })
      await dispatcher.createWebhook({ url: url('disabled'), events: ['agent.executed'], enabled: false })
      bus.emit('agent.executed', executed)
      bus.emit('rag.queried', { query: 'q', result_count: 1 })
      await dispatcher.flush()
      await waitFor(() => r.requests.length >= 3)
      await new Promise((resolve) => setTimeout(resolve, 50))
      const seen = r.requests.map((req) => `${req.path} ${req.headers['x-webhook-event']}`).sort()
      expect(seen).toEqual(['/all agent.executed', '/all rag.queried', '/subscribed agent.executed'])
    })

    it('applies the tenant rule: an owned webhook gets only its owner events', async () => {
      const r = await receiver()
      const { bus, dispatcher } = await startDispatcher({ senderKind })
      await dispatcher.createWebhook({ url: `${r.url}/alice`, events: ['*'], owner_id: 'alice' })
      await dispatcher.createWebhook({ url: `${r.url}/bob`, events: ['*'], owner_id: 'bob' })
      await dispatcher.createWebhook({ url: `${r.url}/host`, events: ['*'] })
      bus.emit('agent.deleted', { agent_id: '1' }, { user_id: 'alice' })
      bus.emit('agent.deleted', { agent_id: '2' })
      await dispatcher.flush()
      await waitFor(() => r.requests.length >= 3)
      await new Promise((resolve) => setTimeout(resolve, 50))
      const seen = r.requests.map((req) => `${req.path} ${JSON.parse(req.body.toString()).payload.agent_id}`).sort()
      expect(seen).toEqual(['/alice 1', '/host 1', '/host 2'])
    })

    it('lets the host replace the tenant rule with canDeliver', async () => {
      const r = await receiver()
      const canDeliver = vi.fn((hook: Webhook, event: EventEnvelope) => hook.description === event.metadata.tenant)
      const { bus, dispatcher } = await startDispatcher({ senderKind, canDeliver })
      await dispatcher.createWebhook({ url: `${r.url}/t1`, events: ['*'], description: 't1', owner_id: 'someone-else' })
      await dispatcher.createWebhook({ url: `${r.url}/t2`, events: ['*'], description: 't2' })
      bus.emit('agent.deleted', { agent_id: 'a' }, { tenant: 't1', user_id: 'nobody' })
      await dispatcher.flush()
      await waitFor(() => r.requests.length >= 1)
      await new Promise((resolve) => setTimeout(resolve, 50))
      expect(r.requests.map((req) => req.path)).toEqual(['/t1'])
      expect(canDeliver).toHaveBeenCalledTimes(2)
    })
  })

  it('sends the signed bytes with every header, verifiable by outside libraries', async () => {
    const r = await receiver()
    const { bus, dispatcher, store } = await startDispatcher({ senderKind })
    const secret = 'a-registered-secret-0123456789'
    const hook = await dispatcher.createWebhook({
      url: `${r.url}/hook?x=1`,
      events: ['agent.executed'],
      secret,
      headers: { 'X-Tenant': 'acme', Authorization: 'Bearer downstream' },
    })
    expect(hook.secret).toBeUndefined()
    const envelope = bus.emit('agent.executed', { ...executed, output: 'olá 世界 🚀' }, { user_id: 'u@x' })
    await dispatcher.flush()
    await waitFor(() => r.requests.length === 1)
    const [req] = r.requests
    if (!req) throw new Error('no request')
    const [delivery] = (await store.listDeliveries({ webhook_id: hook.id, limit: 1 })) ?? []
    expect(req.method).toBe('POST')
    expect(req.path).toBe('/hook?x=1')
    expect(req.body.equals(Buffer.from(delivery?.body ?? '', 'utf8'))).toBe(true)
    expect(JSON.parse(req.body.toString('utf8'))).toEqual(envelope)
    const h = req.headers
    expect(h['content-type']).toBe('application/json')
    expect(h['user-agent']).toMatch(/^agno-events\/\d+\.\d+\.\d+/)
    expect(h['x-webhook-id']).toBe(hook.id)
    expect(h['x-webhook-event']).toBe('agent.executed')
    expect(h['x-webhook-delivery']).toBe(delivery?.id)
    expect(h['x-webhook-attempt']).toBe('1')
    expect(Math.abs(Number(h['x-webhook-timestamp']) - Date.now() / 1000)).toBeLessThan(5)
    expect(h['webhook-id']).toBe(delivery?.id)
    expect(h['webhook-timestamp']).toBe(h['x-webhook-timestamp'])
    expect(h['x-tenant']).toBe('acme')
    expect(h.authorization).toBe('Bearer downstream')
    // Checked by verifiers that are not ours.
    expect(await octokitVerify(secret, req.body.toString('utf8'), String(h['x-webhook-signature']))).toBe(true)
    expect(new StandardWebhook(Buffer.from(secret).toString('base64')).verify(req.body, h as Record<string, string>)).toEqual(envelope)
    expect(verifySignature(req.body, String(h['x-webhook-signature']), secret)).toBe(true)
    expect(verifyWebhook({ body: req.body, headers: h, secret })).toEqual(envelope)
  })

  it('leaves out the Standard Webhooks headers with standardWebhooks: false', async () => {
    const r = await receiver()
    const { bus, dispatcher } = await startDispatcher({ senderKind, standardWebhooks: false })
    await dispatcher.createWebhook({ url: r.url, events: ['*'] })
    bus.emit('agent.deleted', { agent_id: 'a' })
    await waitFor(() => r.requests.length === 1)
    expect(r.requests[0]?.headers['webhook-signature']).toBeUndefined()
    expect(r.requests[0]?.headers['x-webhook-signature']).toMatch(/^sha256=/)
  })

  it('keeps the delivery id on every retry while the timestamps change', async () => {
    const clock = new ManualClock()
    let calls = 0
    const r = await receiver((_req, res) => void res.writeHead(++calls < 3 ? 503 : 200).end())
    const { bus, dispatcher, attempts } = await startDispatcher({ senderKind, clock })
    const hook = await dispatcher.createWebhook({ url: r.url, events: ['*'], secret: 'x'.repeat(20) })
    bus.emit('agent.deleted', { agent_id: 'a' })
    await waitFor(() => attempts.length === 1)
    clock.advance(60_000)
    await waitFor(() => attempts.length === 2)
    clock.advance(300_000)
    await waitFor(() => attempts.length === 3)
    const headers = r.requests.map((req) => req.headers)
    expect(new Set(headers.map((h) => h['x-webhook-delivery'])).size).toBe(1)
    expect(new Set(headers.map((h) => h['webhook-id'])).size).toBe(1)
    expect(headers.map((h) => h['x-webhook-attempt'])).toEqual(['1', '2', '3'])
    const stamps = headers.map((h) => Number(h['x-webhook-timestamp']))
    expect([stamps[1]! - stamps[0]!, stamps[2]! - stamps[1]!]).toEqual([60, 300])
    expect(new Set(headers.map((h) => h['webhook-signature'])).size).toBe(3)
    // Every attempt verifies at its own time; the first is stale by the third.
    for (const req of r.requests) {
      const at = Number(req.headers['x-webhook-timestamp']) * 1000
      expect(verifyWebhook({ body: req.body, headers: req.headers, secret: 'x'.repeat(20), now: () => at })).toBeTruthy()
    }
    const first = r.requests[0]
    if (!first) throw new Error('no request')
    expect(() =>
      verifyWebhook({ body: first.body, headers: first.headers, secret: 'x'.repeat(20), now: () => stamps[2]! * 1000 }),
    ).toThrow(/360 s in the past/)
    const delivery = await dispatcher.getDelivery(String(headers[0]?.['x-webhook-delivery']))
    expect(delivery.status).toBe('succeeded')
    expect(delivery.attempts.map((a) => a.status_code)).toEqual([503, 503, 200])
    expect(hook.id).toBe(delivery.webhook_id)
  })

  describe('faults, each recorded on the attempt', () => {
    async function attemptAgainst(handlerOrUrl: Handler | string, options: { timeoutMs?: number } = {}) {
      let url: string
      if (typeof handlerOrUrl === 'string') url = handlerOrUrl
      else url = `${(await receiver(handlerOrUrl)).url}/hook`
      const { bus, dispatcher, attempts } = await startDispatcher({ senderKind, retrySchedule: [0, 60_000], ...options })
      await dispatcher.createWebhook({ url, events: ['*'] })
      bus.emit('agent.deleted', { agent_id: 'a' })
      await waitFor(() => attempts.length === 1, 10_000, 'the attempt')
      const delivery = await dispatcher.getDelivery(attempts[0]?.delivery_id ?? '')
      return { attempt: delivery.attempts[0], delivery }
    }

    it('500', async () => {
      const { attempt, delivery } = await attemptAgainst(respond(500, 'boom'))
      expect(attempt).toMatchObject({ status_code: 500, error: 'HTTP 500', response_body: 'boom' })
      expect(delivery.status).toBe('pending')
      expect(delivery.next_attempt_at).not.toBeNull()
    })

    it('404', async () => {
      const { attempt } = await attemptAgainst(respond(404, 'not here'))
      expect(attempt).toMatchObject({ status_code: 404, error: 'HTTP 404', response_body: 'not here' })
    })

    it('301, not followed', async () => {
      const r = await receiver((req, res) => {
        if (req.url === '/hook') res.writeHead(301, { location: '/moved' }).end()
        else res.writeHead(200).end()
      })
      const { attempt } = await attemptAgainst(`${r.url}/hook`)
      expect(attempt?.status_code).toBe(301)
      expect(attempt?.error).toBe('HTTP 301: redirect to /moved not followed')
      await new Promise((resolve) => setTimeout(resolve, 50))
      expect(r.requests.map((req) => req.path)).toEqual(['/hook'])
    })

    it('connection refused', async () => {
      const { attempt } = await attemptAgainst(`http://127.0.0.1:${await closedPort()}/hook`)
      expect(attempt?.status_code).toBeNull()
      expect(attempt?.error).toMatch(/ECONNREFUSED/)
    })

    it('a reset in the middle of the response', async () => {
      const { attempt, delivery } = await attemptAgainst((req, res) => {
        res.writeHead(200, { 'content-length': '1000' })
        res.write('partial', () => setTimeout(() => req.socket.destroy(), 10))
      })
      expect(attempt?.error).toBeTruthy()
      expect(attempt?.error).toMatch(/closed|reset|terminated|socket|aborted/i)
      expect(delivery.status).toBe('pending')
    })

    it('a hang past the timeout', async () => {
      const started = Date.now()
      const { attempt } = await attemptAgainst(() => undefined, { timeoutMs: 300 })
      expect(attempt).toMatchObject({ status_code: null, error: 'timed out after 300 ms' })
      expect(attempt?.duration_ms).toBeGreaterThanOrEqual(290)
      expect(Date.now() - started).toBeLessThan(5000)
    })

    it('a 10 MB response: 4 KiB kept, the rest never read', async () => {
      const total = 10 * 1024 * 1024
      let written = 0
      let closed = false
      const { attempt } = await attemptAgainst(async (_req, res) => {
        res.writeHead(200, { 'content-type': 'text/plain', 'content-length': String(total) })
        res.on('close', () => (closed = true))
        const chunk = Buffer.alloc(64 * 1024, 'y')
        while (written < total && !closed) {
          written += chunk.length
          if (!res.write(chunk)) await drainOrClose(res)
        }
      })
      expect(attempt?.status_code).toBe(200)
      expect(attempt?.error).toBeNull()
      expect(attempt?.response_body).toBe('y'.repeat(MAX_RESPONSE_BYTES))
      // The sender stopped reading and closed the connection long before the
      // server could push the whole body (socket buffers hold a few MB).
      await waitFor(() => closed, 5000, 'the connection to close')
      expect(written).toBeLessThan(total)
    })
  })

  it('a hung endpoint with 100 queued deliveries does not delay a healthy one', async () => {
    const hung = await receiver(() => undefined)
    const healthy = await receiver()
    const { bus, dispatcher } = await startDispatcher({ senderKind, timeoutMs: 10_000, closeTimeoutMs: 100 })
    await dispatcher.createWebhook({ url: `${hung.url}/hung`, events: ['agent.created'] })
    await dispatcher.createWebhook({ url: `${healthy.url}/ok`, events: ['agent.deleted'] })
    for (let i = 0; i < 100; i++) bus.emit('agent.created', { agent_id: `a${i}` })
    await dispatcher.flush()
    await waitFor(() => hung.requests.length === 8, 5000, 'the hung endpoint to hold its 8 slots')
    const started = Date.now()
    bus.emit('agent.deleted', { agent_id: 'x' })
    await waitFor(() => healthy.requests.length === 1, 5000, 'the healthy delivery')
    expect(Date.now() - started).toBeLessThan(1000)
    expect(hung.requests).toHaveLength(8)
  })

  it('close() waits for attempts in flight and leaves pending work in the store', async () => {
    const r = await receiver((_req, res) => void setTimeout(() => res.writeHead(200).end('late ok'), 300))
    const { bus, dispatcher, store } = await startDispatcher({ senderKind, perWebhookConcurrency: 1 })
    const hook = await dispatcher.createWebhook({ url: r.url, events: ['*'] })
    for (let i = 0; i < 3; i++) bus.emit('agent.deleted', { agent_id: `a${i}` })
    await waitFor(() => r.requests.length === 1)
    await dispatcher.close()
    const rows = await store.listDeliveries({ webhook_id: hook.id, limit: 10 })
    expect(rows.map((d) => d.status).sort()).toEqual(['pending', 'pending', 'succeeded'])
    const done = rows.find((d) => d.status === 'succeeded')
    expect(done?.attempts.map((a) => a.response_body)).toEqual(['late ok'])
    for (const d of rows.filter((x) => x.status === 'pending')) expect(d.attempts).toEqual([])
    expect(r.requests).toHaveLength(1)

    // The next dispatcher on the same store finishes the work.
    const next = await startDispatcher({ senderKind, store })
    await waitFor(async () => (await store.listDeliveries({ webhook_id: hook.id, limit: 10, status: 'succeeded' })).length === 3)
    expect(next.attempts).toHaveLength(2)
  })

  it('close() aborts an attempt that outlives closeTimeoutMs and puts it back as due', async () => {
    const r = await receiver(() => undefined)
    const { bus, dispatcher, store } = await startDispatcher({ senderKind, closeTimeoutMs: 100 })
    const hook = await dispatcher.createWebhook({ url: r.url, events: ['*'] })
    bus.emit('agent.deleted', { agent_id: 'a' })
    await waitFor(() => r.requests.length === 1)
    const started = Date.now()
    await dispatcher.close()
    expect(Date.now() - started).toBeLessThan(2000)
    const [row] = await store.listDeliveries({ webhook_id: hook.id, limit: 1 })
    expect(row).toMatchObject({ status: 'pending', attempts: [] })
    expect(row?.next_attempt_at).not.toBeNull()
  })
})

describe('serialization at emit', () => {
  it('with a dispatcher attached, an unserializable payload is the emitter’s error and the body is fixed at emit', async () => {
    const r = await startReceiver(respond(200))
    registerCleanup(() => r.close())
    const { bus, dispatcher } = await startDispatcher()
    await dispatcher.createWebhook({ url: `${r.url}/hook`, events: ['agent.executed'] })
    const payload = { ...executed, extra: 1n as unknown as number }
    expect(() => bus.emit('agent.executed', payload)).toThrow(EventValidationError)
    const envelope = bus.emit('agent.executed', { ...executed, note: 'as emitted' })
    ;(envelope.payload as Record<string, unknown>).note = 'changed by a listener afterwards'
    await dispatcher.flush()
    const [received] = await waitFor(() => (r.requests.length === 1 ? r.requests : null))
    expect(JSON.parse(received?.body.toString() ?? '{}').payload.note).toBe('as emitted')
  })

  it('a bus nobody delivers from does not serialize', () => {
    const bus = createEventBus()
    expect(() => bus.emit('agent.executed', { ...executed, extra: 1n as unknown as number })).not.toThrow()
  })
})
