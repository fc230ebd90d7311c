/**
 * The error hierarchy of agno-events. Every error carries a stable `code` so
 * hosts (and the HTTP layer) can branch without parsing messages.
 */

// `agno-events/verify` is bundled on its own so that it needs nothing but
// node:crypto, which means it holds its own copy of these classes; the CJS and
// ESM builds hold one each too. Each error records the names of its class
// chain under a global symbol, and `instanceof` checks that record, so an
// error from any copy is an instance of the same-named class in every copy.
const CHAIN = Symbol.for('agno-events.error-chain')

function classChain(target: Function): string[] {
  const names: string[] = []
  for (let c: unknown = target; typeof c === 'function' && c !== Error; c = Object.getPrototypeOf(c)) {
    names.push((c as Function).name)
  }
  return names
}

/**
 * The base class of every error agno-events throws.
 *
 * @example
 * ```ts
 * try { bus.emit('agent.executed', payload) }
 * catch (error) { if (error instanceof AgnoEventsError) console.error(error.code) }
 * ```
 */
export class AgnoEventsError extends Error {
  /** A stable, machine-readable error code. */
  readonly code: string

  constructor(code: string, message: string, options?: ErrorOptions) {
    super(message, options)
    this.name = new.target.name
    this.code = code
    Object.defineProperty(this, CHAIN, { value: classChain(new.target) })
  }

  static override [Symbol.hasInstance](this: Function, value: unknown): boolean {
    if (Function.prototype[Symbol.hasInstance].call(this, value)) return true
    if (typeof value !== 'object' || value === null) return false
    const chain = (value as { [CHAIN]?: unknown })[CHAIN]
    return Array.isArray(chain) && chain.includes(this.name)
  }
}

/** One problem found while validating input: where, and what is wrong there. */
export interface ValidationIssue {
  /** Dotted path of the field, e.g. `payload.duration_ms` or `url`. */
  path: string
  message: string
}

function describeIssues(issues: readonly ValidationIssue[]): string {
  return issues.map((i) => `${i.path || '(root)'}: ${i.message}`).join('; ')
}

/**
 * An emitted event does not match its schema. Nothing was delivered.
 *
 * @example
 * ```ts
 * try { bus.emit('agent.executed', { agent_id: 'a' } as never) }
 * catch (error) {
 *   if (error instanceof EventValidationError) console.log(error.issues.map((i) => i.path))
 * }
 * ```
 */
export class EventValidationError extends AgnoEventsError {
  readonly event: string
  readonly issues: readonly ValidationIssue[]

  constructor(event: string, issues: readonly ValidationIssue[]) {
    super('event_invalid', `Invalid "${event}" event: ${describeIssues(issues)}`)
    this.event = event
    this.issues = issues
  }
}

/**
 * A webhook registration or update breaks a rule. Nothing was stored.
 * `field` names the first bad field; `issues` lists all of them.
 *
 * @example
 * ```ts
 * try { await dispatcher.createWebhook({ url: 'ftp://x', events: ['*'] }) }
 * catch (error) { if (error instanceof WebhookValidationError) console.log(error.field) }
 * ```
 */
export class WebhookValidationError extends AgnoEventsError {
  readonly field: string
  readonly issues: readonly ValidationIssue[]

  constructor(issues: readonly ValidationIssue[]) {
    super('webhook_invalid', describeIssues(issues))
    this.field = issues[0]?.path ?? ''
    this.issues = issues
  }
}

/** Why a received webhook failed verification. */
export type WebhookVerificationReason =
  | 'missing_header'
  | 'invalid_signature'
  | 'invalid_timestamp'
  | 'timestamp_too_old'
  | 'timestamp_too_new'
  | 'invalid_body'

/**
 * A received webhook failed verification; `reason` says which check failed.
 *
 * @example
 * ```ts
 * try { verifyWebhook({ body, headers, secret }) }
 * catch (error) { if (error instanceof WebhookVerificationError) res.status(400).end(error.reason) }
 * ```
 */
export class WebhookVerificationError extends AgnoEventsError {
  readonly reason: WebhookVerificationReason

  constructor(reason: WebhookVerificationReason, message: string) {
    super('webhook_verification_failed', message)
    this.reason = reason
  }
}

/**
 * A webhook or delivery does not exist (or is not visible to the caller).
 *
 * @example
 * ```ts
 * const hook = await dispatcher.getWebhook(id).catch((e) => (e instanceof NotFoundError ? null : Promise.reject(e)))
 * ```
 */
export class NotFoundError extends AgnoEventsError {
  readonly resource: 'webhook' | 'delivery'

  constructor(resource: 'webhook' | 'delivery', id: string) {
    super('not_found', `No ${resource} with id "${id}"`)
    this.resource = resource
  }
}

/**
 * The request is valid but conflicts with the current state, e.g. redelivering
 * to a disabled webhook.
 *
 * @example
 * ```ts
 * try { await dispatcher.redeliver(id) }
 * catch (error) { if (error instanceof ConflictError) console.log(error.message) }
 * ```
 */
export class ConflictError extends AgnoEventsError {
  constructor(message: string) {
    super('conflict', message)
  }
}

/**
 * The store could not take a write in time because another connection holds
 * the lock. Nothing was written; the dispatcher keeps the work and retries.
 *
 * @example
 * ```ts
 * try { await dispatcher.flush() }
 * catch (error) { if (error instanceof StoreBusyError) console.warn('database busy, will retry') }
 * ```
 */
export class StoreBusyError extends AgnoEventsError {
  constructor(message: string, options?: ErrorOptions) {
    super('store_busy', message, options)
  }
}
