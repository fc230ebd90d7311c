import { describe, expect, it } from 'vitest'
import {
  createEventBus,
  MemoryWebhookStore,
  NotFoundError,
  verifySignature,
  WebhookDispatcher,
  WebhookValidationError,
  type CreateWebhookInput,
  type NewDelivery,
} from '../src/index.js'
import { ManualClock } from './support/manual-clock.js'
import { executed, registerCleanup, startDispatcher } from './support/harness.js'
import { respond, startReceiver, waitFor } from './support/receiver.js'

async function receiver(status = 200, body = 'ok') {
  const r = await startReceiver(respond(status, body))
  registerCleanup(() => r.close())
  return r
}

async function fieldsOf(promise: Promise<unknown>): Promise<string[]> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  )
  if (!(error instanceof WebhookValidationError)) throw new Error(`expected a WebhookValidationError, got ${String(error)}`)
  return error.issues.map((i) => i.path)
}

describe('createWebhook', () => {
  it('returns the seed response fields and a generated secret, once', async () => {
    const { dispatcher } = await startDispatcher({ allowInsecureUrls: false, allowPrivateNetworks: false })
    const created = await dispatcher.createWebhook({
      url: 'https://your-app.com/webhook',
      events: ['agent.executed', 'workflow.failed'],
      headers: { 'X-Custom-Header': 'value' },
      description: 'mine',
    })
    expect(created).toMatchObject({
      url: 'https://your-app.com/webhook',
      events: ['agent.executed', 'workflow.failed'],
      enabled: true,
      headers: { 'X-Custom-Header': 'value' },
      description: 'mine',
      disabled_reason: null,
      owner_id: null,
    })
    expect(created.id).toMatch(/^[0-9a-f-]{36}$/)
    expect(Date.parse(created.created_at)).not.toBeNaN()
    expect(created.secret).toMatch(/^[A-Za-z0-9_-]{43}$/)
    const fetched = await dispatcher.getWebhook(created.id)
    expect(fetched).not.toHaveProperty('secret')
    expect((await dispatcher.listWebhooks()).data[0]).not.toHaveProperty('secret')
    const given = await dispatcher.createWebhook({ url: 'https://a.example/x', events: ['*'], secret: 's'.repeat(16) })
    expect(given).not.toHaveProperty('secret')
  })

  it('names every bad field and stores nothing', async () => {
    const { dispatcher } = await startDispatcher({ allowInsecureUrls: false, allowPrivateNetworks: false })
    const base: CreateWebhookInput = { url: 'https://ok.example/hook', events: ['agent.created'] }
    const bad = (patch: Record<string, unknown>) => fieldsOf(dispatcher.createWebhook({ ...base, ...patch } as CreateWebhookInput))
    expect(await bad({ url: 'not a url' })).toEqual(['url'])
    expect(await bad({ url: '/relative' })).toEqual(['url'])
    expect(await bad({ url: 'ftp://ok.example/x' })).toEqual(['url'])
    expect(await bad({ url: 'http://ok.example/x' })).toEqual(['url'])
    expect(await bad({ url: `https://ok.example/${'a'.repeat(2048)}` })).toEqual(['url'])
    expect(await bad({ url: 'https://user:pw@ok.example/x' })).toEqual(['url'])
    expect(await bad({ url: 42 })).toEqual(['url'])
    expect(await bad({ url: undefined })).toEqual(['url'])
    expect(await bad({ events: [] })).toEqual(['events'])
    expect(await bad({ events: 'agent.created' })).toEqual(['events'])
    expect(await bad({ events: ['agent.created', 'agent.exploded'] })).toEqual(['events[1]'])
    expect(await bad({ events: ['agent.created', 'agent.created'] })).toEqual(['events[1]'])
    expect(await bad({ events: ['*', 'agent.created'] })).toEqual(['events'])
    expect(await bad({ secret: 'x'.repeat(15) })).toEqual(['secret'])
    expect(await bad({ secret: 'x'.repeat(257) })).toEqual(['secret'])
    expect(await bad({ secret: 12345678901234567 })).toEqual(['secret'])
    const many = Object.fromEntries(Array.from({ length: 21 }, (_, i) => [`X-H${i}`, 'v']))
    expect(await bad({ headers: many })).toEqual(['headers'])
    expect(await bad({ headers: { 'Bad Name': 'v' } })).toEqual(['headers.Bad Name'])
    expect(await bad({ headers: { 'X-Split': 'a\r\nX-Injected: 1' } })).toEqual(['headers.X-Split'])
    expect(await bad({ headers: { 'X-Long': 'v'.repeat(1025) } })).toEqual(['headers.X-Long'])
    expect(await bad({ headers: { 'X-Num': 1 } })).toEqual(['headers.X-Num'])
    for (const name of ['x-webhook-signature', 'X-WEBHOOK-ID', 'Content-Type', 'user-agent', 'Webhook-Signature', 'X-Webhook-Attempt', 'Host', 'Transfer-Encoding']) {
      expect(await bad({ headers: { [name]: 'v' } })).toEqual([`headers.${name}`])
    }
    expect(await bad({ description: 'd'.repeat(1025) })).toEqual(['description'])
    expect(await bad({ colour: 'blue' })).toEqual(['colour'])
    expect(await bad({ url: 'nope', events: [], secret: 'short' })).toEqual(['url', 'events', 'secret'])
    await expect(dispatcher.createWebhook(null as unknown as CreateWebhookInput)).rejects.toThrow(WebhookValidationError)
    expect((await dispatcher.listWebhooks()).data).toEqual([])
  })

  it('says which field in the message', async () => {
    const { dispatcher } = await startDispatcher({ allowInsecureUrls: false })
    await expect(dispatcher.createWebhook({ url: 'http://ok.example', events: ['*'] })).rejects.toThrow(
      'url: must use https (http needs allowInsecureUrls)',
    )
  })
})

describe('webhook management', () => {
  it('pages the list with opaque cursors and filters by owner', async () => {
    const { dispatcher } = await startDispatcher()
    const ids: string[] = []
    for (let i = 0; i < 5; i++) {
      ids.push((await dispatcher.createWebhook({ url: `https://h${i}.example/`, events: ['*'], owner_id: i % 2 ? 'odd' : null })).id)
    }
    const first = await dispatcher.listWebhooks({ limit: 2 })
    expect(first.data.map((h) => h.id)).toEqual(ids.slice(0, 2))
    expect(first.next_cursor).toEqual(expect.any(String))
    const second = await dispatcher.listWebhooks({ limit: 2, cursor: first.next_cursor })
    const third = await dispatcher.listWebhooks({ limit: 2, cursor: second.next_cursor })
    expect([...second.data, ...third.data].map((h) => h.id)).toEqual(ids.slice(2))
    expect(third.next_cursor).toBeNull()
    expect((await dispatcher.listWebhooks({ owner_id: 'odd' })).data.map((h) => h.id)).toEqual([ids[1], ids[3]])
    expect(await fieldsOf(dispatcher.listWebhooks({ cursor: 'garbage' }))).toEqual(['cursor'])
    expect(await fieldsOf(dispatcher.listWebhooks({ limit: 0 }))).toEqual(['limit'])
    expect(await fieldsOf(dispatcher.listWebhooks({ limit: 101 }))).toEqual(['limit'])
    const deliveriesCursor = Buffer.from('d:1').toString('base64url')
    expect(await fieldsOf(dispatcher.listWebhooks({ cursor: deliveriesCursor }))).toEqual(['cursor'])
  })

  it('updates, rotates the secret used to sign, disables with a reason, and 404s unknown ids', async () => {
    const r = await receiver()
    const { bus, dispatcher } = await startDispatcher()
    const hook = await dispatcher.createWebhook({ url: `${r.url}/old`, events: ['agent.created'], secret: 'first-secret-123456' })
    const updated = await dispatcher.updateWebhook(hook.id, {
      url: `${r.url}/new`,
      events: ['agent.deleted'],
      secret: 'second-secret-12345',
      description: 'renamed',
    })
    expect(updated).toMatchObject({ url: `${r.url}/new`, events: ['agent.deleted'], description: 'renamed' })
    expect(updated).not.toHaveProperty('secret')
    bus.emit('agent.created', { agent_id: 'ignored' })
    bus.emit('agent.deleted', { agent_id: 'a' })
    await waitFor(() => r.requests.length === 1)
    const [req] = r.requests
    expect(req?.path).toBe('/new')
    expect(verifySignature(req?.body ?? '', String(req?.headers['x-webhook-signature']), 'second-secret-12345')).toBe(true)

    const off = await dispatcher.updateWebhook(hook.id, { enabled: false })
    expect(off).toMatchObject({ enabled: false, disabled_reason: 'Disabled by an update' })
    const on = await dispatcher.updateWebhook(hook.id, { enabled: true })
    expect(on).toMatchObject({ enabled: true, disabled_reason: null })
    expect(await fieldsOf(dispatcher.updateWebhook(hook.id, { url: 'ftp://x', owner_id: 'me' } as never))).toEqual(['url', 'owner_id'])
    await expect(dispatcher.updateWebhook('missing', { description: 'x' })).rejects.toBeInstanceOf(NotFoundError)
    await expect(dispatcher.getWebhook('missing')).rejects.toThrow('No webhook with id "missing"')
  })

  it('deletes a webhook and cancels its unfinished deliveries', async () => {
    const { bus, dispatcher, store } = await startDispatcher({ start: false })
    const hook = await dispatcher.createWebhook({ url: 'https://example.com/x', events: ['*'] })
    bus.emit('agent.deleted', { agent_id: 'a' })
    await dispatcher.flush()
    const [pending] = await store.listDeliveries({ webhook_id: hook.id, limit: 1 })
    await dispatcher.deleteWebhook(hook.id)
    await expect(dispatcher.deleteWebhook(hook.id)).rejects.toBeInstanceOf(NotFoundError)
    await expect(dispatcher.getWebhook(hook.id)).rejects.toBeInstanceOf(NotFoundError)
    expect((await dispatcher.getDelivery(pending?.id ?? '')).status).toBe('cancelled')
  })
})

describe('deliveries', () => {
  it('stores emitted events on flush, before start, and attempts them once started', async () => {
    const r = await receiver()
    const { bus, dispatcher } = await startDispatcher({ start: false })
    const hook = await dispatcher.createWebhook({ url: r.url, events: ['*'] })
    bus.emit('agent.executed', executed)
    await dispatcher.flush()
    const { data } = await dispatcher.listDeliveries(hook.id)
    expect(data).toHaveLength(1)
    expect(data[0]).toMatchObject({ status: 'pending', attempts: [], test: false, event: 'agent.executed' })
    expect(r.requests).toHaveLength(0)
    await dispatcher.start()
    await waitFor(() => r.requests.length === 1)
  })

  it('lists newest first with cursors and a status filter; 404s unknown ids', async () => {
    const { bus, dispatcher } = await startDispatcher({ start: false })
    const hook = await dispatcher.createWebhook({ url: 'https://example.com/x', events: ['*'] })
    for (let i = 0; i < 3; i++) bus.emit('agent.deleted', { agent_id: `a${i}` })
    await dispatcher.flush()
    const page1 = await dispatcher.listDeliveries(hook.id, { limit: 2 })
    const page2 = await dispatcher.listDeliveries(hook.id, { limit: 2, cursor: page1.next_cursor })
    const agents = [...page1.data, ...page2.data].map((d) => JSON.parse(d.body).payload.agent_id)
    expect(agents).toEqual(['a2', 'a1', 'a0'])
    expect(page2.next_cursor).toBeNull()
    expect((await dispatcher.listDeliveries(hook.id, { status: 'succeeded' })).data).toEqual([])
    expect((await dispatcher.listDeliveries(hook.id, { status: 'pending' })).data).toHaveLength(3)
    expect(await fieldsOf(dispatcher.listDeliveries(hook.id, { status: 'lost' as never }))).toEqual(['status'])
    await expect(dispatcher.listDeliveries('missing')).rejects.toBeInstanceOf(NotFoundError)
    await expect(dispatcher.getDelivery('missing')).rejects.toBeInstanceOf(NotFoundError)
    await expect(dispatcher.redeliver('missing')).rejects.toBeInstanceOf(NotFoundError)
  })

  it('redelivers a succeeded delivery: same id and body, a fresh attempt', async () => {
    const r = await receiver()
    const { bus, dispatcher, attempts } = await startDispatcher()
    const hook = await dispatcher.createWebhook({ url: r.url, events: ['*'] })
    bus.emit('agent.deleted', { agent_id: 'a' })
    await waitFor(() => attempts.length === 1)
    const id = attempts[0]?.delivery_id ?? ''
    await waitFor(async () => (await dispatcher.getDelivery(id)).status === 'succeeded')
    await dispatcher.redeliver(id)
    await waitFor(() => attempts.length === 2)
    expect(r.requests.map((q) => q.headers['x-webhook-delivery'])).toEqual([id, id])
    expect(r.requests[1]?.body.equals(r.requests[0]?.body ?? Buffer.alloc(0))).toBe(true)
    expect(r.requests.map((q) => q.headers['x-webhook-attempt'])).toEqual(['1', '2'])
    expect(hook.id).toBe(attempts[1]?.webhook_id)
  })
})

describe('sendTest', () => {
  it('sends one signed sample now and records it as a test delivery', async () => {
    const r = await receiver(200, 'received')
    const { dispatcher } = await startDispatcher()
    const hook = await dispatcher.createWebhook({ url: r.url, events: ['workflow.failed', 'agent.created'], secret: 'test-secret-value-1' })
    const result = await dispatcher.sendTest(hook.id)
    expect(result).toMatchObject({ success: true, status_code: 200, error: null, response_body: 'received' })
    expect(result.duration_ms).toBeGreaterThanOrEqual(0)
    const [req] = r.requests
    const body = JSON.parse(req?.body.toString() ?? '{}')
    expect(body.event).toBe('workflow.failed')
    expect(body.metadata.test).toBe(true)
    expect(verifySignature(req?.body ?? '', String(req?.headers['x-webhook-signature']), 'test-secret-value-1')).toBe(true)
    const delivery = await dispatcher.getDelivery(result.delivery_id)
    expect(delivery).toMatchObject({ test: true, status: 'succeeded', event: 'workflow.failed' })
    expect(delivery.attempts).toHaveLength(1)

    await dispatcher.sendTest(hook.id, { event: 'hitl.requested' })
    expect(JSON.parse(r.requests[1]?.body.toString() ?? '{}').event).toBe('hitl.requested')
    expect(await fieldsOf(dispatcher.sendTest(hook.id, { event: 'nope' as never }))).toEqual(['event'])
    await expect(dispatcher.sendTest('missing')).rejects.toBeInstanceOf(NotFoundError)
  })

  it('refuses to send once the dispatcher is closed', async () => {
    const { dispatcher } = await startDispatcher()
    const hook = await dispatcher.createWebhook({ url: 'https://example.com/x', events: ['*'] })
    await dispatcher.close()
    await expect(dispatcher.sendTest(hook.id)).rejects.toThrow('The dispatcher is closed')
  })

  it('reports a failure without retrying or disabling the webhook', async () => {
    const r = await receiver(500, 'broken')
    const clock = new ManualClock()
    const { dispatcher } = await startDispatcher({ clock, retrySchedule: [0] })
    const hook = await dispatcher.createWebhook({ url: r.url, events: ['*'] })
    const result = await dispatcher.sendTest(hook.id)
    expect(result).toMatchObject({ success: false, status_code: 500, error: 'HTTP 500', response_body: 'broken' })
    expect(JSON.parse(r.requests[0]?.body.toString() ?? '{}').event).toBe('agent.created')
    clock.advance(24 * 3_600_000)
    await new Promise((resolve) => setTimeout(resolve, 40))
    expect(r.requests).toHaveLength(1)
    expect((await dispatcher.getWebhook(hook.id)).enabled).toBe(true)
    expect((await dispatcher.getDelivery(result.delivery_id)).status).toBe('failed')
  })
})

describe('robustness', () => {
  it('refuses bad options, naming them', () => {
    const bus = createEventBus()
    const store = new MemoryWebhookStore()
    expect(() => new WebhookDispatcher({ bus, store, retrySchedule: [] })).toThrow(/retrySchedule must be a non-empty array/)
    expect(() => new WebhookDispatcher({ bus, store, retrySchedule: [0, -5] })).toThrow('retrySchedule[1] must be a non-negative')
    expect(() => new WebhookDispatcher({ bus, store, timeoutMs: 0 })).toThrow('timeoutMs must be a positive number')
    expect(() => new WebhookDispatcher({ bus, store, concurrency: Number.NaN })).toThrow('concurrency must be')
    expect(() => new WebhookDispatcher({ bus, store, timeoutMs: 5000, leaseMs: 5000 })).toThrow('leaseMs must be longer')
  })

  it('loses nothing when the store fails: flush rejects, the events stay queued and are stored once it recovers', async () => {
    class FlakyStore extends MemoryWebhookStore {
      failing = true
      override async insertDeliveries(deliveries: readonly NewDelivery[]): Promise<void> {
        if (this.failing) throw new Error('disk full')
        return super.insertDeliveries(deliveries)
      }
    }
    const store = new FlakyStore()
    const { bus, dispatcher, errors } = await startDispatcher({ store, start: false })
    const hook = await dispatcher.createWebhook({ url: 'https://example.com/x', events: ['*'] })
    bus.emit('agent.deleted', { agent_id: 'a' })
    bus.emit('agent.deleted', { agent_id: 'b' })
    await expect(dispatcher.flush()).rejects.toThrow('disk full')
    expect(errors).toContainEqual(new Error('disk full'))
    store.failing = false
    await waitFor(async () => (await dispatcher.listDeliveries(hook.id)).data.length === 2, 5000)
    await expect(dispatcher.flush()).resolves.toBeUndefined()
  })

  it('an observability listener that throws does not stop delivery', async () => {
    const r = await receiver()
    const { bus, dispatcher, errors } = await startDispatcher()
    dispatcher.on('attempt', () => {
      throw new Error('listener bug')
    })
    await dispatcher.createWebhook({ url: r.url, events: ['*'] })
    bus.emit('agent.deleted', { agent_id: 'a' })
    bus.emit('agent.deleted', { agent_id: 'b' })
    await waitFor(() => r.requests.length === 2)
    await waitFor(() => errors.length >= 2)
    expect(String(errors[0])).toContain('listener bug')
  })
})
