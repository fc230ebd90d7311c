import { EventEmitter } from 'eventemitter3'
import { EventValidationError } from '../errors.js'
import { collectIssues } from '../zod-issues.js'
import { eventCatalog, isEventType, metadataInputSchema, type EventType } from './catalog.js'
import type { EventEnvelope, EventListener, MetadataInput, PayloadInput } from './types.js'

/** Options of {@link createEventBus}. */
export interface EventBusOptions {
  /**
   * Receives what a listener threw or rejected with. Default: `console.error`.
   * A failing listener never stops `emit` or the other listeners.
   */
  onError?: (error: unknown, envelope: EventEnvelope) => void
  /** Milliseconds since the epoch, for envelope timestamps. Default: `Date.now`. */
  now?: () => number
  /** Makes `metadata.request_id` when the emitter gives none. Default: `crypto.randomUUID`. */
  generateId?: () => string
}

/** A typed, validating event bus for the agno-events catalog. */
export interface EventBus {
  /**
   * Validates `payload`, builds the envelope, calls the listeners of `type`
   * and then the `'*'` listeners, and returns the envelope.
   * Throws {@link EventValidationError} naming each bad field; then no
   * listener runs. Never waits on I/O.
   */
  emit<T extends EventType>(type: T, payload: PayloadInput<T>, metadata?: MetadataInput): EventEnvelope<T>
  /** Calls `listener` for each `type` event (`'*'`: every event). Returns an unsubscribe function. */
  on<T extends EventType | '*'>(type: T, listener: EventListener<T>): () => void
  /** Like `on`, for the next event only. */
  once<T extends EventType | '*'>(type: T, listener: EventListener<T>): () => void
  /** Removes a listener added with `on` or `once`. */
  off<T extends EventType | '*'>(type: T, listener: EventListener<T>): void
  /** How many listeners `type` has. */
  listenerCount(type: EventType | '*'): number
}

type AnyListener = (envelope: EventEnvelope) => void | Promise<void>

/**
 * Creates an {@link EventBus}.
 *
 * @example
 * ```ts
 * const bus = createEventBus()
 * bus.on('agent.executed', ({ payload }) => console.log(payload.agent_id, payload.duration_ms))
 * bus.emit('agent.executed', { agent_id: 'researcher', input: 'q', output: 'a', duration_ms: 12 })
 * ```
 */
export function createEventBus(options: EventBusOptions = {}): EventBus {
  const emitter = new EventEmitter<string>()
  const onError = options.onError ?? ((error: unknown) => console.error('[agno-events] listener failed:', error))
  const now = options.now ?? Date.now
  const generateId = options.generateId ?? (() => globalThis.crypto.randomUUID())
  // Formatting a date costs more than validating a payload; events emitted
  // within the same millisecond share the string.
  let lastMs = Number.NaN
  let lastIso = ''
  const isoTime = (ms: number): string => {
    if (ms !== lastMs) {
      lastMs = ms
      lastIso = new Date(ms).toISOString()
    }
    return lastIso
  }

  const report = (error: unknown, envelope: EventEnvelope): void => {
    try {
      onError(error, envelope)
    } catch {
      // An onError that throws must not break emit either.
    }
  }

  // eventemitter3 calls `fn.call(context, ...args)`: registering this one
  // function with the user's listener as context isolates every listener
  // without a wrapper per registration, and `off(type, invoke, listener)`
  // still removes exactly that listener.
  function invoke(this: AnyListener, envelope: EventEnvelope): void {
    try {
      const result = this(envelope)
      if (result && typeof (result as Promise<void>).then === 'function') {
        ;(result as Promise<void>).then(undefined, (error: unknown) => report(error, envelope))
      }
    } catch (error) {
      report(error, envelope)
    }
  }

  const checkType = (type: string): void => {
    if (type !== '*' && !isEventType(type)) {
      throw new EventValidationError(type, [{ path: 'event', message: `unknown event type "${type}"` }])
    }
  }

  let serializing = false
  const bus: EventBus & { [SERIALIZE]?: () => void } = {
    [SERIALIZE]: () => {
      serializing = true
    },
    emit(type, payload, metadata) {
      if (!isEventType(type)) {
        throw new EventValidationError(String(type), [{ path: 'event', message: `unknown event type "${String(type)}"` }])
      }
      const payloadResult = eventCatalog[type].safeParse(payload)
      const metadataResult = metadataInputSchema.safeParse(metadata ?? {})
      if (!payloadResult.success || !metadataResult.success) {
        throw new EventValidationError(type, [
          ...collectIssues('payload', payload, payloadResult.error),
          ...collectIssues('metadata', metadata, metadataResult.error),
        ])
      }
      const envelope = {
        event: type,
        timestamp: isoTime(now()),
        payload: payloadResult.data,
        metadata: { ...metadataResult.data, request_id: metadataResult.data.request_id ?? generateId() },
      } as EventEnvelope<typeof type>
      // Once a dispatcher listens, the envelope is serialized here, once: the
      // webhook body is the event as emitted, even if a listener later changes
      // the object, and an unserializable extra field (a BigInt, a cycle) is
      // the emitter's error, not a lost delivery. A bus nobody delivers from
      // skips the cost, the largest part of an emit.
      if (serializing) {
        let body: string
        try {
          body = JSON.stringify(envelope)
        } catch (error) {
          throw new EventValidationError(type, [{ path: 'payload', message: `is not JSON-serializable (${String(error)})` }])
        }
        Object.defineProperty(envelope, SERIALIZED, { value: body })
      }
      emitter.emit(type, envelope)
      emitter.emit('*', envelope)
      return envelope
    },
    on(type, listener) {
      checkType(type)
      emitter.on(type, invoke, listener)
      return () => bus.off(type, listener)
    },
    once(type, listener) {
      checkType(type)
      emitter.once(type, invoke, listener)
      return () => bus.off(type, listener)
    },
    off(type, listener) {
      emitter.off(type, invoke, listener)
    },
    listenerCount(type) {
      return emitter.listenerCount(type)
    },
  }
  return bus
}

// The body travels with the envelope as a non-enumerable symbol property:
// invisible to JSON, Object.keys and equality checks, and measured at a fifth
// of the cost of a WeakMap entry at high emit rates.
const SERIALIZED = Symbol('agno-events.serialized')
const SERIALIZE = Symbol('agno-events.serialize')

/**
 * Makes a bus from `createEventBus` serialize every envelope at emit time
 * (internal: the dispatcher asks for it when it subscribes). Other buses are
 * left alone; their envelopes are serialized when the dispatcher takes them.
 */
export function serializeAtEmit(bus: EventBus): void {
  ;(bus as { [SERIALIZE]?: () => void })[SERIALIZE]?.()
}

/**
 * The JSON text of an envelope, as serialized when it was emitted (internal:
 * the dispatcher sends these exact bytes). Envelopes that did not come from
 * `createEventBus` are serialized now.
 */
export function serializeEnvelope(envelope: EventEnvelope): string {
  return (envelope as { [SERIALIZED]?: string })[SERIALIZED] ?? JSON.stringify(envelope)
}
