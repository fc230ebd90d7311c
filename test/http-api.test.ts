import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  createEventBus,
  MemoryWebhookStore,
  WebhookDispatcher,
  type EventBus,
  type WebhookStore,
} from '../src/index.js'
import { createWebhookRoutes, type Principal } from '../src/http/index.js'
import {
  createdWebhookView,
  deliveryPage,
  deliveryView,
  errorView,
  eventTypesView,
  testResultView,
  webhookPage,
  webhookView,
} from '../src/http/schemas.js'
import { SqliteWebhookStore } from '../src/store/sqlite.js'
import { startApiHost, HOST_KINDS, type ApiHost, type ApiResponse, type HostKind } from './support/api-hosts.js'
import { startReceiver, waitFor, type Receiver } from './support/receiver.js'

const PRINCIPALS: Record<string, Principal> = {
  'token-a': { id: 'user-a' },
  'token-b': { id: 'user-b' },
  'token-pages': { id: 'user-pages' },
}
const A = { authorization: 'Bearer token-a' }
const B = { authorization: 'Bearer token-b' }
const PAGES = { authorization: 'Bearer token-pages' }
const MISSING_ID = '00000000-0000-4000-8000-000000000000'
const STRICT_MAX_BODY = 8192

async function authenticate(token: string): Promise<Principal | null> {
  return Object.hasOwn(PRINCIPALS, token) ? (PRINCIPALS[token] ?? null) : null
}

interface Setup {
  bus: EventBus
  dispatcher: WebhookDispatcher
}

function makeSetup(store: WebhookStore, lab: boolean): Setup {
  const bus = createEventBus()
  const dispatcher = new WebhookDispatcher({
    bus,
    store,
    // The strict dispatcher keeps the default policy (https, public hosts);
    // any name it resolves is "127.0.0.1", which the guard then refuses, so
    // nothing it registers can reach the network.
    ...(lab
      ? { allowInsecureUrls: true, allowPrivateNetworks: true, retrySchedule: [0, 20, 20] }
      : { resolveHost: async () => [{ address: '127.0.0.1', family: 4 as const }] }),
    onError: (error) => {
      throw error
    },
  })
  return { bus, dispatcher }
}

interface Variant {
  kind: HostKind
  storeKind: 'memory' | 'sqlite'
}

const variants: Variant[] = [
  ...HOST_KINDS.map((kind) => ({ kind, storeKind: 'memory' as const })),
  { kind: 'node:http', storeKind: 'sqlite' },
]

function issuePaths(response: ApiResponse): string[] {
  const body = errorView.parse(response.body)
  return (body.error.details ?? []).map((d) => d.path)
}

describe.each(variants)('the /webhooks API on $kind with the $storeKind store', ({ kind, storeKind }) => {
  let host: ApiHost
  let strict: Setup
  let lab: Setup
  let receiver: Receiver
  let dir: string | undefined
  const internalErrors: unknown[] = []

  beforeAll(async () => {
    const store = (name: string): WebhookStore => {
      if (storeKind === 'memory') return new MemoryWebhookStore()
      dir ??= mkdtempSync(join(tmpdir(), 'agno-http-'))
      return new SqliteWebhookStore({ filename: join(dir, name) })
    }
    strict = makeSetup(store('strict.db'), false)
    lab = makeSetup(store('lab.db'), true)
    await strict.dispatcher.start()
    await lab.dispatcher.start()
    receiver = await startReceiver((req, res) => {
      const failing = (req.url ?? '').includes('/fail')
      res.writeHead(failing ? 500 : 200, { 'content-type': 'text/plain' }).end(failing ? 'receiver broke' : 'ok')
    })
    const onError = (error: unknown) => internalErrors.push(error)
    host = await startApiHost(kind, [
      createWebhookRoutes({ dispatcher: strict.dispatcher, authenticate, maxBodyBytes: STRICT_MAX_BODY, onError }),
      createWebhookRoutes({ dispatcher: lab.dispatcher, authenticate, basePath: '/lab/webhooks', onError }),
    ])
  })

  afterAll(async () => {
    await host?.close()
    await strict?.dispatcher.close()
    await lab?.dispatcher.close()
    await receiver?.close()
    if (dir) rmSync(dir, { recursive: true, force: true })
    expect(internalErrors).toEqual([])
  })

  const call = (method: string, path: string, options?: Parameters<ApiHost['request']>[2]) =>
    host.request(method, path, options)

  let hooks = 0
  // Each webhook gets a path of its own, so requests can be told apart.
  async function createLab(headers: Record<string, string>, body: Record<string, unknown> = {}) {
    const path = `/hook/${kind}/${++hooks}`
    const response = await call('POST', '/lab/webhooks', {
      headers,
      body: { url: `${receiver.url}${path}`, events: ['agent.executed'], ...body },
    })
    expect(response.status, response.text).toBe(201)
    return { ...createdWebhookView.parse(response.body), path }
  }
  const requestsTo = (path: string) => receiver.requests.filter((r) => r.path === path)

  it('answers 401 with WWW-Authenticate: Bearer for a missing or unknown token', async () => {
    for (const path of ['/webhooks', '/webhooks/event-types', `/webhooks/${MISSING_ID}`, '/webhooks/nowhere']) {
      const tries: Record<string, string>[] = [{}, { authorization: 'Bearer nope' }, { authorization: 'Basic dXNlcjpwYXNz' }]
      for (const headers of tries) {
        const response = await call('GET', path, { headers })
        expect(response.status, `${path} ${JSON.stringify(headers)}`).toBe(401)
        expect(response.headers.get('www-authenticate')).toMatch(/^Bearer\b/)
        expect(errorView.parse(response.body).error.code).toBe('unauthorized')
      }
    }
  })

  it('creates a webhook: 201, the seed field names, the generated secret shown once', async () => {
    const response = await call('POST', '/lab/webhooks', {
      headers: A,
      body: {
        url: `${receiver.url}/hook/${kind}`,
        events: ['agent.executed', 'workflow.failed'],
        headers: { 'X-Team': 'research' },
        description: 'mine',
      },
    })
    expect(response.status, response.text).toBe(201)
    const created = createdWebhookView.parse(response.body)
    expect(Object.keys(response.body as object).slice(0, 5)).toEqual(['id', 'url', 'events', 'enabled', 'created_at'])
    expect(created).toMatchObject({ events: ['agent.executed', 'workflow.failed'], enabled: true, description: 'mine' })
    expect(created.secret).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expect(response.headers.get('location')).toBe(`/lab/webhooks/${created.id}`)

    const read = await call('GET', `/lab/webhooks/${created.id}`, { headers: A })
    expect(read.status).toBe(200)
    const { secret, ...withoutSecret } = created
    expect(webhookView.parse(read.body)).toEqual(withoutSecret)
    expect(secret).toBeDefined()
    expect(read.text).not.toContain(created.secret)

    const given = await call('POST', '/lab/webhooks', {
      headers: A,
      body: { url: `${receiver.url}/x`, events: ['*'], secret: 'a-secret-of-my-own-choosing' },
    })
    expect(given.status).toBe(201)
    expect(given.body).not.toHaveProperty('secret')
    expect(given.text).not.toContain('a-secret-of-my-own-choosing')
  })

  it("lists the principal's webhooks a page at a time, oldest first", async () => {
    const ids: string[] = []
    for (let i = 0; i < 3; i++) ids.push((await createLab(PAGES)).id)
    const first = await call('GET', '/lab/webhooks?limit=2', { headers: PAGES })
    expect(first.status).toBe(200)
    const page1 = webhookPage.parse(first.body)
    expect(page1.data.map((w) => w.id)).toEqual(ids.slice(0, 2))
    expect(page1.next_cursor).toEqual(expect.any(String))
    const second = await call('GET', `/lab/webhooks?limit=2&cursor=${page1.next_cursor}`, { headers: PAGES })
    const page2 = webhookPage.parse(second.body)
    expect(page2.data.map((w) => w.id)).toEqual(ids.slice(2))
    expect(page2.next_cursor).toBeNull()
    expect(second.text).not.toMatch(/secret/)
  })

  it('changes any field with PATCH and deletes with DELETE', async () => {
    const hook = await createLab(A)
    const patched = await call('PATCH', `/lab/webhooks/${hook.id}`, {
      headers: A,
      body: {
        events: ['rag.queried', 'hitl.requested'],
        headers: { 'X-Env': 'prod' },
        description: null,
        enabled: false,
        secret: 'rotated-secret-0123456789',
        url: `${receiver.url}/moved`,
      },
    })
    expect(patched.status, patched.text).toBe(200)
    const view = webhookView.parse(patched.body)
    expect(view).toMatchObject({
      events: ['rag.queried', 'hitl.requested'],
      headers: { 'X-Env': 'prod' },
      description: null,
      enabled: false,
      url: `${receiver.url}/moved`,
    })
    expect(view.disabled_reason).toEqual(expect.any(String))
    expect(patched.text).not.toContain('rotated-secret')

    const enabled = await call('PATCH', `/lab/webhooks/${hook.id}`, { headers: A, body: { enabled: true } })
    expect(webhookView.parse(enabled.body)).toMatchObject({ enabled: true, disabled_reason: null })

    const deleted = await call('DELETE', `/lab/webhooks/${hook.id}`, { headers: A })
    expect(deleted.status).toBe(204)
    expect(deleted.text).toBe('')
    expect((await call('GET', `/lab/webhooks/${hook.id}`, { headers: A })).status).toBe(404)
    const again = await call('DELETE', `/lab/webhooks/${hook.id}`, { headers: A })
    expect(again.status).toBe(404)
    expect(errorView.parse(again.body).error.code).toBe('not_found')
  })

  const url = 'https://hooks.example.com/agno'
  const badCreates: Array<[string, RequestInit_, number, string]> = [
    ['invalid JSON', { raw: '{"url": "https://hooks.example.com", ', type: 'application/json' }, 400, ''],
    ['a non-JSON content type', { raw: `url=${url}&events=agent.created`, type: 'application/x-www-form-urlencoded' }, 415, ''],
    ['a body over maxBodyBytes', { body: { url, events: ['*'], description: 'x'.repeat(STRICT_MAX_BODY) } }, 413, ''],
    ['an http URL', { body: { url: 'http://hooks.example.com/agno', events: ['*'] } }, 400, 'url'],
    ['a URL with user:password', { body: { url: 'https://user:pw@hooks.example.com/', events: ['*'] } }, 400, 'url'],
    ['a URL on a private address', { body: { url: 'https://10.1.2.3/hook', events: ['*'] } }, 400, 'url'],
    ['a URL on loopback', { body: { url: 'https://[::1]:8443/hook', events: ['*'] } }, 400, 'url'],
    ['a 3,000-character URL', { body: { url: `${url}/${'a'.repeat(2980)}`, events: ['*'] } }, 400, 'url'],
    ['a missing url', { body: { events: ['*'] } }, 400, 'url'],
    ['empty events', { body: { url, events: [] } }, 400, 'events'],
    ['an unknown event', { body: { url, events: ['agent.exploded'] } }, 400, 'events[0]'],
    ['a duplicated event', { body: { url, events: ['agent.created', 'agent.created'] } }, 400, 'events[1]'],
    ['events that is not an array', { body: { url, events: 'agent.created' } }, 400, 'events'],
    ['a 5-character secret', { body: { url, events: ['*'], secret: '12345' } }, 400, 'secret'],
    ['a reserved header in odd case', { body: { url, events: ['*'], headers: { 'x-WEBHOOK-Signature': 'forged' } } }, 400, 'headers.x-WEBHOOK-Signature'],
    ['CR LF in a header value', { body: { url, events: ['*'], headers: { 'X-Team': 'a\r\nX-Injected: 1' } } }, 400, 'headers.X-Team'],
    ['an unknown field', { body: { url, evnts: ['agent.created'], events: ['*'] } }, 400, 'evnts'],
    ['an owner_id of its own choosing', { body: { url, events: ['*'], owner_id: 'user-b' } }, 400, 'owner_id'],
    ['a __proto__ key', { raw: `{"url":"${url}","events":["*"],"__proto__":{"polluted":true}}`, type: 'application/json' }, 400, '__proto__'],
    ['an array body', { body: [{ url, events: ['*'] }] }, 400, ''],
  ]

  it.each(badCreates)('refuses %s with %i naming the field, and stores nothing', async (_name, init, status, field) => {
    const before = await call('GET', '/webhooks?limit=100', { headers: A })
    const response = await call('POST', '/webhooks', {
      headers: { ...A, ...(init.type ? { 'content-type': init.type } : {}) },
      body: init.raw ?? init.body,
    })
    expect(response.status, response.text).toBe(status)
    const error = errorView.parse(response.body).error
    if (field !== '') {
      expect(issuePaths(response)).toContain(field)
      expect(error.message).toContain(field)
    }
    const after = await call('GET', '/webhooks?limit=100', { headers: A })
    expect(after.body).toEqual(before.body)
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
  })

  it('refuses a bad PATCH naming the field, and changes nothing', async () => {
    const hook = await createLab(A)
    const before = (await call('GET', `/lab/webhooks/${hook.id}`, { headers: A })).body
    for (const [body, field] of [
      [{ events: ['nope'] }, 'events[0]'],
      [{ url: 'ftp://example.com' }, 'url'],
      [{ enabled: 'yes' }, 'enabled'],
      [{ headers: { 'Bad Name': 'x' } }, 'headers.Bad Name'],
      [{ owner_id: 'user-b' }, 'owner_id'],
    ] as const) {
      const response = await call('PATCH', `/lab/webhooks/${hook.id}`, { headers: A, body })
      expect(response.status, JSON.stringify(body)).toBe(400)
      expect(issuePaths(response)).toContain(field)
    }
    expect((await call('GET', `/lab/webhooks/${hook.id}`, { headers: A })).body).toEqual(before)
  })

  it.each([
    ['/webhooks/not-a-uuid', 'id'],
    [`/webhooks/${MISSING_ID}x`, 'id'],
    [`/webhooks/${MISSING_ID}/deliveries/42`, 'delivery_id'],
    ['/webhooks?limit=0', 'limit'],
    ['/webhooks?limit=1000', 'limit'],
    ['/webhooks?limit=abc', 'limit'],
    ['/webhooks?limit=1&limit=2', 'limit'],
    ['/webhooks?cursor=bm9wZQ', 'cursor'],
    ['/webhooks?colour=red', 'colour'],
  ])('refuses GET %s with 400 naming %s', async (path, field) => {
    const response = await call('GET', path, { headers: A })
    expect(response.status, response.text).toBe(400)
    expect(issuePaths(response)).toContain(field)
  })

  it("keeps principals apart: B gets 404 for everything of A's", async () => {
    const hook = await createLab(A)
    lab.bus.emit('agent.executed', { agent_id: 'x', input: 'i', output: 'o', duration_ms: 1 }, { user_id: 'user-a' })
    await lab.dispatcher.flush()
    const deliveries = await waitFor(async () => {
      const path = `/lab/webhooks/${hook.id}/deliveries?status=succeeded`
      const page = deliveryPage.parse((await call('GET', path, { headers: A })).body)
      return page.data.length > 0 ? page.data : null
    })
    const deliveryId = deliveries?.[0]?.id as string
    const seen = requestsTo(hook.path).length
    const base = `/lab/webhooks/${hook.id}`
    const attempts: Array<[string, string, unknown?]> = [
      ['GET', base],
      ['PATCH', base, { description: 'mine now' }],
      ['DELETE', base],
      ['POST', `${base}/test`, {}],
      ['GET', `${base}/deliveries`],
      ['GET', `${base}/deliveries/${deliveryId}`],
      ['POST', `${base}/deliveries/${deliveryId}/redeliver`],
    ]
    for (const [method, path, body] of attempts) {
      const response = await call(method, path, { headers: B, body })
      expect(response.status, `${method} ${path}`).toBe(404)
      expect(errorView.parse(response.body).error.code).toBe('not_found')
    }
    // B's own webhook does not open A's delivery either.
    const own = await createLab(B)
    expect((await call('GET', `/lab/webhooks/${own.id}/deliveries/${deliveryId}`, { headers: B })).status).toBe(404)
    const list = webhookPage.parse((await call('GET', '/lab/webhooks?limit=100', { headers: B })).body)
    expect(list.data.map((w) => w.id)).not.toContain(hook.id)
    expect(requestsTo(hook.path)).toHaveLength(seen)
    expect(webhookView.parse((await call('GET', base, { headers: A })).body)).toMatchObject({
      id: hook.id,
      description: null,
      enabled: true,
    })
  })

  it('POST /test sends one signed sample now and records a test delivery', async () => {
    const good = await createLab(A, { events: ['workflow.failed', 'agent.created'] })
    const ok = await call('POST', `/lab/webhooks/${good.id}/test`, { headers: A })
    expect(ok.status, ok.text).toBe(200)
    const result = testResultView.parse(ok.body)
    expect(result).toMatchObject({ success: true, status_code: 200, error: null, response_body: 'ok' })
    const [sent] = requestsTo(good.path)
    expect(JSON.parse(sent?.body.toString() ?? '{}')).toMatchObject({ event: 'workflow.failed', metadata: { test: true } })

    const chosen = await call('POST', `/lab/webhooks/${good.id}/test`, { headers: A, body: { event: 'rag.queried' } })
    expect(testResultView.parse(chosen.body).success).toBe(true)
    expect(JSON.parse(requestsTo(good.path)[1]?.body.toString() ?? '{}').event).toBe('rag.queried')

    const bad = await call('POST', `/lab/webhooks/${good.id}/test`, { headers: A, body: { event: 'nope' } })
    expect(bad.status).toBe(400)
    expect(issuePaths(bad)).toContain('event')

    const failPath = `/fail/${kind}/${hooks}`
    const failing = await createLab(A, { url: `${receiver.url}${failPath}` })
    const failed = await call('POST', `/lab/webhooks/${failing.id}/test`, { headers: A, body: {} })
    expect(failed.status).toBe(200)
    expect(testResultView.parse(failed.body)).toMatchObject({
      success: false,
      status_code: 500,
      response_body: 'receiver broke',
    })

    const recorded = deliveryPage.parse((await call('GET', `/lab/webhooks/${failing.id}/deliveries`, { headers: A })).body)
    expect(recorded.data).toHaveLength(1)
    expect(recorded.data[0]).toMatchObject({ id: testResultView.parse(failed.body).delivery_id, test: true, status: 'failed' })
    // No retry follows a test send.
    await new Promise((resolve) => setTimeout(resolve, 80))
    expect(requestsTo(failPath)).toHaveLength(1)
  })

  it('lists deliveries newest first, shows one with its attempts, and redelivers under the same id', async () => {
    const hook = await createLab(A)
    for (let i = 0; i < 3; i++) {
      lab.bus.emit('agent.executed', { agent_id: `a${i}`, input: 'i', output: 'o', duration_ms: i }, { user_id: 'user-a' })
    }
    lab.bus.emit('agent.executed', { agent_id: 'other', input: 'i', output: 'o', duration_ms: 1 }, { user_id: 'user-b' })
    const base = `/lab/webhooks/${hook.id}/deliveries`
    const all = await waitFor(async () => {
      const page = deliveryPage.parse((await call('GET', `${base}?status=succeeded`, { headers: A })).body)
      return page.data.length === 3 ? page.data : null
    })
    // The tenant rule: user-b's event never reached user-a's webhook.
    expect(all.map((d) => JSON.parse(d.body).payload.agent_id)).toEqual(['a2', 'a1', 'a0'])

    const first = deliveryPage.parse((await call('GET', `${base}?limit=2`, { headers: A })).body)
    expect(first.data.map((d) => d.id)).toEqual(all.slice(0, 2).map((d) => d.id))
    const second = deliveryPage.parse((await call('GET', `${base}?limit=2&cursor=${first.next_cursor}`, { headers: A })).body)
    expect(second.data.map((d) => d.id)).toEqual([all[2]?.id])
    expect(second.next_cursor).toBeNull()
    expect(deliveryPage.parse((await call('GET', `${base}?status=failed`, { headers: A })).body).data).toEqual([])

    const target = all[1]?.id as string
    const one = await call('GET', `${base}/${target}`, { headers: A })
    expect(one.status).toBe(200)
    const delivery = deliveryView.parse(one.body)
    expect(delivery.attempts).toHaveLength(1)
    expect(delivery.attempts[0]).toMatchObject({ attempt: 1, status_code: 200, error: null })

    const redelivered = await call('POST', `${base}/${target}/redeliver`, { headers: A })
    expect(redelivered.status, redelivered.text).toBe(202)
    expect(deliveryView.parse(redelivered.body)).toMatchObject({ id: target, status: 'pending' })
    const atReceiver = await waitFor(() => {
      const hits = requestsTo(hook.path).filter((r) => r.headers['x-webhook-delivery'] === target)
      return hits.length === 2 ? hits : null
    })
    expect(atReceiver[1]?.body.equals(atReceiver[0]?.body as Buffer)).toBe(true)
    const after = await waitFor(async () => {
      const d = deliveryView.parse((await call('GET', `${base}/${target}`, { headers: A })).body)
      return d.status === 'succeeded' && d.attempts.length === 2 ? d : null
    })
    expect(after.attempts.map((a) => a.status_code)).toEqual([200, 200])
  })

  it('serves the thirteen event types with their JSON Schemas', async () => {
    const response = await call('GET', '/webhooks/event-types', { headers: A })
    expect(response.status).toBe(200)
    const catalog = eventTypesView.parse(response.body)
    expect(catalog.data).toHaveLength(13)
    const executed = catalog.data.find((t) => t.type === 'agent.executed')
    expect(executed?.schema).toMatchObject({ type: 'object', required: expect.arrayContaining(['agent_id', 'duration_ms']) })
  })

  it('answers 405 with Allow for a wrong method and 404 for unknown routes', async () => {
    const put = await call('PUT', '/webhooks', { headers: A, body: {} })
    expect(put.status).toBe(405)
    expect(put.headers.get('allow')).toBe('GET, POST')
    expect(errorView.parse(put.body).error.code).toBe('method_not_allowed')
    const del = await call('DELETE', '/webhooks/event-types', { headers: A })
    expect(del.status).toBe(405)
    expect(del.headers.get('allow')).toBe('GET')
    const post = await call('POST', `/webhooks/${MISSING_ID}`, { headers: A, body: {} })
    expect(post.headers.get('allow')).toBe('GET, PATCH, DELETE')

    for (const path of [`/webhooks/${MISSING_ID}/nothing`, '/webhooks/a/b/c/d/e/f', `/webhooks/${MISSING_ID}/deliveries/${MISSING_ID}/x`]) {
      const response = await call('GET', path, { headers: A })
      expect(response.status, path).toBe(404)
      expect(errorView.parse(response.body).error.code).toBe('not_found')
    }
    expect((await call('GET', `/webhooks/${MISSING_ID}`, { headers: A })).status).toBe(404)
  })

  it('leaves paths outside basePath to the host', async () => {
    const response = await call('GET', '/health', { headers: A })
    if (kind === 'express') {
      expect(response.status).toBe(200)
      expect(response.body).toEqual({ ok: true, handled_by: 'express' })
    } else {
      expect(response.status).toBe(404)
    }
    // A path that merely starts with the base path is not the API's either.
    expect((await call('GET', '/webhooksfoo', { headers: A })).status).toBe(404)
  })
})

interface RequestInit_ {
  body?: unknown
  raw?: string
  type?: string
}
