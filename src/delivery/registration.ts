import { WebhookValidationError, type ValidationIssue } from '../errors.js'
import { EVENT_TYPES, isEventType, type EventType } from '../events/catalog.js'
import { CONNECTION_HEADER_NAMES, DELIVERY_HEADER_NAMES } from './headers.js'
import { literalHostRange, type AddressPolicy } from './ssrf.js'

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

const CREATE_FIELDS = new Set(['url', 'events', 'secret', 'headers', 'description', 'owner_id', 'enabled'])
const UPDATE_FIELDS = new Set(['url', 'events', 'secret', 'headers', 'enabled', 'description'])
const RESERVED_HEADERS = new Set([...DELIVERY_HEADER_NAMES, ...CONNECTION_HEADER_NAMES])
const HTTP_TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/
const MAX_HEADERS = 20
const MAX_HEADER_VALUE = 1024
const MAX_URL = 2048
const MAX_DESCRIPTION = 1024

type Checker = (value: unknown, issues: ValidationIssue[], policy: RegistrationPolicy) => void

const checkers: Record<string, Checker> = {
  url(value, issues, policy) {
    const problem = urlProblem(value, policy)
    if (problem) issues.push({ path: 'url', message: problem })
  },
  events(value, issues) {
    if (!Array.isArray(value)) return void issues.push({ path: 'events', message: 'must be an array of event types' })
    if (value.length === 0) return void issues.push({ path: 'events', message: 'must list at least one event type' })
    if (value.includes('*')) {
      if (value.length !== 1) issues.push({ path: 'events', message: '"*" (all events) must be the only entry' })
      return
    }
    if (value.length > EVENT_TYPES.length) {
      issues.push({ path: 'events', message: `must list at most ${EVENT_TYPES.length} event types` })
    }
    const seen = new Set<unknown>()
    value.forEach((type: unknown, i) => {
      if (!isEventType(type)) issues.push({ path: `events[${i}]`, message: `unknown event type ${JSON.stringify(type)}` })
      else if (seen.has(type)) issues.push({ path: `events[${i}]`, message: `"${type}" is listed twice` })
      seen.add(type)
    })
  },
  secret(value, issues) {
    if (typeof value !== 'string') return void issues.push({ path: 'secret', message: 'must be a string' })
    if (value.length < 16 || value.length > 256) {
      issues.push({ path: 'secret', message: 'must be 16 to 256 characters long' })
    }
  },
  headers(value, issues) {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      return void issues.push({ path: 'headers', message: 'must be an object of header names to values' })
    }
    const entries = Object.entries(value)
    if (entries.length > MAX_HEADERS) issues.push({ path: 'headers', message: `must have at most ${MAX_HEADERS} headers` })
    for (const [name, headerValue] of entries) {
      const path = `headers.${name}`
      if (!HTTP_TOKEN.test(name)) issues.push({ path, message: 'is not a valid HTTP header name' })
      else if (RESERVED_HEADERS.has(name.toLowerCase())) {
        issues.push({ path, message: 'is set by agno-events and cannot be overridden' })
      }
      if (typeof headerValue !== 'string') issues.push({ path, message: 'must be a string' })
      else if (/[\r\n\0]/.test(headerValue)) issues.push({ path, message: 'must not contain CR, LF or NUL' })
      else if (headerValue.length > MAX_HEADER_VALUE) {
        issues.push({ path, message: `must be at most ${MAX_HEADER_VALUE} characters` })
      }
    }
  },
  description(value, issues) {
    if (value === null) return
    if (typeof value !== 'string') return void issues.push({ path: 'description', message: 'must be a string or null' })
    if (value.length > MAX_DESCRIPTION) {
      issues.push({ path: 'description', message: `must be at most ${MAX_DESCRIPTION} characters` })
    }
  },
  owner_id(value, issues) {
    if (value !== null && (typeof value !== 'string' || value.length === 0 || value.length > 256)) {
      issues.push({ path: 'owner_id', message: 'must be null or a string of 1 to 256 characters' })
    }
  },
  enabled(value, issues) {
    if (typeof value !== 'boolean') issues.push({ path: 'enabled', message: 'must be true or false' })
  },
}

function check(input: unknown, allowed: Set<string>, required: string[], policy: RegistrationPolicy): void {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new WebhookValidationError([{ path: '', message: 'must be an object' }])
  }
  const issues: ValidationIssue[] = []
  for (const field of required) {
    if ((input as Record<string, unknown>)[field] === undefined) issues.push({ path: field, message: 'is required' })
  }
  for (const [field, value] of Object.entries(input)) {
    if (!allowed.has(field)) issues.push({ path: field, message: 'is not a known field' })
    else if (value !== undefined) checkers[field]?.(value, issues, policy)
  }
  if (issues.length > 0) throw new WebhookValidationError(issues)
}

/** Throws {@link WebhookValidationError} naming every field that breaks a registration rule. */
export function checkCreateInput(input: unknown, policy: RegistrationPolicy): asserts input is CreateWebhookInput {
  check(input, CREATE_FIELDS, ['url', 'events'], policy)
}

/** Throws {@link WebhookValidationError} naming every field of the patch that breaks a rule. */
export function checkUpdateInput(input: unknown, policy: RegistrationPolicy): asserts input is UpdateWebhookInput {
  check(input, UPDATE_FIELDS, [], policy)
}

function urlProblem(value: unknown, policy: RegistrationPolicy): string | null {
  if (typeof value !== 'string') return 'must be a string'
  if (value.length > MAX_URL) return `must be at most ${MAX_URL} characters`
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
    return `host ${url.hostname} is a ${range} address, which webhooks may not reach (see allowPrivateNetworks and allowedHosts)`
  }
  return null
}
