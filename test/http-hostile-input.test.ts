import { describe, expect, it, vi } from 'vitest'
import { createEventBus, MemoryWebhookStore, WebhookDispatcher } from '../src/index.js'
import { createWebhookRoutes } from '../src/http/index.js'
import { registerCleanup } from './support/harness.js'
import { startReceiver } from './support/receiver.js'

const BIG = 'x'.repeat(1024 * 1024)
const auth = { authorization: 'Bearer token-a' }

async function setup(maxBodyBytes?: number, lab = false) {
  const store = new MemoryWebhookStore()
  const dispatcher = new WebhookDispatcher({
    bus: createEventBus(),
    store,
    allowInsecureUrls: lab,
    allowPrivateNetworks: lab,
  })
  await dispatcher.start()
  registerCleanup(() => dispatcher.close())
  const routes = createWebhookRoutes({
    dispatcher,
    authenticate: (token) => (token === 'token-a' ? { id: 'user-a' } : null),
    maxBodyBytes,
  })
  const call = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const response = await routes.fetch(
      new Request(`http://api.test${path}`, {
        method,
        headers: { ...auth, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
        body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      }),
    )
    return { status: response.status, text: await response.text(), headers: response.headers }
  }
  return { dispatcher, store, call }
}

describe('hostile input to the API', () => {
  const url = 'https://hooks.example.com/in'
  const bigFields: Array<[string, Record<string, unknown>, string]> = [
    ['url', { url: `https://hooks.example.com/${BIG}`, events: ['*'] }, 'url'],
    ['events[0]', { url, events: [BIG] }, 'events[0]'],
    ['secret', { url, events: ['*'], secret: BIG }, 'secret'],
    ['description', { url, events: ['*'], description: BIG }, 'description'],
    ['a header value', { url, events: ['*'], headers: { 'X-Big': BIG } }, 'headers.X-Big'],
    ['a header name', { url, events: ['*'], headers: { [BIG]: 'v' } }, `headers.${'x'.repeat(64)}…`],
  ]

  it.each(bigFields)('a 1 MB string in %s: 413 at the default limit, 400 naming it above, never echoed', async (_n, body, field) => {
    const small = await setup()
    const refused = await small.call('POST', '/webhooks', body)
    expect(refused.status).toBe(413)
    expect(refused.text.length).toBeLessThan(300)

    const large = await setup(4 * 1024 * 1024)
    const response = await large.call('POST', '/webhooks', body)
    expect(response.status).toBe(400)
    const error = (JSON.parse(response.text) as { error: { details: { path: string }[] } }).error
    expect(error.details.map((d) => d.path)).toContain(field)
    // The response names the field but does not carry the megabyte back (a
    // name that is itself the megabyte is cut to 1 KiB in the message).
    expect(response.text.length).toBeLessThan(field.length + 4096)
    expect((await large.dispatcher.listWebhooks()).data).toEqual([])
  })

  it('refuses header injection in every spelling', async () => {
    const { call, dispatcher } = await setup()
    for (const headers of [
      { 'X-Team': 'a\r\nX-Injected: 1' },
      { 'X-Team': 'a\nX-Injected: 1' },
      { 'X-Team': 'a\rb' },
      { 'X-Team': 'nul\u0000byte' },
      { 'X-Team\r\nX-Injected': 'v' },
      { 'X Team': 'v' },
      { 'Transfer-Encoding': 'chunked' },
      { HOST: 'evil.example' },
      { 'x-webhook-SIGNATURE': 'sha256=forged' },
      { 'Webhook-Signature': 'v1,forged' },
    ]) {
      const response = await call('POST', '/webhooks', { url, events: ['*'], headers })
      expect(response.status, JSON.stringify(headers)).toBe(400)
      expect(response.text).toContain('headers.')
    }
    expect((await dispatcher.listWebhooks()).data).toEqual([])
  })

  it('refuses __proto__ and constructor keys without polluting anything', async () => {
    const { call, dispatcher } = await setup()
    for (const text of [
      `{"url":"${url}","events":["*"],"__proto__":{"polluted":true}}`,
      `{"url":"${url}","events":["*"],"constructor":{"prototype":{"polluted":true}}}`,
      `{"url":"${url}","events":["*"],"headers":{"__proto__":{"polluted":"yes"}}}`,
    ]) {
      const response = await call('POST', '/webhooks', text)
      expect(response.status, text).toBe(400)
    }
    // A header merely named "constructor" is a valid token and stays a plain header.
    const ok = await call('POST', '/webhooks', { url, events: ['*'], headers: { constructor: 'v' } })
    expect(ok.status).toBe(201)
    expect(JSON.parse(ok.text).headers).toEqual({ constructor: 'v' })
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
    expect((await dispatcher.listWebhooks()).data).toHaveLength(1)
  })
})

describe('secrets never leak', () => {
  it('not in responses (but the generated one, once), errors, logs, reports or stored attempts', async () => {
    const logged: string[] = []
    for (const method of ['log', 'info', 'warn', 'error', 'debug'] as const) {
      const spy = vi.spyOn(console, method).mockImplementation((...args: unknown[]) => void logged.push(args.map(String).join(' ')))
      registerCleanup(async () => spy.mockRestore())
    }
    const receiver = await startReceiver((req, res) => {
      // A receiver that echoes everything it got back into its response body.
      res.writeHead(500, { 'content-type': 'text/plain' }).end(JSON.stringify(req.headers))
    })
    registerCleanup(() => receiver.close())
    const { call, dispatcher, store } = await setup(undefined, true)
    const reports: unknown[] = []
    dispatcher.on('attempt', (r) => reports.push(r))
    const chosen = 'my-chosen-secret-value-0123456789'
    const texts: string[] = []

    const given = await call('POST', '/webhooks', { url: `${receiver.url}/a`, events: ['*'], secret: chosen })
    const generatedResponse = await call('POST', '/webhooks', { url: `${receiver.url}/b`, events: ['*'] })
    const generated = JSON.parse(generatedResponse.text).secret as string
    expect(generated).toMatch(/^[\w-]{43}$/)
    const ids = [JSON.parse(given.text).id as string, JSON.parse(generatedResponse.text).id as string]
    texts.push(given.text)
    for (const id of ids) {
      texts.push((await call('GET', `/webhooks/${id}`)).text)
      texts.push((await call('PATCH', `/webhooks/${id}`, { description: 'x' })).text)
      texts.push((await call('PATCH', `/webhooks/${id}`, { secret: `${chosen}-rotated` })).text)
      texts.push((await call('PATCH', `/webhooks/${id}`, { secret: 'short', url: 'ftp://x' })).text)
      texts.push((await call('POST', `/webhooks/${id}/test`, {})).text)
      texts.push((await call('GET', `/webhooks/${id}/deliveries`)).text)
    }
    texts.push((await call('GET', '/webhooks')).text)
    texts.push((await call('POST', '/webhooks', { url: 'https://10.0.0.1/', events: ['nope'], secret: chosen })).text)
    const thrown = await dispatcher
      .createWebhook({ url: 'ftp://x', events: ['*'], secret: `${chosen}!` })
      .catch((error: unknown) => error as Error)
    texts.push(String(thrown), (thrown as Error).stack ?? '', JSON.stringify(thrown))
    const stored = await store.listDeliveries({ webhook_id: ids[0] as string, limit: 100 })
    texts.push(JSON.stringify(stored), JSON.stringify(reports), ...logged)

    const all = texts.join('\n')
    expect(all.length).toBeGreaterThan(1000)
    for (const secret of [chosen, `${chosen}-rotated`, generated]) expect(all).not.toContain(secret)
    // The receiver did get signed requests, and echoed them: signatures, never secrets.
    expect(all).toContain('x-webhook-signature')
  })
})

describe('API error statuses beyond validation', () => {
  it('409 redelivering to a disabled webhook, 503 with Retry-After once closing, 500 with no internals', async () => {
    const receiver = await startReceiver()
    registerCleanup(() => receiver.close())
    const { call, dispatcher } = await setup(undefined, true)
    const created = JSON.parse((await call('POST', '/webhooks', { url: `${receiver.url}/a`, events: ['*'] })).text) as { id: string }
    expect((await call('POST', '/webhooks', { url: `${receiver.url}/a`, events: ['*'] })).headers.get('cache-control')).toBe('no-store')
    const test = JSON.parse((await call('POST', `/webhooks/${created.id}/test`, {})).text) as { delivery_id: string }
    await call('PATCH', `/webhooks/${created.id}`, { enabled: false })
    const conflict = await call('POST', `/webhooks/${created.id}/deliveries/${test.delivery_id}/redeliver`)
    expect(conflict.status).toBe(409)
    expect(JSON.parse(conflict.text).error.code).toBe('conflict')

    await dispatcher.close()
    const closing = await call('POST', `/webhooks/${created.id}/test`, {})
    expect(closing.status).toBe(503)
    expect(closing.headers.get('retry-after')).toBe('1')

    const reported: unknown[] = []
    const routes = createWebhookRoutes({
      dispatcher,
      authenticate: () => {
        throw new Error('session store at 10.0.0.5 is down')
      },
      onError: (error) => reported.push(error),
    })
    const broken = await routes.fetch(new Request('http://api.test/webhooks', { headers: auth }))
    expect(broken.status).toBe(500)
    const text = await broken.text()
    expect(JSON.parse(text)).toEqual({ error: { code: 'internal_error', message: 'Internal server error' } })
    expect(text).not.toContain('10.0.0.5')
    expect(reported).toHaveLength(1)
  })
})
