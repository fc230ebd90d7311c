import { describe, expect, it, vi } from 'vitest'
import {
  createEventBus,
  envelopeSchema,
  EVENT_TYPES,
  eventCatalog,
  eventJsonSchema,
  EventValidationError,
  MemoryWebhookStore,
  samplePayloads,
  WebhookDispatcher,
  type EventType,
} from '../src/index.js'
import { registerCleanup } from './support/harness.js'
import { specEvents } from './support/spec-events.js'

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

function emitUnchecked(bus: ReturnType<typeof createEventBus>, type: string, payload: unknown, metadata?: unknown) {
  return bus.emit(type as EventType, payload as never, metadata as never)
}

describe('event catalog', () => {
  it('has exactly the thirteen types of the contract', () => {
    expect([...EVENT_TYPES].sort()).toEqual(Object.keys(specEvents).sort())
    expect(Object.keys(eventCatalog).sort()).toEqual(Object.keys(specEvents).sort())
  })

  it.each(Object.entries(specEvents))('%s JSON Schema requires exactly the contract fields', (type, spec) => {
    const schema = eventJsonSchema(type as EventType)
    expect(schema.type).toBe('object')
    expect([...((schema.required as string[]) ?? [])].sort()).toEqual([...spec.required].sort())
    for (const field of Object.keys(spec.valid)) expect(schema.properties).toHaveProperty(field)
    // Extra fields are allowed, so producers can add fields first.
    expect(schema.additionalProperties).not.toBe(false)
  })

  it('has a sample payload for every type that its schema accepts', () => {
    for (const type of EVENT_TYPES) expect(eventCatalog[type].safeParse(samplePayloads[type]).success).toBe(true)
  })
})

describe.each(Object.entries(specEvents))('emit %s', (type, spec) => {
  it('returns and delivers exactly the seed envelope shape', () => {
    const bus = createEventBus({ now: () => Date.UTC(2024, 11, 16, 10, 0, 0) })
    const typed = vi.fn()
    const all = vi.fn()
    bus.on(type as EventType, typed)
    bus.on('*', all)
    const envelope = emitUnchecked(bus, type, spec.valid, { user_id: 'user@example.com' })
    expect(Object.keys(envelope)).toEqual(['event', 'timestamp', 'payload', 'metadata'])
    expect(envelope.event).toBe(type)
    expect(envelope.timestamp).toBe('2024-12-16T10:00:00.000Z')
    expect(envelope.timestamp).toMatch(ISO)
    expect(envelope.payload).toEqual(spec.valid)
    expect(envelope.metadata).toEqual({ user_id: 'user@example.com', request_id: expect.stringMatching(UUID) })
    expect(typed).toHaveBeenCalledOnce()
    expect(typed).toHaveBeenCalledWith(envelope)
    expect(all).toHaveBeenCalledWith(envelope)
    expect(envelopeSchema.safeParse(envelope).success).toBe(true)
  })

  it.each(spec.required)('refuses a missing %s, naming it, and calls no listener', (field) => {
    const bus = createEventBus()
    const listener = vi.fn()
    bus.on('*', listener)
    const payload = { ...spec.valid }
    delete payload[field]
    const error = captureError(() => emitUnchecked(bus, type, payload))
    expect(error).toBeInstanceOf(EventValidationError)
    expect(error.issues.map((i) => i.path)).toEqual([`payload.${field}`])
    expect(error.message).toContain(`payload.${field}`)
    expect(listener).not.toHaveBeenCalled()
  })

  it('refuses a mistyped field, naming it, and calls no listener', () => {
    const bus = createEventBus()
    const listener = vi.fn()
    bus.on(type as EventType, listener)
    const [field, value] = spec.mistyped
    const error = captureError(() => emitUnchecked(bus, type, { ...spec.valid, [field]: value }))
    expect(error.issues.map((i) => i.path)[0]).toMatch(new RegExp(`^payload\\.${field}(\\[\\d+\\])?$`))
    expect(listener).not.toHaveBeenCalled()
  })

  it('keeps extra payload fields', () => {
    const bus = createEventBus()
    const envelope = emitUnchecked(bus, type, { ...spec.valid, future_field: { nested: [1, 2] }, note: 'x' })
    expect(envelope.payload).toMatchObject({ future_field: { nested: [1, 2] }, note: 'x' })
  })
})

describe('metadata', () => {
  it('generates request_id when absent and keeps the one given, with other keys', () => {
    const bus = createEventBus()
    const a = bus.emit('agent.deleted', { agent_id: 'a' })
    const b = bus.emit('agent.deleted', { agent_id: 'a' })
    expect(a.metadata.request_id).toMatch(UUID)
    expect(b.metadata.request_id).not.toBe(a.metadata.request_id)
    const c = bus.emit('agent.deleted', { agent_id: 'a' }, { request_id: 'req-1', user_id: 'u', tenant: 't' })
    expect(c.metadata).toEqual({ request_id: 'req-1', user_id: 'u', tenant: 't' })
  })

  it('uses the injected id generator', () => {
    const bus = createEventBus({ generateId: () => 'fixed-id' })
    expect(bus.emit('agent.deleted', { agent_id: 'a' }).metadata.request_id).toBe('fixed-id')
  })

  it('refuses a mistyped user_id, naming metadata.user_id', () => {
    const bus = createEventBus()
    const error = captureError(() => emitUnchecked(bus, 'agent.deleted', { agent_id: 'a' }, { user_id: 7 }))
    expect(error.issues.map((i) => i.path)).toEqual(['metadata.user_id'])
  })

  it('names every bad field at once', () => {
    const bus = createEventBus()
    const error = captureError(() => emitUnchecked(bus, 'agent.executed', { agent_id: 1, output: 'o', duration_ms: -5 }))
    expect(error.issues.map((i) => i.path).sort()).toEqual(['payload.agent_id', 'payload.duration_ms', 'payload.input'])
    expect(error.issues.find((i) => i.path === 'payload.input')?.message).toBe('is required')
  })
})

describe('unknown events', () => {
  it('refuses an unknown event name on emit and on subscribe', () => {
    const bus = createEventBus()
    const listener = vi.fn()
    bus.on('*', listener)
    const error = captureError(() => emitUnchecked(bus, 'agent.exploded', { agent_id: 'a' }))
    expect(error.issues).toEqual([{ path: 'event', message: 'unknown event type "agent.exploded"' }])
    expect(listener).not.toHaveBeenCalled()
    expect(() => bus.on('nope' as EventType, listener)).toThrow(EventValidationError)
  })

  it('refuses a payload that cannot be serialized to JSON once a dispatcher listens', async () => {
    const bus = createEventBus()
    const dispatcher = new WebhookDispatcher({ bus, store: new MemoryWebhookStore() })
    registerCleanup(() => dispatcher.close())
    const error = captureError(() => emitUnchecked(bus, 'agent.deleted', { agent_id: 'a', big: 10n }))
    expect(error.issues[0]?.path).toBe('payload')
    expect(error.message).toMatch(/JSON/)
  })
})

function captureError(fn: () => unknown): EventValidationError {
  try {
    fn()
  } catch (error) {
    if (error instanceof EventValidationError) return error
    throw error
  }
  throw new Error('expected an EventValidationError')
}
