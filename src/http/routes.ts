import type { IncomingMessage, ServerResponse } from 'node:http'
import { Readable } from 'node:stream'
import type { z } from 'zod'
import { AgnoEventsError, ConflictError, NotFoundError, StoreBusyError, WebhookValidationError, type ValidationIssue } from '../errors.js'
import { eventCatalog, eventJsonSchema, EVENT_TYPES, type EventType } from '../events/catalog.js'
import type { CreatedWebhook, Webhook, WebhookDelivery, WebhookDispatcher } from '../delivery/dispatcher.js'
import { checkWith, registrationSchemas } from '../delivery/registration.js'
import { collectIssues } from '../zod-issues.js'
import { createdWebhookView, idParam, listDeliveriesQuery, listWebhooksQuery, testBody, type ErrorBody } from './schemas.js'

/** Who is calling: what `authenticate` returns for a good token. */
export interface Principal {
  /** Owns the webhooks it creates; sees no other webhook. */
  id: string
}

/** Options of {@link createWebhookRoutes}. */
export interface WebhookRoutesOptions {
  dispatcher: WebhookDispatcher
  /** Maps a bearer token to a principal, or null when the token is unknown. May be async. */
  authenticate: (token: string, request: Request) => Principal | null | Promise<Principal | null>
  /** Where the routes live, relative to where they are mounted. Default `/webhooks`. */
  basePath?: string
  /** Larger request bodies get 413. Default 65 536. */
  maxBodyBytes?: number
  /** Receives every error answered with a 500 (whose body says nothing more). Default: `console.error`. */
  onError?: (error: unknown, request: Request) => void
}

/** A request a Node host may have parsed already (Express's `express.json()`, Fastify). */
export type NodeRequest = IncomingMessage & { body?: unknown }

/** The /webhooks API, ready to mount on any host. */
export interface WebhookRoutes {
  /** Web-standard handler: Hono, Next.js, Bun, Deno, any fetch-style host. */
  fetch(request: Request): Promise<Response>
  /**
   * `node:http`, Express and Connect handler. Calls `next()` for paths outside
   * `basePath` (answers 404 without one) and accepts a body already parsed by
   * the host on `req.body`.
   */
  node(req: NodeRequest, res: ServerResponse, next?: (error?: unknown) => void): Promise<void>
  readonly basePath: string
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: readonly ValidationIssue[],
    readonly headers: Record<string, string> = {},
  ) {
    super(message)
  }
}

type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE'

interface Context {
  request: Request
  principal: Principal
  params: string[]
  query: URLSearchParams
}

type Handler = (ctx: Context) => Promise<Response>

interface Route {
  /** Path segments after the base path; `:id` matches any one segment. */
  pattern: string[]
  methods: Partial<Record<Method, Handler>>
}

const JSON_HEADERS = { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' }

/**
 * The /webhooks management API of SPEC §8 as one fetch handler and a thin
 * Node adapter over it. Every route goes through the dispatcher's code API;
 * each principal sees and changes only the webhooks it created.
 *
 * @example
 * ```ts
 * const routes = createWebhookRoutes({
 *   dispatcher,
 *   authenticate: (token) => (token === process.env.API_TOKEN ? { id: 'user-1' } : null),
 * })
 * http.createServer((req, res) => routes.node(req, res)).listen(3000)
 * ```
 */
export function createWebhookRoutes(options: WebhookRoutesOptions): WebhookRoutes {
  const { dispatcher, authenticate } = options
  if (!dispatcher || typeof authenticate !== 'function') {
    throw new TypeError('createWebhookRoutes needs a dispatcher and an authenticate function')
  }
  const basePath = normalizeBasePath(options.basePath ?? '/webhooks')
  const maxBodyBytes = options.maxBodyBytes ?? 65_536
  if (!Number.isInteger(maxBodyBytes) || maxBodyBytes < 1) throw new TypeError('maxBodyBytes must be a positive integer')
  const onError = options.onError ?? ((error: unknown) => console.error('[agno-events] /webhooks:', error))
  const rules = registrationSchemas(dispatcher.registrationPolicy)

  // A webhook the principal owns, or 404 exactly as if it did not exist.
  async function ownWebhook(ctx: Context): Promise<Webhook> {
    const id = parseParam('id', ctx.params[0])
    const hook = await dispatcher.getWebhook(id)
    if (hook.owner_id !== ctx.principal.id) throw new NotFoundError('webhook', id)
    return hook
  }

  async function ownDelivery(ctx: Context): Promise<WebhookDelivery> {
    const id = parseParam('delivery_id', ctx.params[1])
    const hook = await ownWebhook(ctx)
    const delivery = await dispatcher.getDelivery(id)
    if (delivery.webhook_id !== hook.id) throw new NotFoundError('delivery', id)
    return delivery
  }

  const routes: Route[] = [
    {
      pattern: [],
      methods: {
        async GET(ctx) {
          const query = parseQuery(listWebhooksQuery, ctx.query)
          const page = await dispatcher.listWebhooks({
            owner_id: ctx.principal.id,
            limit: query.limit === undefined ? undefined : Number(query.limit),
            cursor: query.cursor,
          })
          return json(200, { data: page.data.map(webhookView), next_cursor: page.next_cursor })
        },
        async POST(ctx) {
          const body = checkWith(rules.body, await readJson(ctx.request, maxBodyBytes, true))
          const hook = await dispatcher.createWebhook({ ...body, owner_id: ctx.principal.id })
          return json(201, webhookView(hook), { location: `${basePath}/${hook.id}` })
        },
      },
    },
    {
      pattern: ['event-types'],
      methods: {
        async GET() {
          return json(200, { data: eventTypes() })
        },
      },
    },
    {
      pattern: [':id'],
      methods: {
        async GET(ctx) {
          return json(200, webhookView(await ownWebhook(ctx)))
        },
        async PATCH(ctx) {
          const hook = await ownWebhook(ctx)
          const patch = checkWith(rules.patch, await readJson(ctx.request, maxBodyBytes, true))
          return json(200, webhookView(await dispatcher.updateWebhook(hook.id, patch)))
        },
        async DELETE(ctx) {
          const hook = await ownWebhook(ctx)
          await dispatcher.deleteWebhook(hook.id)
          return new Response(null, { status: 204, headers: { 'cache-control': 'no-store' } })
        },
      },
    },
    {
      pattern: [':id', 'test'],
      methods: {
        async POST(ctx) {
          const hook = await ownWebhook(ctx)
          const body = checkWith(testBody, (await readJson(ctx.request, maxBodyBytes, false)) ?? {})
          return json(200, await dispatcher.sendTest(hook.id, { event: body.event as EventType | undefined }))
        },
      },
    },
    {
      pattern: [':id', 'deliveries'],
      methods: {
        async GET(ctx) {
          const hook = await ownWebhook(ctx)
          const query = parseQuery(listDeliveriesQuery, ctx.query)
          const page = await dispatcher.listDeliveries(hook.id, {
            status: query.status,
            limit: query.limit === undefined ? undefined : Number(query.limit),
            cursor: query.cursor,
          })
          return json(200, page)
        },
      },
    },
    {
      pattern: [':id', 'deliveries', ':id'],
      methods: {
        async GET(ctx) {
          return json(200, await ownDelivery(ctx))
        },
      },
    },
    {
      pattern: [':id', 'deliveries', ':id', 'redeliver'],
      methods: {
        async POST(ctx) {
          const delivery = await ownDelivery(ctx)
          return json(202, await dispatcher.redeliver(delivery.id))
        },
      },
    },
  ]

  async function handle(request: Request): Promise<Response> {
    const url = new URL(request.url)
    const segments = relativeSegments(url.pathname, basePath)
    if (segments === null) throw new HttpError(404, 'not_found', `No route for ${url.pathname}`)

    const principal = await authenticateRequest(request, authenticate)

    const match = matchRoute(routes, segments)
    if (!match) throw new HttpError(404, 'not_found', `No route for ${url.pathname}`)
    const allow = Object.keys(match.route.methods).join(', ')
    if (request.method === 'OPTIONS') return new Response(null, { status: 204, headers: { allow } })
    const handler = match.route.methods[request.method as Method]
    if (!handler) {
      throw new HttpError(405, 'method_not_allowed', `${request.method} is not allowed here; use ${allow}`, undefined, { allow })
    }
    return handler({ request, principal, params: match.params, query: url.searchParams })
  }

  async function fetchHandler(request: Request): Promise<Response> {
    try {
      return await handle(request)
    } catch (error) {
      return errorResponse(error, (e) => onError(e, request))
    }
  }

  async function node(req: NodeRequest, res: ServerResponse, next?: (error?: unknown) => void): Promise<void> {
    const path = (req.url ?? '/').split('?')[0] ?? '/'
    if (relativeSegments(path, basePath) === null && next) return void next()
    let request: Request
    try {
      request = toRequest(req)
    } catch {
      // Only a request Node accepted but the URL and Headers classes refuse.
      return writeResponse(res, json(400, { error: { code: 'bad_request', message: 'The request could not be read' } }))
    }
    await writeResponse(res, await fetchHandler(request))
  }

  return { fetch: fetchHandler, node, basePath }
}

// --- routing --------------------------------------------------------------

function normalizeBasePath(path: string): string {
  if (!path.startsWith('/')) throw new TypeError(`basePath must start with "/", got ${JSON.stringify(path)}`)
  return path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path
}

/** The path's segments below `basePath`, or null when it is outside. One trailing slash is ignored. */
function relativeSegments(pathname: string, basePath: string): string[] | null {
  let rest: string
  if (basePath === '/') rest = pathname
  else if (pathname === basePath || pathname.startsWith(`${basePath}/`)) rest = pathname.slice(basePath.length)
  else return null
  if (rest.endsWith('/')) rest = rest.slice(0, -1)
  return rest === '' ? [] : rest.slice(1).split('/')
}

function matchRoute(routes: readonly Route[], segments: readonly string[]): { route: Route; params: string[] } | null {
  let best: { route: Route; params: string[]; literals: number } | null = null
  for (const route of routes) {
    if (route.pattern.length !== segments.length) continue
    const params: string[] = []
    let literals = 0
    const matches = route.pattern.every((part, i) => {
      const segment = segments[i] as string
      if (part === ':id') {
        params.push(segment)
        return true
      }
      literals++
      return part === segment
    })
    // A literal segment (`event-types`) wins over a parameter.
    if (matches && (!best || literals > best.literals)) best = { route, params, literals }
  }
  return best
}

function parseParam(name: string, raw: string | undefined): string {
  let value: string
  try {
    value = decodeURIComponent(raw ?? '')
  } catch {
    value = raw ?? ''
  }
  const result = idParam.safeParse(value)
  if (!result.success) throw new WebhookValidationError([{ path: name, message: 'is not a valid id' }])
  return result.data
}

function parseQuery<S extends z.ZodType>(schema: S, params: URLSearchParams): z.output<S> {
  const query: Record<string, string> = {}
  for (const [name, value] of params) {
    if (Object.hasOwn(query, name)) throw new WebhookValidationError([{ path: name, message: 'is given more than once' }])
    Object.defineProperty(query, name, { value, enumerable: true, configurable: true, writable: true })
  }
  const result = schema.safeParse(query)
  if (!result.success) throw new WebhookValidationError(collectIssues('', query, result.error))
  return result.data
}

// --- authentication ----------------------------------------------------------

const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i

async function authenticateRequest(
  request: Request,
  authenticate: WebhookRoutesOptions['authenticate'],
): Promise<Principal> {
  const header = request.headers.get('authorization')
  if (header === null) {
    throw new HttpError(401, 'unauthorized', 'A bearer token is required', undefined, {
      'www-authenticate': 'Bearer realm="webhooks"',
    })
  }
  const token = BEARER.exec(header)?.[1]
  const principal = token === undefined ? null : await authenticate(token, request)
  if (principal === null || principal === undefined) {
    throw new HttpError(401, 'unauthorized', 'The bearer token is not valid', undefined, {
      'www-authenticate': 'Bearer realm="webhooks", error="invalid_token"',
    })
  }
  if (typeof principal.id !== 'string' || principal.id === '') {
    throw new TypeError('authenticate must return null or { id: string } with a non-empty id')
  }
  return principal
}

// --- bodies -------------------------------------------------------------------

function isJsonType(contentType: string | null): boolean {
  if (contentType === null) return false
  const type = contentType.split(';')[0]?.trim().toLowerCase() ?? ''
  return type === 'application/json' || (type.startsWith('application/') && type.endsWith('+json'))
}

/**
 * The request's JSON body, read up to `maxBytes`. An empty body is `undefined`
 * when it is optional and a 400 when it is required.
 */
async function readJson(request: Request, maxBytes: number, required: boolean): Promise<unknown> {
  const declared = request.headers.get('content-length')
  if (declared !== null && Number(declared) > maxBytes) throw tooLarge(maxBytes)
  const bytes = await readBody(request, maxBytes)
  if (bytes.length === 0) {
    if (!required) return undefined
    throw new WebhookValidationError([{ path: '', message: 'a JSON body is required' }])
  }
  if (!isJsonType(request.headers.get('content-type'))) {
    throw new HttpError(415, 'unsupported_media_type', 'The body must be JSON (Content-Type: application/json)')
  }
  let text: string
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes)
  } catch {
    throw new HttpError(400, 'invalid_json', 'The body is not valid UTF-8')
  }
  try {
    return JSON.parse(text)
  } catch (error) {
    throw new HttpError(400, 'invalid_json', `The body is not valid JSON: ${(error as Error).message}`)
  }
}

async function readBody(request: Request, maxBytes: number): Promise<Uint8Array> {
  if (request.body === null) return new Uint8Array(0)
  const reader = request.body.getReader()
  const chunks: Uint8Array[] = []
  let size = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    size += value.byteLength
    if (size > maxBytes) {
      await reader.cancel().catch(() => undefined)
      throw tooLarge(maxBytes)
    }
    chunks.push(value)
  }
  return Buffer.concat(chunks)
}

function tooLarge(maxBytes: number): HttpError {
  return new HttpError(413, 'payload_too_large', `The body is larger than ${maxBytes} bytes`)
}

// --- responses ----------------------------------------------------------------

function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { ...JSON_HEADERS, ...headers } })
}

// The fields of a webhook the API returns, in order: the response schema's,
// so the OpenAPI document, the contract tests and the responses agree.
const VIEW_FIELDS = Object.keys(createdWebhookView.shape) as Array<keyof CreatedWebhook>

/** The API's view of a webhook: the seed's fields first, never the owner, the secret only when generated. */
function webhookView(hook: Webhook | CreatedWebhook): Record<string, unknown> {
  const view: Record<string, unknown> = {}
  for (const field of VIEW_FIELDS) {
    const value = (hook as CreatedWebhook)[field]
    if (value !== undefined) view[field] = value
  }
  return view
}

let eventTypesCache: { type: string; description: string | null; schema: Record<string, unknown> }[] | undefined

function eventTypes() {
  eventTypesCache ??= EVENT_TYPES.map((type) => ({
    type,
    description: eventCatalog[type].description ?? null,
    schema: eventJsonSchema(type),
  }))
  return eventTypesCache
}

function errorResponse(error: unknown, report: (error: unknown) => void): Response {
  const body = (code: string, message: string, details?: readonly ValidationIssue[]): ErrorBody => ({
    error: details ? { code, message, details: [...details] } : { code, message },
  })
  if (error instanceof HttpError) return json(error.status, body(error.code, error.message, error.details), error.headers)
  if (error instanceof WebhookValidationError) return json(400, body('invalid_request', error.message, error.issues))
  if (error instanceof NotFoundError) return json(404, body('not_found', `No such ${error.resource}`))
  if (error instanceof ConflictError) return json(409, body('conflict', error.message))
  if (error instanceof StoreBusyError) {
    return json(503, body('unavailable', 'The store is busy; try again'), { 'retry-after': '1' })
  }
  if (error instanceof AgnoEventsError && error.code === 'closed') {
    return json(503, body('unavailable', 'The service is shutting down'), { 'retry-after': '1' })
  }
  report(error)
  return json(500, body('internal_error', 'Internal server error'))
}

// --- node adapter ---------------------------------------------------------------

function toRequest(req: NodeRequest): Request {
  const host = typeof req.headers.host === 'string' && /^[A-Za-z0-9.\-:[\]]+$/.test(req.headers.host) ? req.headers.host : 'localhost'
  const url = new URL(req.url ?? '/', `http://${host}`)
  const headers = new Headers()
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined || name.startsWith(':')) continue
    for (const item of Array.isArray(value) ? value : [value]) headers.append(name, item)
  }
  const method = req.method ?? 'GET'
  if (method === 'GET' || method === 'HEAD') return new Request(url, { method, headers })
  const parsed = req.body
  if (parsed !== undefined) {
    // The host read the stream already; hand the core the same bytes (or the
    // parsed value, re-serialized), so size and media-type rules still apply.
    const bytes =
      typeof parsed === 'string' ? parsed : parsed instanceof Uint8Array ? new Uint8Array(parsed) : JSON.stringify(parsed)
    headers.delete('content-length')
    headers.delete('transfer-encoding')
    return new Request(url, { method, headers, body: bytes })
  }
  return new Request(url, {
    method,
    headers,
    body: Readable.toWeb(req) as ReadableStream<Uint8Array>,
    duplex: 'half',
  } as RequestInit)
}

async function writeResponse(res: ServerResponse, response: Response): Promise<void> {
  const body = Buffer.from(await response.arrayBuffer())
  res.statusCode = response.status
  response.headers.forEach((value, name) => res.setHeader(name, value))
  if (response.status !== 204) res.setHeader('content-length', body.length)
  res.end(response.status === 204 ? undefined : body)
}
