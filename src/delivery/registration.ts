import { z } from 'zod'
import { WebhookValidationError } from '../errors.js'
import { EVENT_TYPES, type EventType } from '../events/catalog.js'
import { collectIssues } from '../zod-issues.js'
import { CONNECTION_HEADER_NAMES, DELIVERY_HEADER_NAMES } from './headers.js'
import { literalHostRange, type AddressPolicy } from './ssrf.js'

// The registration rules of SPEC §5, as zod schemas: the dispatcher checks
// code registrations with them, the HTTP routes check request bodies with the
// same objects, and the OpenAPI document is generated from them. Objects are
// strict: a misspelt field (`evnts`) is refused, never silently dropped.

/** What `createWebhook` accepts. */
export interface CreateWebhookInput {
  /** An absolute `https` URL (`http` only with `allowInsecureUrls`). */
  url: string
  /** 1 to 13 distinct event types, or `['*']` for all. */
  events: readonly (EventType | '*')[]
  /** 16 to 256 characters. Generated (and returned once) when omitted. */
  secret?: string
  /** Extra headers sent with every delivery. */
  headers?: Readonly<Record<string, string>>
  description?: string | null
  /** The principal that owns it; null (the default) for webhooks registered in code. */
  owner_id?: string | null
  /** Default true. */
  enabled?: boolean
}

/** What `updateWebhook` accepts: any of these fields. */
export interface UpdateWebhookInput {
  url?: string
  events?: readonly (EventType | '*')[]
  secret?: string
  headers?: Readonly<Record<string, string>>
  enabled?: boolean
  description?: string | null
}

/** The registration rules that depend on the dispatcher's options. */
export interface RegistrationPolicy extends AddressPolicy {
  allowInsecureUrls?: boolean
}

const RESERVED_HEADERS = new Set([...DELIVERY_HEADER_NAMES, ...CONNECTION_HEADER_NAMES])
const HTTP_TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/
const MAX_HEADERS = 20
const MAX_HEADER_VALUE = 1024
const MAX_URL = 2048
const MAX_DESCRIPTION = 1024

const MAX_HEADER_NAME = 256

/** A value quoted in a message, cut so that a huge input is never echoed back whole. */
export function quote(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value)
  return text.length > 66 ? `${text.slice(0, 64)}…` : text
}

const eventName = z.enum([...EVENT_TYPES, '*'], {
  error: (issue) => `unknown event type ${quote(issue.input)}`,
})

const events = z
  .array(eventName, { error: 'must be an array of event types' })
  .min(1, { error: 'must list at least one event type' })
  .max(EVENT_TYPES.length, { error: `must list at most ${EVENT_TYPES.length} event types` })
  .superRefine((list, ctx) => {
    if (list.includes('*') && list.length !== 1) {
      ctx.addIssue({ code: 'custom', message: '"*" (all events) must be the only entry' })
      return
    }
    const seen = new Set<string>()
    list.forEach((type, i) => {
      if (seen.has(type)) ctx.addIssue({ code: 'custom', path: [i], message: `"${type}" is listed twice` })
      seen.add(type)
    })
  })
  .describe(`1 to ${EVENT_TYPES.length} distinct event types, or ["*"] for all`)

const secret = z
  .string({ error: 'must be a string' })
  .min(16, { error: 'must be 16 to 256 characters long' })
  .max(256, { error: 'must be 16 to 256 characters long' })
  .describe('The signing secret, 16 to 256 characters; generated when omitted')

const headerValue = z
  .string({ error: 'must be a string' })
  .max(MAX_HEADER_VALUE, { error: `must be at most ${MAX_HEADER_VALUE} characters` })
  .regex(/^[^\r\n\0]*$/, { error: 'must not contain CR, LF or NUL' })

const headers = z
  .record(z.string(), headerValue, { error: 'must be an object of header names to values' })
  .superRefine((value, ctx) => {
    const names = Object.keys(value)
    if (names.length > MAX_HEADERS) ctx.addIssue({ code: 'custom', message: `must have at most ${MAX_HEADERS} headers` })
    for (const name of names) {
      if (name.length > MAX_HEADER_NAME) {
        ctx.addIssue({ code: 'custom', path: [`${name.slice(0, 64)}…`], message: `is longer than ${MAX_HEADER_NAME} characters` })
      } else if (!HTTP_TOKEN.test(name)) {
        ctx.addIssue({ code: 'custom', path: [name], message: 'is not a valid HTTP header name' })
      } else if (RESERVED_HEADERS.has(name.toLowerCase())) {
        ctx.addIssue({ code: 'custom', path: [name], message: 'is set by agno-events and cannot be overridden' })
      }
    }
  })
  .describe(`Up to ${MAX_HEADERS} extra headers sent with every delivery`)

const description = z
  .string({ error: 'must be a string or null' })
  .max(MAX_DESCRIPTION, { error: `must be at most ${MAX_DESCRIPTION} characters` })
  .nullable()

const enabled = z.boolean({ error: 'must be true or false' })

const ownerId = z
  .string({ error: 'must be null or a string of 1 to 256 characters' })
  .min(1, { error: 'must be null or a string of 1 to 256 characters' })
  .max(256, { error: 'must be null or a string of 1 to 256 characters' })
  .nullable()

function urlSchema(policy: RegistrationPolicy) {
  return z
    .string({ error: 'must be a string' })
    .max(MAX_URL, { error: `must be at most ${MAX_URL} characters` })
    .superRefine((value, ctx) => {
      const problem = urlProblem(value, policy)
      if (problem) ctx.addIssue({ code: 'custom', message: problem })
    })
    .meta({ format: 'uri', description: `An absolute https URL of at most ${MAX_URL} characters, user:password-free, on a public host` })
}

/**
 * The create and update body schemas under a policy. `owner_id` is only part
 * of the code API's input: over HTTP the owner is the authenticated principal.
 */
export function registrationSchemas(policy: RegistrationPolicy) {
  const url = urlSchema(policy)
  const patch = z.strictObject({
    url: url.optional(),
    events: events.optional(),
    secret: secret.optional(),
    headers: headers.optional(),
    enabled: enabled.optional(),
    description: description.optional(),
  })
  const body = z.strictObject({
    url,
    events,
    secret: secret.optional(),
    headers: headers.optional(),
    description: description.optional(),
    enabled: enabled.optional(),
  })
  return { body, patch, create: body.extend({ owner_id: ownerId.optional() }) }
}

export type RegistrationSchemas = ReturnType<typeof registrationSchemas>

/** Parses `input` with `schema`; throws {@link WebhookValidationError} naming every bad field. */
export function checkWith<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  // zod drops a `__proto__` key of a record without a word; refuse it instead.
  const proto = protoKeyPath(input, '', 3)
  if (proto !== null) throw new WebhookValidationError([{ path: proto, message: 'is not an allowed key' }])
  const result = schema.safeParse(input)
  if (result.success) return result.data
  throw new WebhookValidationError(
    result.error.issues.length === 1 && result.error.issues[0]?.path.length === 0 && !isObject(input)
      ? [{ path: '', message: 'must be an object' }]
      : collectIssues('', input, result.error),
  )
}

// Registration bodies are two levels deep, so three levels are searched.
function protoKeyPath(value: unknown, path: string, depth: number): string | null {
  if (depth === 0 || !isObject(value)) return null
  for (const [key, child] of Object.entries(value as object)) {
    const childPath = path === '' ? key : `${path}.${key}`
    if (key === '__proto__') return childPath
    const found = protoKeyPath(child, childPath, depth - 1)
    if (found !== null) return found
  }
  return null
}

function isObject(value: unknown): boolean {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function urlProblem(value: string, policy: RegistrationPolicy): string | null {
  let url: URL
  try {
    url = new URL(value)
  } catch {
    return 'must be an absolute URL'
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && policy.allowInsecureUrls)) {
    return policy.allowInsecureUrls ? 'must use https or http' : 'must use https (http needs allowInsecureUrls)'
  }
  if (url.username || url.password) return 'must not contain a user name or password'
  if (url.hash) return 'must not contain a #fragment'
  const range = literalHostRange(url.hostname, policy)
  if (range) {
    return `host ${url.hostname} is ${/^[aeiou]/.test(range) ? 'an' : 'a'} ${range} address, which webhooks may not reach (see allowPrivateNetworks and allowedHosts)`
  }
  return null
}
