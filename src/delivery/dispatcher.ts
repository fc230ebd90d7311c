import { randomBytes } from 'node:crypto'
import { EventEmitter } from 'eventemitter3'
import { AgnoEventsError, ConflictError, NotFoundError, WebhookValidationError } from '../errors.js'
import { isEventType, samplePayloads, EVENT_TYPES, type EventType } from '../events/catalog.js'
import { serializeAtEmit, serializeEnvelope, type EventBus } from '../events/bus.js'
import type { EventEnvelope } from '../events/types.js'
import {
  DELIVERY_STATUSES,
  type AttemptCompletion,
  type AttemptRecord,
  type ClaimedDelivery,
  type CompletionResult,
  type DeliveryStatus,
  type NewDelivery,
  type StoredDelivery,
  type WebhookChanges,
  type WebhookRecord,
  type WebhookStore,
} from '../store/types.js'
import { buildDeliveryHeaders } from './headers.js'
import {
  checkWith,
  quote,
  registrationSchemas,
  type CreateWebhookInput,
  type RegistrationPolicy,
  type RegistrationSchemas,
  type UpdateWebhookInput,
} from './registration.js'
import { checkRetrySchedule, classifyAttempt, DEFAULT_RETRY_SCHEDULE, planNextStep } from './retry.js'
import { systemClock, WakeTimer, type Clock } from './scheduler.js'
import { createUndiciSender, type SendResult, type WebhookSender } from './sender.js'
import { SlowLane } from './slow-lane.js'
import type { ResolveHost } from './ssrf.js'

/** A webhook as the dispatcher returns it: never its secret. */
export interface Webhook {
  id: string
  url: string
  events: (EventType | '*')[]
  enabled: boolean
  created_at: string
  updated_at: string
  headers: Record<string, string>
  description: string | null
  disabled_reason: string | null
  /** Who registered it through the API; null when registered in code. */
  owner_id: string | null
}

/** What `createWebhook` returns: the webhook, plus its secret when it was generated (shown this once). */
export type CreatedWebhook = Webhook & { secret?: string }

/** One attempt of a delivery. */
export interface DeliveryAttempt {
  attempt: number
  started_at: string
  duration_ms: number
  status_code: number | null
  error: string | null
  response_body: string | null
}

/** A delivery of one event to one webhook, with its attempts. */
export interface WebhookDelivery {
  id: string
  webhook_id: string
  event: EventType
  /** The exact bytes that were signed and sent. */
  body: string
  status: DeliveryStatus
  attempts: DeliveryAttempt[]
  /** When the next attempt is due; null when none is scheduled (finished, in flight or parked). */
  next_attempt_at: string | null
  created_at: string
  test: boolean
}

/** A page of results and the cursor of the next one. */
export interface Page<T> {
  data: T[]
  next_cursor: string | null
}

/** What `sendTest` returns. */
export interface TestDeliveryResult {
  success: boolean
  status_code: number | null
  duration_ms: number
  error: string | null
  response_body: string | null
  /** The recorded test delivery. */
  delivery_id: string
}

/** Reported for every attempt the dispatcher makes. */
export interface AttemptReport {
  delivery_id: string
  webhook_id: string
  event: EventType
  attempt: number
  status_code: number | null
  error: string | null
  duration_ms: number
  test: boolean
}

/** Observability events: `dispatcher.on(name, listener)`. */
export interface DispatcherEvents {
  /** After every attempt is recorded. */
  attempt: [report: AttemptReport]
  /** A delivery succeeded. */
  delivered: [report: AttemptReport]
  /** An attempt failed and another is scheduled. */
  retry: [report: AttemptReport & { next_attempt_at: string }]
  /** A delivery failed for good. */
  failed: [report: AttemptReport]
  /** A webhook was disabled by its failures. */
  'webhook-disabled': [webhook: Webhook, reason: string]
  /** Something went wrong inside the dispatcher (a store write, a listener); work is retried. */
  error: [error: unknown]
}

/** Options of {@link WebhookDispatcher}. */
export interface WebhookDispatcherOptions extends RegistrationPolicy {
  bus: EventBus
  store: WebhookStore
  /** Delay before each attempt in ms, from the previous failure; its length is the number of attempts. */
  retrySchedule?: readonly number[]
  /** Per-attempt deadline, connect to last byte. Default 10 000. */
  timeoutMs?: number
  /** Attempts in flight at once, in all. Default 64. */
  concurrency?: number
  /** Attempts in flight at once per webhook (per process). Default 8. */
  perWebhookConcurrency?: number
  /**
   * An endpoint whose attempt runs longer than this is slow: until it answers
   * faster again it gets one attempt at a time, and slow endpoints together
   * get at most half of `concurrency`, so hanging endpoints never starve the
   * healthy ones. Default 2 000 (at most `timeoutMs / 2`).
   */
  slowAttemptMs?: number
  /** Send the Standard Webhooks headers too. Default true. */
  standardWebhooks?: boolean
  /** Replaces the tenant rule (owner_id vs metadata.user_id). */
  canDeliver?: (webhook: Webhook, event: EventEnvelope) => boolean
  onWebhookDisabled?: (webhook: Webhook, reason: string) => void
  /** Internal failures (default: `console.error`). */
  onError?: (error: unknown) => void
  clock?: Clock
  /** Default: `createUndiciSender` with this dispatcher's address policy. */
  sender?: WebhookSender
  /** Name resolution for the default sender (tests use it to simulate DNS). */
  resolveHost?: ResolveHost
  /** How long a claimed delivery stays invisible to other dispatchers. Default `timeoutMs + 30 000`. */
  leaseMs?: number
  /** With a shared store, the longest the scheduler sleeps before re-reading it. Default 30 000. */
  pollIntervalMs?: number
  /** How long `close()` waits for attempts in flight before aborting them. Default `timeoutMs + 1 000`. */
  closeTimeoutMs?: number
  /** Ids of webhooks and deliveries. Default: `crypto.randomUUID`. */
  generateId?: () => string
}

interface Intake {
  envelope: EventEnvelope
  body: string
}

interface PendingCompletion {
  completion: AttemptCompletion
  resolve: (result: CompletionResult) => void
}

const INTAKE_BATCH = 1000
const DEFAULT_LIMIT = 50
const MAX_LIMIT = 100
const STORE_RETRY_MS = 1000

/**
 * Delivers the bus's events to registered webhooks: fan-out, signing, the
 * retry schedule, auto-disable, concurrency limits and the SSRF guard.
 *
 * @example
 * ```ts
 * const bus = createEventBus()
 * const dispatcher = new WebhookDispatcher({ bus, store: new MemoryWebhookStore() })
 * await dispatcher.start()
 * const hook = await dispatcher.createWebhook({ url: 'https://example.com/hooks', events: ['agent.executed'] })
 * bus.emit('agent.executed', { agent_id: 'a', input: 'q', output: 'r', duration_ms: 12 })
 * await dispatcher.flush()  // the delivery is in the store
 * await dispatcher.close()
 * ```
 */
export class WebhookDispatcher {
  private readonly store: WebhookStore
  private readonly sender: WebhookSender
  private readonly clock: Clock
  private readonly schedule: readonly number[]
  private readonly timeoutMs: number
  private readonly concurrency: number
  private readonly perWebhookConcurrency: number
  private readonly leaseMs: number
  private readonly pollIntervalMs: number
  private readonly closeTimeoutMs: number
  private readonly standardWebhooks: boolean
  /** The address and scheme rules registrations are checked against (from the options). */
  readonly registrationPolicy: Readonly<RegistrationPolicy>
  private readonly rules: RegistrationSchemas
  private readonly canDeliver: (webhook: Webhook, event: EventEnvelope) => boolean
  private readonly onWebhookDisabled: ((webhook: Webhook, reason: string) => void) | undefined
  private readonly onError: (error: unknown) => void
  private readonly generateId: () => string
  private readonly events = new EventEmitter<DispatcherEvents>()
  private readonly timer: WakeTimer
  private readonly instanceId: string
  private readonly unsubscribe: () => void

  private started = false
  private closed = false
  private closePromise: Promise<void> | undefined

  // Emitted events waiting to be written to the store.
  private intake: Intake[] = []
  private accepted = 0
  private persisted = 0
  private draining: Promise<void> | null = null
  private drainScheduled = false
  private flushWaiters: Array<{ target: number; resolve: () => void; reject: (error: unknown) => void }> = []

  // Attempts in flight.
  private readonly inFlight = new Map<string, number>()
  private inFlightTotal = 0
  private readonly slowLane: SlowLane
  private readonly running = new Set<Promise<void>>()
  private pumping = false
  private stopWatching: (() => Promise<void>) | undefined
  private pumpAgain = false
  private pumpScheduled = false
  private leaseCounter = 0

  // Attempt outcomes waiting to be written, in one transaction per batch.
  private completions: PendingCompletion[] = []
  private completionsScheduled = false

  constructor(options: WebhookDispatcherOptions) {
    if (!options?.bus || !options.store) throw new TypeError('WebhookDispatcher needs a bus and a store')
    this.store = options.store
    this.clock = options.clock ?? systemClock
    this.schedule = [...(options.retrySchedule ?? DEFAULT_RETRY_SCHEDULE)]
    checkRetrySchedule(this.schedule)
    this.timeoutMs = positive('timeoutMs', options.timeoutMs ?? 10_000)
    this.concurrency = positive('concurrency', options.concurrency ?? 64)
    this.perWebhookConcurrency = positive('perWebhookConcurrency', options.perWebhookConcurrency ?? 8)
    this.leaseMs = positive('leaseMs', options.leaseMs ?? this.timeoutMs + 30_000)
    if (this.leaseMs <= this.timeoutMs) throw new TypeError('leaseMs must be longer than timeoutMs')
    this.pollIntervalMs = positive('pollIntervalMs', options.pollIntervalMs ?? 30_000)
    this.closeTimeoutMs = positive('closeTimeoutMs', options.closeTimeoutMs ?? this.timeoutMs + 1000)
    this.standardWebhooks = options.standardWebhooks ?? true
    const slowAttemptMs = positive('slowAttemptMs', options.slowAttemptMs ?? Math.min(2000, this.timeoutMs / 2))
    this.slowLane = new SlowLane(slowAttemptMs, Math.max(1, Math.floor(this.concurrency / 2)), this.perWebhookConcurrency)
    this.registrationPolicy = Object.freeze({
      allowPrivateNetworks: options.allowPrivateNetworks ?? false,
      allowedHosts: Object.freeze([...(options.allowedHosts ?? [])]),
      allowInsecureUrls: options.allowInsecureUrls ?? false,
    })
    this.rules = registrationSchemas(this.registrationPolicy)
    this.sender =
      options.sender ??
      createUndiciSender({
        allowPrivateNetworks: this.registrationPolicy.allowPrivateNetworks,
        allowedHosts: this.registrationPolicy.allowedHosts,
        resolveHost: options.resolveHost,
      })
    this.canDeliver = options.canDeliver ?? ownerMatches
    this.onWebhookDisabled = options.onWebhookDisabled
    this.onError = options.onError ?? ((error) => console.error('[agno-events] dispatcher:', error))
    this.generateId = options.generateId ?? (() => globalThis.crypto.randomUUID())
    this.instanceId = this.generateId()
    this.timer = new WakeTimer(this.clock, () => this.pump())
    // Subscribed from the start, so nothing emitted before start() is missed;
    // it is stored at once and attempted once started.
    this.unsubscribe = options.bus.on('*', (envelope) => this.accept(envelope))
    serializeAtEmit(options.bus)
  }

  /** Adds an observability listener; returns a function that removes it. */
  on<K extends keyof DispatcherEvents>(name: K, listener: (...args: DispatcherEvents[K]) => void): () => void {
    this.events.on(name, listener as never)
    return () => this.events.off(name, listener as never)
  }

  /** Starts attempting deliveries, beginning with whatever the store holds (pending retries, interrupted attempts). */
  async start(): Promise<void> {
    if (this.closed) throw new AgnoEventsError('closed', 'The dispatcher is closed')
    if (this.started) return
    this.started = true
    // A shared store that can announce work (PostgreSQL's NOTIFY) wakes this
    // dispatcher when another process adds some; the poll stays as a backstop.
    if (this.store.watch) {
      try {
        this.stopWatching = await this.store.watch(() => this.pump())
      } catch (error) {
        this.report(error)
      }
    }
    await this.runPump()
  }

  /** Resolves once every event emitted so far is in the store; rejects if writing them failed (they stay queued and are retried). */
  flush(): Promise<void> {
    const target = this.accepted
    if (this.persisted >= target) return Promise.resolve()
    return new Promise((resolve, reject) => {
      this.flushWaiters.push({ target, resolve, reject })
      this.scheduleDrain()
    })
  }

  /**
   * Stops taking events and starting attempts, stores what was emitted, waits
   * for attempts in flight (up to `closeTimeoutMs`, then aborts them and puts
   * them back as due), and releases connections. Pending work stays in the
   * store for the next start. The store itself is left open.
   */
  close(): Promise<void> {
    this.closePromise ??= this.shutdown()
    return this.closePromise
  }

  // --- webhooks ---------------------------------------------------------

  /** Registers a webhook. Throws {@link WebhookValidationError} naming each bad field; nothing is stored then. */
  async createWebhook(raw: CreateWebhookInput): Promise<CreatedWebhook> {
    const input = checkWith(this.rules.create, raw)
    const now = this.clock.now()
    const generated = input.secret === undefined ? randomBytes(32).toString('base64url') : undefined
    const record: WebhookRecord = {
      id: this.generateId(),
      url: input.url,
      events: [...input.events],
      secret: input.secret ?? (generated as string),
      headers: { ...(input.headers ?? {}) },
      enabled: input.enabled ?? true,
      owner_id: input.owner_id ?? null,
      description: input.description ?? null,
      created_at: now,
      updated_at: now,
      disabled_reason: input.enabled === false ? 'Created disabled' : null,
    }
    const stored = await this.store.insertWebhook(record)
    const view: CreatedWebhook = toWebhook(stored)
    if (generated !== undefined) view.secret = generated
    return view
  }

  /** Throws {@link NotFoundError} when there is no such webhook. */
  async getWebhook(id: string): Promise<Webhook> {
    return toWebhook(await this.requireWebhook(id))
  }

  /** Oldest first. `owner_id`: only that owner's (null: only those registered in code). */
  async listWebhooks(query: { owner_id?: string | null; limit?: number; cursor?: string | null } = {}): Promise<Page<Webhook>> {
    const limit = pageLimit(query.limit)
    const after = decodeCursor('w', query.cursor)
    const rows = await this.store.listWebhooks({ owner_id: query.owner_id, after, limit: limit + 1 })
    return page(rows, limit, 'w', toWebhook)
  }

  /**
   * Changes any of `url`, `events`, `secret`, `headers`, `enabled`,
   * `description`. Enabling a disabled webhook resumes its parked deliveries.
   */
  async updateWebhook(id: string, raw: UpdateWebhookInput): Promise<Webhook> {
    const patch = checkWith(this.rules.patch, raw)
    const changes: WebhookChanges = { ...patch }
    if (patch.events) changes.events = [...patch.events]
    if (patch.enabled === false) changes.disabled_reason = 'Disabled by an update'
    const updated = await this.store.updateWebhook(id, changes, this.clock.now())
    if (!updated) throw new NotFoundError('webhook', id)
    if (patch.enabled === true) this.pump()
    return toWebhook(updated)
  }

  /** Deletes a webhook; its unfinished deliveries are cancelled (and kept). */
  async deleteWebhook(id: string): Promise<void> {
    if (!(await this.store.deleteWebhook(id))) throw new NotFoundError('webhook', id)
  }

  // --- deliveries -------------------------------------------------------

  /** Newest first. Throws {@link NotFoundError} when there is no such webhook. */
  async listDeliveries(
    webhookId: string,
    query: { status?: DeliveryStatus; limit?: number; cursor?: string | null } = {},
  ): Promise<Page<WebhookDelivery>> {
    if (query.status !== undefined && !DELIVERY_STATUSES.includes(query.status)) {
      throw new WebhookValidationError([{ path: 'status', message: `must be one of ${DELIVERY_STATUSES.join(', ')}` }])
    }
    const limit = pageLimit(query.limit)
    const before = decodeCursor('d', query.cursor)
    await this.requireWebhook(webhookId)
    const rows = await this.store.listDeliveries({ webhook_id: webhookId, status: query.status, before, limit: limit + 1 })
    return page(rows, limit, 'd', toDelivery)
  }

  /** A delivery with its attempts. Throws {@link NotFoundError} when there is none. */
  async getDelivery(id: string): Promise<WebhookDelivery> {
    const delivery = await this.store.getDelivery(id)
    if (!delivery) throw new NotFoundError('delivery', id)
    return toDelivery(delivery)
  }

  /**
   * Starts a fresh attempt cycle for a delivery: same body, same delivery id,
   * first attempt now. Throws {@link ConflictError} while its webhook is
   * disabled or an attempt is in flight.
   */
  async redeliver(deliveryId: string): Promise<WebhookDelivery> {
    const delivery = await this.store.getDelivery(deliveryId)
    if (!delivery) throw new NotFoundError('delivery', deliveryId)
    const hook = await this.store.getWebhook(delivery.webhook_id)
    if (!hook) throw new ConflictError(`Webhook ${delivery.webhook_id} was deleted; its deliveries cannot be redelivered`)
    if (!hook.enabled) throw new ConflictError(`Webhook ${hook.id} is disabled; enable it before redelivering`)
    const restarted = await this.store.restartDelivery(deliveryId, this.clock.now())
    if (restarted === 'busy') throw new ConflictError(`Delivery ${deliveryId} is being attempted right now`)
    if (!restarted) throw new NotFoundError('delivery', deliveryId)
    this.pump()
    return toDelivery(restarted)
  }

  /**
   * Sends one signed sample event now: no retries, `metadata.test: true`,
   * recorded as a test delivery. The event defaults to the webhook's first.
   */
  async sendTest(webhookId: string, options: { event?: EventType } = {}): Promise<TestDeliveryResult> {
    if (this.closed) throw new AgnoEventsError('closed', 'The dispatcher is closed')
    const hook = await this.requireWebhook(webhookId)
    const event = options.event ?? (hook.events[0] === '*' ? EVENT_TYPES[0] : hook.events[0])
    if (!isEventType(event)) {
      throw new WebhookValidationError([{ path: 'event', message: `unknown event type ${quote(event)}` }])
    }
    const now = this.clock.now()
    const envelope = {
      event,
      timestamp: new Date(now).toISOString(),
      payload: samplePayloads[event],
      metadata: { request_id: this.generateId(), test: true },
    }
    const body = JSON.stringify(envelope)
    const id = this.generateId()
    const result = await this.send(hook, { id, event, body, attempt: 1 })
    const success = classifyAttempt(result) === 'success'
    const attempt = toAttemptRecord(1, now, result)
    await this.store.insertDeliveries([
      {
        id,
        webhook_id: hook.id,
        event,
        body,
        status: success ? 'succeeded' : 'failed',
        next_attempt_at: null,
        created_at: now,
        test: true,
        attempts: [attempt],
      },
    ])
    this.notify('attempt', { ...attemptReport(id, hook.id, event, attempt), test: true })
    return {
      success,
      status_code: result.status_code,
      duration_ms: result.duration_ms,
      error: result.error,
      response_body: result.response_body,
      delivery_id: id,
    }
  }

  // --- intake: bus -> store ----------------------------------------------

  private accept(envelope: EventEnvelope): void {
    if (this.closed) return
    this.intake.push({ envelope, body: serializeEnvelope(envelope) })
    this.accepted++
    this.scheduleDrain()
  }

  private scheduleDrain(): void {
    if (this.drainScheduled || this.draining) return
    this.drainScheduled = true
    setImmediate(() => {
      this.drainScheduled = false
      void this.drain()
    })
  }

  private drain(): Promise<void> {
    this.draining ??= this.drainIntake().finally(() => {
      this.draining = null
      // An event accepted while the last batch was being written.
      if (this.intake.length > 0 && !this.drainScheduled) this.scheduleDrain()
    })
    return this.draining
  }

  private async drainIntake(): Promise<void> {
    try {
      while (this.intake.length > 0) {
        const batch = this.intake.slice(0, INTAKE_BATCH)
        const hooks = (await this.store.listEnabledWebhooks()).map((h) => ({ record: h, view: toWebhook(h) }))
        const rows = this.fanOut(batch, hooks)
        if (rows.length > 0) await this.store.insertDeliveries(rows)
        // Only now are the events safe: a failed write leaves them queued.
        this.intake.splice(0, batch.length)
        this.persisted += batch.length
        this.flushWaiters = this.flushWaiters.filter((w) => (w.target <= this.persisted ? void w.resolve() : true))
        if (rows.length > 0) this.pump()
      }
    } catch (error) {
      this.report(error)
      const waiters = this.flushWaiters
      this.flushWaiters = []
      for (const w of waiters) w.reject(error)
      setTimeout(() => this.scheduleDrain(), STORE_RETRY_MS).unref?.()
    }
  }

  private fanOut(batch: Intake[], hooks: Array<{ record: WebhookRecord; view: Webhook }>): NewDelivery[] {
    const now = this.clock.now()
    const rows: NewDelivery[] = []
    for (const { envelope, body } of batch) {
      for (const { record, view } of hooks) {
        if (!record.events.includes('*') && !record.events.includes(envelope.event)) continue
        let allowed = false
        try {
          allowed = this.canDeliver(view, envelope)
        } catch (error) {
          this.report(error)
        }
        if (!allowed) continue
        rows.push({
          id: this.generateId(),
          webhook_id: record.id,
          event: envelope.event,
          body,
          status: 'pending',
          next_attempt_at: now,
          created_at: now,
          test: false,
          attempts: [],
        })
      }
    }
    return rows
  }

  // --- scheduling: store -> attempts ------------------------------------

  // Requests to look for work are coalesced into one per turn of the event
  // loop: the attempts whose outcomes were written together all free their
  // slots before a single claim fills them (measured: one claim per
  // attempt otherwise, a transaction each with SQLite).
  private pump(): void {
    if (!this.started || this.closed || this.pumpScheduled) return
    this.pumpScheduled = true
    setImmediate(() => {
      this.pumpScheduled = false
      if (this.pumping) this.pumpAgain = true
      else void this.runPump()
    })
  }

  private async runPump(): Promise<void> {
    if (this.pumping || this.closed) return
    this.pumping = true
    try {
      for (;;) {
        this.pumpAgain = false
        const free = this.concurrency - this.inFlightTotal
        // All slots busy: the next attempt to end pumps again.
        if (free <= 0) return
        const leaseToken = `${this.instanceId}:${++this.leaseCounter}`
        const { claimed, nextDueAt } = await this.store.claimDue({
          now: this.clock.now(),
          limit: free,
          perWebhookLimit: this.perWebhookConcurrency,
          inFlight: this.slowLane.view(this.inFlight, this.clock.now()),
          leaseMs: this.leaseMs,
          leaseToken,
        })
        if (this.closed) {
          this.releaseUnstarted(claimed, leaseToken)
          return
        }
        for (const claim of claimed) this.startAttempt(claim, leaseToken)
        if (claimed.length < free) {
          this.armTimer(nextDueAt)
          if (!this.pumpAgain) return
        }
      }
    } catch (error) {
      this.report(error)
      this.armTimer(this.clock.now() + STORE_RETRY_MS)
    } finally {
      // Every early return leaves something to wake the pump: no free slot
      // (the next attempt to end pumps), the timer (after an error), or close.
      this.pumping = false
    }
  }

  private armTimer(nextDueAt: number | null): void {
    const now = this.clock.now()
    // Other processes can add work to a shared store that this one would not
    // hear of, so with one the timer also bounds how long it sleeps.
    const pollAt = this.store.shared ? now + this.pollIntervalMs : null
    const at = nextDueAt === null ? pollAt : pollAt === null ? nextDueAt : Math.min(nextDueAt, pollAt)
    this.timer.arm(at)
  }

  private startAttempt(claim: ClaimedDelivery, leaseToken: string): void {
    const webhookId = claim.webhook.id
    this.inFlight.set(webhookId, (this.inFlight.get(webhookId) ?? 0) + 1)
    this.inFlightTotal++
    const lane = this.slowLane.started(webhookId, this.clock.now())
    let released = false
    // The slot guards the HTTP request. It is freed as soon as the response
    // is in: the delivery stays leased until its outcome is written, so no
    // claim can take it meanwhile, and the write is queued before the pump.
    const release = () => {
      if (released) return
      released = true
      const left = (this.inFlight.get(webhookId) ?? 1) - 1
      if (left > 0) this.inFlight.set(webhookId, left)
      else this.inFlight.delete(webhookId)
      this.inFlightTotal--
      this.slowLane.ended(lane, null)
      this.pump()
    }
    const running: Promise<void> = this.attempt(claim, leaseToken, (durationMs) => {
      this.slowLane.ended(lane, durationMs)
      release()
    })
      .catch((error: unknown) => this.report(error))
      .finally(() => {
        release()
        this.running.delete(running)
      })
    this.running.add(running)
  }

  private async attempt(
    claim: ClaimedDelivery,
    leaseToken: string,
    release: (durationMs: number | null) => void,
  ): Promise<void> {
    const { delivery, webhook } = claim
    const number = delivery.attempt_count + 1
    const startedAt = this.clock.now()
    const result = await this.send(webhook, { id: delivery.id, event: delivery.event, body: delivery.body, attempt: number })
    const now = this.clock.now()
    if (result.aborted) {
      const written = this.complete({ status: 'released', delivery_id: delivery.id, leaseToken, now })
      release(null)
      await written
      return
    }
    const attempt = toAttemptRecord(number, startedAt, result)
    const step = planNextStep({
      outcome: classifyAttempt(result),
      error: result.error,
      cycleAttempt: delivery.cycle_attempts + 1,
      schedule: this.schedule,
      now,
    })
    const written = this.complete({
      delivery_id: delivery.id,
      leaseToken,
      attempt,
      status: step.status,
      next_attempt_at: step.status === 'pending' ? step.next_attempt_at : null,
      disableWebhook: step.status === 'failed' && !delivery.test ? step.disableReason : null,
      now,
    })
    release(result.duration_ms)
    await written
    // Reports are built only when someone listens (measured: a fifth of the
    // dispatcher's own allocations per delivery otherwise).
    if (this.events.eventNames().length === 0) return
    const base = { ...attemptReport(delivery.id, webhook.id, delivery.event, attempt), test: delivery.test }
    this.notify('attempt', base)
    if (step.status === 'succeeded') this.notify('delivered', base)
    else if (step.status === 'failed') this.notify('failed', base)
    else this.notify('retry', { ...base, next_attempt_at: new Date(step.next_attempt_at).toISOString() })
  }

  private send(
    webhook: WebhookRecord,
    delivery: { id: string; event: EventType; body: string; attempt: number },
  ): Promise<SendResult> {
    const headers = buildDeliveryHeaders({
      webhookId: webhook.id,
      secret: webhook.secret,
      customHeaders: webhook.headers,
      deliveryId: delivery.id,
      event: delivery.event,
      body: delivery.body,
      attempt: delivery.attempt,
      timestamp: Math.floor(this.clock.now() / 1000),
      standardWebhooks: this.standardWebhooks,
    })
    return this.sender.send({
      url: webhook.url,
      headers,
      body: delivery.body,
      timeoutMs: this.timeoutMs,
    })
  }

  // --- completions: attempts -> store -------------------------------------

  /** Queues an outcome; outcomes that end in the same tick are written in one transaction. */
  private complete(completion: AttemptCompletion): Promise<CompletionResult> {
    return new Promise((resolve) => {
      this.completions.push({ completion, resolve })
      if (!this.completionsScheduled) {
        this.completionsScheduled = true
        setImmediate(() => void this.writeCompletions())
      }
    })
  }

  private async writeCompletions(): Promise<void> {
    const batch = this.completions
    this.completions = []
    this.completionsScheduled = false
    if (batch.length === 0) return
    let result: CompletionResult
    try {
      result = await this.store.completeAttempts(batch.map((p) => p.completion))
    } catch (error) {
      this.report(error)
      if (this.closed && this.running.size === 0) {
        // Nothing left to retry for: the leases run out and another start re-attempts.
        for (const p of batch) p.resolve({ disabled: [] })
        return
      }
      // Keep the outcomes and try again; their attempts keep their slots meanwhile.
      this.completions.unshift(...batch)
      this.completionsScheduled = true
      setTimeout(() => void this.writeCompletions(), STORE_RETRY_MS).unref?.()
      return
    }
    for (const hook of result.disabled) {
      const view = toWebhook(hook)
      const reason = hook.disabled_reason ?? 'disabled'
      this.notify('webhook-disabled', view, reason)
      try {
        this.onWebhookDisabled?.(view, reason)
      } catch (error) {
        this.report(error)
      }
    }
    for (const p of batch) p.resolve(result)
  }

  // --- shutdown -----------------------------------------------------------

  private async shutdown(): Promise<void> {
    this.closed = true
    this.unsubscribe()
    this.timer.clear()
    await this.stopWatching?.().catch((error: unknown) => this.report(error))
    try {
      await this.drainForClose()
    } catch (error) {
      this.report(error)
    }
    if (this.running.size > 0) {
      let timer: ReturnType<typeof setTimeout> | undefined
      await Promise.race([
        Promise.allSettled([...this.running]),
        new Promise((resolve) => {
          timer = setTimeout(resolve, this.closeTimeoutMs)
        }),
      ])
      clearTimeout(timer)
    }
    // Whatever is still in flight is aborted and put back as due.
    await this.sender.close()
    await Promise.allSettled([...this.running])
    if (this.completions.length > 0) await this.writeCompletions()
    this.events.removeAllListeners()
  }

  private async drainForClose(): Promise<void> {
    while (this.intake.length > 0) {
      const before = this.persisted
      await this.drain()
      if (this.persisted === before) {
        throw new AgnoEventsError('store_failed', `${this.intake.length} emitted events could not be stored before close`)
      }
    }
  }

  private releaseUnstarted(claimed: ClaimedDelivery[], leaseToken: string): void {
    const now = this.clock.now()
    for (const { delivery } of claimed) void this.complete({ status: 'released', delivery_id: delivery.id, leaseToken, now })
  }

  // --- helpers ------------------------------------------------------------

  private async requireWebhook(id: string): Promise<WebhookRecord> {
    const hook = await this.store.getWebhook(id)
    if (!hook) throw new NotFoundError('webhook', id)
    return hook
  }

  private notify<K extends keyof DispatcherEvents>(name: K, ...args: DispatcherEvents[K]): void {
    try {
      ;(this.events.emit as (name: K, ...args: DispatcherEvents[K]) => boolean)(name, ...args)
    } catch (error) {
      if (name !== 'error') this.report(error)
    }
  }

  private report(error: unknown): void {
    this.notify('error', error)
    try {
      this.onError(error)
    } catch {
      // A failing error handler must not take the dispatcher down.
    }
  }
}

/** The default tenant rule: a webhook with an owner receives only that user's events. */
function ownerMatches(webhook: Webhook, event: EventEnvelope): boolean {
  return webhook.owner_id === null || webhook.owner_id === event.metadata.user_id
}

function positive(name: string, value: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new TypeError(`${name} must be a positive number, got ${String(value)}`)
  }
  return value
}

function pageLimit(limit: number | undefined): number {
  if (limit === undefined) return DEFAULT_LIMIT
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) {
    throw new WebhookValidationError([{ path: 'limit', message: `must be an integer from 1 to ${MAX_LIMIT}` }])
  }
  return limit
}

// Cursors are opaque to callers: a kind letter and the store's sequence number.
function decodeCursor(kind: 'w' | 'd', cursor: string | null | undefined): number | undefined {
  if (cursor === undefined || cursor === null || cursor === '') return undefined
  const match = /^([wd]):(\d{1,15})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'))
  if (!match || match[1] !== kind) {
    throw new WebhookValidationError([{ path: 'cursor', message: 'is not a cursor this list returned' }])
  }
  return Number(match[2])
}

function page<R extends { seq: number }, T>(rows: R[], limit: number, kind: 'w' | 'd', view: (row: R) => T): Page<T> {
  const more = rows.length > limit
  const data = rows.slice(0, limit)
  const last = data[data.length - 1]
  return {
    data: data.map(view),
    next_cursor: more && last ? Buffer.from(`${kind}:${last.seq}`).toString('base64url') : null,
  }
}

function toWebhook(record: WebhookRecord): Webhook {
  return {
    id: record.id,
    url: record.url,
    events: [...record.events],
    enabled: record.enabled,
    created_at: new Date(record.created_at).toISOString(),
    updated_at: new Date(record.updated_at).toISOString(),
    headers: { ...record.headers },
    description: record.description,
    disabled_reason: record.disabled_reason,
    owner_id: record.owner_id,
  }
}

function toDelivery(row: StoredDelivery): WebhookDelivery {
  return {
    id: row.id,
    webhook_id: row.webhook_id,
    event: row.event,
    body: row.body,
    status: row.status,
    attempts: row.attempts.map((a) => ({ ...a, started_at: new Date(a.started_at).toISOString() })),
    // A claimed delivery's stored time is its lease, not a schedule.
    next_attempt_at:
      row.status === 'pending' && row.next_attempt_at !== null ? new Date(row.next_attempt_at).toISOString() : null,
    created_at: new Date(row.created_at).toISOString(),
    test: row.test,
  }
}

function toAttemptRecord(attempt: number, startedAt: number, result: SendResult): AttemptRecord {
  return {
    attempt,
    started_at: startedAt,
    duration_ms: result.duration_ms,
    status_code: result.status_code,
    error: result.error,
    response_body: result.response_body,
  }
}

function attemptReport(deliveryId: string, webhookId: string, event: EventType, attempt: AttemptRecord): AttemptReport {
  return {
    delivery_id: deliveryId,
    webhook_id: webhookId,
    event,
    attempt: attempt.attempt,
    status_code: attempt.status_code,
    error: attempt.error,
    duration_ms: attempt.duration_ms,
    test: false,
  }
}
