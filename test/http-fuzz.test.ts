import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createEventBus, EVENT_TYPES, MemoryWebhookStore, WebhookDispatcher } from '../src/index.js'
import { registrationSchemas } from '../src/delivery/registration.js'
import { createWebhookRoutes, type WebhookRoutes } from '../src/http/index.js'

// Random methods, paths, headers and bodies through the core handler. The
// property: never a 500 (nor an error reported to the host), always a JSON
// error body, never a stored webhook that breaks a registration rule, and
// never a polluted prototype. `npm run test:fuzz` runs 10,000 cases;
// `npm test` runs FUZZ_RUNS (default 300).
const RUNS = Number(process.env.FUZZ_RUNS ?? 300)
const PRINCIPALS: Record<string, { id: string }> = { 'token-a': { id: 'user-a' }, 'token-b': { id: 'user-b' } }

const store = new MemoryWebhookStore()
const bus = createEventBus()
const dispatcher = new WebhookDispatcher({
  bus,
  store,
  // Every name resolves to 127.0.0.1, which the guard refuses: no test send
  // the fuzzer triggers can leave the machine, or even connect.
  resolveHost: async () => [{ address: '127.0.0.1', family: 4 }],
  timeoutMs: 1000,
  onError: () => undefined,
})
const reported: unknown[] = []
let routes: WebhookRoutes
const ids: string[] = []

beforeAll(async () => {
  await dispatcher.start()
  routes = createWebhookRoutes({
    dispatcher,
    authenticate: (token) => (Object.hasOwn(PRINCIPALS, token) ? (PRINCIPALS[token] ?? null) : null),
    maxBodyBytes: 4096,
    onError: (error) => reported.push(error),
  })
  const hook = await dispatcher.createWebhook({ url: 'https://hooks.example.com/a', events: ['*'], owner_id: 'user-a' })
  ids.push(hook.id)
  const test = await dispatcher.sendTest(hook.id)
  ids.push(test.delivery_id)
})

afterAll(() => dispatcher.close())

const printable = fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 40 })

// Weighted towards requests that get past authentication and routing, so
// the validation and the store are what most cases exercise.
const w = <T>(weight: number, arbitrary: fc.Arbitrary<T>) => ({ weight, arbitrary })

const segment = fc.oneof(
  w(2, fc.constantFrom('test', 'deliveries', 'redeliver')),
  fc.constantFrom('test', 'deliveries', 'redeliver', 'event-types', '__proto__', 'constructor', 'prototype', '..', '%00', '%2F', ''),
  fc.constantFrom('00000000-0000-4000-8000-000000000000', 'ffffffff-ffff-ffff-ffff-ffffffffffff'),
  w(3, fc.constant(null).map(() => ids[0] ?? '')),
  w(2, fc.constant(null).map(() => ids[1] ?? '')),
  printable.map(encodeURIComponent),
)

const query = fc.array(
  fc.tuple(
    fc.constantFrom('limit', 'cursor', 'status', '__proto__', 'constructor', 'x'),
    fc.oneof(fc.constantFrom('0', '1', '50', '100', '101', '-1', '1e2', 'abc', 'pending', 'dzox', 'w:1'), printable),
  ),
  { maxLength: 3 },
)

const path = fc
  .tuple(
    fc.oneof(w(8, fc.constant('/webhooks')), fc.constantFrom('/webhooks/', '/webhook', '/')),
    fc.oneof(w(3, fc.constant([])), w(4, fc.array(segment, { minLength: 1, maxLength: 2 })), fc.array(segment, { maxLength: 5 })),
    fc.oneof(w(3, fc.constant([])), query),
  )
  .map(([base, parts, q]) => {
    const search = q.length ? `?${q.map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join('&')}` : ''
    return `${base}${parts.length ? `${base.endsWith('/') ? '' : '/'}${parts.join('/')}` : ''}${search}`
  })

const eventsValue = fc.oneof(
  w(4, fc.subarray([...EVENT_TYPES], { minLength: 1 })),
  fc.subarray([...EVENT_TYPES]),
  fc.constant(['*']),
  fc.array(fc.oneof(fc.constantFrom(...EVENT_TYPES, '*'), printable), { maxLength: 15 }),
  fc.anything(),
)

const headerMap = fc.dictionary(
  fc.oneof(w(3, fc.constantFrom('X-Team', 'X-Env', 'Authorization')), fc.constantFrom('X-Team', 'x-webhook-signature', 'Content-Type', 'Host', '__proto__', 'constructor', 'Bad Name'), printable),
  fc.oneof(w(4, printable), fc.constantFrom('a\r\nX-Injected: 1', 'a\nb', 'x'.repeat(1100)), fc.anything()),
  { maxKeys: 22 },
)

const urlValue = fc.oneof(
  w(4, fc.constantFrom('https://hooks.example.com/agno', 'https://api.example.org:8443/in?x=1')),
  fc.constantFrom(
    'https://hooks.example.com/agno',
    'http://hooks.example.com/agno',
    'https://user:pw@hooks.example.com/',
    'https://10.0.0.1/x',
    'https://[::ffff:127.0.0.1]/x',
    'https://169.254.169.254/latest',
    'https://0/x',
    'https://2130706433/x',
    'https://localhost./x',
    `https://hooks.example.com/${'a'.repeat(3000)}`,
    'https://hooks.example.com/#frag',
    'javascript:alert(1)',
  ),
  fc.webUrl(),
  printable,
  fc.anything(),
)

const fields = {
  url: urlValue,
  events: eventsValue,
  secret: fc.oneof(printable, w(3, fc.string({ minLength: 16, maxLength: 40 })), fc.anything()),
  headers: headerMap,
  description: fc.oneof(w(3, printable), fc.constant(null), fc.anything()),
  enabled: fc.oneof(w(3, fc.boolean()), fc.anything()),
}

// Mostly bodies shaped like a registration, some with fields that must be refused.
const registration = fc
  .oneof(
    w(3, fc.record(fields, { requiredKeys: ['url', 'events'] })),
    fc.record({ ...fields, owner_id: fc.oneof(printable, fc.constant(null)), evnts: fc.anything() }, { requiredKeys: [] }),
  )
  .map((value) => JSON.stringify(value))

// JSON.stringify drops a `__proto__` key, so these are written by hand.
const hostile = fc.constantFrom(
  '{"__proto__":{"polluted":"yes"},"url":"https://hooks.example.com/a","events":["*"]}',
  '{"url":"https://hooks.example.com/a","events":["*"],"headers":{"__proto__":{"polluted":"yes"}}}',
  '{"url":"https://hooks.example.com/a","events":["*"],"headers":{"__proto__":"x"}}',
  '{"constructor":{"prototype":{"polluted":"yes"}},"url":"https://hooks.example.com/a","events":["*"]}',
  '{"event":"__proto__"}',
  '{"event":"constructor"}',
  '[',
  '\u0000',
  'null',
  '"string"',
  '1e309',
)

const body = fc.oneof(w(6, registration), w(2, hostile), fc.json(), printable, fc.constant(''), fc.constant('x'.repeat(5000)))

const request = fc.record({
  method: fc.oneof(
    w(4, fc.constantFrom('POST', 'PATCH')),
    w(2, fc.constantFrom('GET', 'DELETE')),
    fc.constantFrom('PUT', 'OPTIONS', 'HEAD', 'PROPFIND'),
  ),
  path,
  authorization: fc.oneof(
    w(8, fc.constantFrom('Bearer token-a', 'Bearer token-b')),
    fc.constantFrom('Bearer token-a', 'Bearer token-b', 'Bearer token-a ', 'bearer token-a', 'Bearer', 'Basic token-a', ''),
    printable,
  ),
  contentType: fc.option(
    fc.oneof(w(6, fc.constant('application/json')), fc.constantFrom('application/json', 'application/json; charset=utf-8', 'text/plain', 'application/merge-patch+json', ''), printable),
  ),
  body,
})

// Every webhook stored so far keeps every registration rule.
async function expectStoredWebhooksValid() {
  const rules = registrationSchemas(dispatcher.registrationPolicy)
  const stored = await store.listWebhooks({ limit: 100_000 })
  for (const hook of stored) {
    const result = rules.create.safeParse({
      url: hook.url,
      events: hook.events,
      secret: hook.secret,
      headers: hook.headers,
      description: hook.description,
      owner_id: hook.owner_id,
      enabled: hook.enabled,
    })
    expect(result.success, JSON.stringify(result.error?.issues)).toBe(true)
    expect(hook.owner_id === 'user-a' || hook.owner_id === 'user-b').toBe(true)
  }
  return stored
}

function protoKeys(): string[] {
  return Object.getOwnPropertyNames(Object.prototype).sort()
}

describe('the /webhooks API under random requests', () => {
  it(`never answers 500, never stores a broken webhook, never pollutes a prototype (${RUNS} cases)`, async () => {
    const before = protoKeys()
    const statuses = new Map<number, number>()
    await fc.assert(
      fc.asyncProperty(request, async (r) => {
        const headers = new Headers()
        if (r.authorization) headers.set('authorization', r.authorization)
        if (r.contentType !== null) headers.set('content-type', r.contentType)
        const withBody = !['GET', 'HEAD'].includes(r.method) && r.body !== ''
        const response = await routes.fetch(
          new Request(`http://api.test${r.path}`, { method: r.method, headers, body: withBody ? r.body : undefined }),
        )
        statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1)
        expect(response.status).toBeLessThan(500)
        const text = await response.text()
        if (response.status >= 400) expect(JSON.parse(text)).toHaveProperty('error.code')
        expect(({} as Record<string, unknown>).polluted).toBeUndefined()
      }),
      { numRuns: RUNS },
    )
    expect(reported).toEqual([])
    expect(protoKeys()).toEqual(before)

    const stored = await expectStoredWebhooksValid()
    if (process.env.FUZZ_REPORT) console.log(Object.fromEntries(statuses), stored.length)
    // The run reached past authentication and validation, not just 401s.
    expect([...statuses.keys()].sort()).toEqual(expect.arrayContaining([200, 400, 401, 404, 405]))
  })
  it(`answers POST /webhooks with 201 or a 400 naming a field, storing only valid webhooks (${RUNS} cases)`, async () => {
    let created = 0
    await fc.assert(
      fc.asyncProperty(registration, async (text) => {
        const response = await routes.fetch(
          new Request('http://api.test/webhooks', {
            method: 'POST',
            headers: { authorization: 'Bearer token-b', 'content-type': 'application/json' },
            body: text,
          }),
        )
        const body = (await response.json()) as { error?: { details?: { path: string }[] } }
        if (response.status === 201) created++
        else {
          expect(response.status === 400 || response.status === 413, `${response.status} ${JSON.stringify(body)}`).toBe(true)
          if (response.status === 400) expect(body.error?.details?.[0]?.path).toEqual(expect.any(String))
        }
      }),
      { numRuns: RUNS },
    )
    await expectStoredWebhooksValid()
    expect(created).toBeGreaterThan(0)
    expect(reported).toEqual([])
  })
})
