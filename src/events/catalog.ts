import { z } from 'zod'

// The single source of truth for every event's shape: TypeScript types
// (types.ts), run-time validation (bus.ts) and JSON Schemas all derive from
// these schemas. Objects are loose so unknown extra fields are kept, which is
// what lets an emitter add a field before every consumer knows about it.

const id = z.string().min(1)
const text = z.string()
const durationMs = z.int().nonnegative().describe('Duration in milliseconds')
const count = z.int().nonnegative()

/**
 * The thirteen event types and their payload schemas (zod v4).
 *
 * @example
 * ```ts
 * const result = eventCatalog['agent.executed'].safeParse(payload)
 * ```
 */
export const eventCatalog = {
  'agent.created': z
    .looseObject({ agent_id: id, name: text.optional(), model: text.optional() })
    .describe('An agent was created'),
  'agent.updated': z
    .looseObject({
      agent_id: id,
      changes: z.record(z.string(), z.unknown()).optional().describe('The changed fields'),
    })
    .describe('An agent was updated'),
  'agent.deleted': z.looseObject({ agent_id: id }).describe('An agent was deleted'),
  'agent.executed': z
    .looseObject({
      agent_id: id,
      input: text,
      output: text,
      duration_ms: durationMs,
      session_id: id.optional(),
      run_id: id.optional(),
    })
    .describe('An agent ran a task'),
  'team.created': z
    .looseObject({ team_id: id, name: text.optional(), members: z.array(id).optional().describe('Agent ids') })
    .describe('A team was created'),
  'team.executed': z
    .looseObject({ team_id: id, input: text, output: text, duration_ms: durationMs, run_id: id.optional() })
    .describe('A team ran a task'),
  'workflow.created': z.looseObject({ workflow_id: id, name: text.optional() }).describe('A workflow was created'),
  'workflow.executed': z
    .looseObject({
      workflow_id: id,
      input: text.optional(),
      output: text.optional(),
      duration_ms: durationMs,
      run_id: id.optional(),
    })
    .describe('A workflow ran'),
  'workflow.failed': z
    .looseObject({
      workflow_id: id,
      error: z.looseObject({ message: text, type: text.optional() }),
      duration_ms: durationMs.optional(),
      step: text.optional(),
      run_id: id.optional(),
    })
    .describe('A workflow failed'),
  'rag.ingested': z
    .looseObject({
      knowledge_base_id: id.optional(),
      document_count: count,
      chunk_count: count.optional(),
      duration_ms: durationMs.optional(),
    })
    .describe('Documents were indexed'),
  'rag.queried': z
    .looseObject({
      knowledge_base_id: id.optional(),
      query: text,
      result_count: count,
      duration_ms: durationMs.optional(),
    })
    .describe('A RAG query ran'),
  'hitl.requested': z
    .looseObject({
      hitl_id: id,
      agent_id: id.optional(),
      workflow_id: id.optional(),
      prompt: text,
      options: z.array(text).optional(),
    })
    .describe('Human intervention was requested'),
  'hitl.completed': z
    .looseObject({ hitl_id: id, response: text, responder: text.optional(), duration_ms: durationMs.optional() })
    .describe('Human intervention was completed'),
} as const

/** The name of an event type, e.g. `'agent.executed'`. */
export type EventType = keyof typeof eventCatalog

/**
 * Every event type, in catalog order.
 *
 * @example
 * ```ts
 * for (const type of EVENT_TYPES) console.log(type)
 * ```
 */
export const EVENT_TYPES = Object.freeze(Object.keys(eventCatalog) as EventType[])

/**
 * Whether `value` names a known event type.
 *
 * @example
 * ```ts
 * if (isEventType(name)) bus.emit(name, payload as never)
 * ```
 */
export function isEventType(value: unknown): value is EventType {
  return typeof value === 'string' && Object.hasOwn(eventCatalog, value)
}

/** Metadata carried by every envelope; keys other than these are kept. */
export const metadataSchema = z.looseObject({
  user_id: z.string().optional().describe('The user the event belongs to; drives the tenant rule'),
  request_id: z.string().min(1).describe('Generated (UUID) when the emitter gives none'),
})

/** Metadata as an emitter passes it: `request_id` may be left out. */
export const metadataInputSchema = metadataSchema.extend({ request_id: z.string().min(1).optional() })

function envelopeOf<T extends EventType>(type: T) {
  return z.object({
    event: z.literal(type),
    timestamp: z.iso.datetime(),
    payload: eventCatalog[type],
    metadata: metadataSchema,
  })
}

type EnvelopeSchemas = { [T in EventType]: ReturnType<typeof envelopeOf<T>> }

const envelopeSchemas = Object.fromEntries(EVENT_TYPES.map((t) => [t, envelopeOf(t)])) as EnvelopeSchemas

/**
 * The schema of a whole envelope, `{ event, timestamp, payload, metadata }`,
 * discriminated on `event`. Useful to validate bodies received from elsewhere.
 *
 * @example
 * ```ts
 * const envelope = envelopeSchema.parse(JSON.parse(body))
 * ```
 */
export const envelopeSchema = z.discriminatedUnion(
  'event',
  EVENT_TYPES.map((t) => envelopeSchemas[t]) as unknown as [
    EnvelopeSchemas[EventType],
    ...EnvelopeSchemas[EventType][],
  ],
)

/** A JSON Schema document (draft 2020-12) as produced from the catalog. */
export type JsonSchema = Record<string, unknown>

/**
 * The JSON Schema (draft 2020-12) of one event type's payload, generated from
 * its zod schema.
 *
 * @example
 * ```ts
 * const schema = eventJsonSchema('agent.executed') // { type: 'object', required: [...], ... }
 * ```
 */
export function eventJsonSchema(type: EventType): JsonSchema {
  return z.toJSONSchema(eventCatalog[type]) as JsonSchema
}

/**
 * A realistic payload for every event type, used by `sendTest` and examples.
 * Typed against the catalog, so a sample that drifts from its schema does not
 * compile.
 *
 * @example
 * ```ts
 * bus.emit('agent.executed', samplePayloads['agent.executed'])
 * ```
 */
export const samplePayloads: { readonly [T in EventType]: z.input<(typeof eventCatalog)[T]> } = {
  'agent.created': { agent_id: 'researcher', name: 'Researcher', model: 'gpt-4o' },
  'agent.updated': { agent_id: 'researcher', changes: { model: 'gpt-4o-mini' } },
  'agent.deleted': { agent_id: 'researcher' },
  'agent.executed': {
    agent_id: 'researcher',
    input: 'What are AI trends?',
    output: 'Based on my research...',
    duration_ms: 2345,
  },
  'team.created': { team_id: 'research-team', name: 'Research team', members: ['researcher', 'writer'] },
  'team.executed': { team_id: 'research-team', input: 'Write a report', output: 'Report...', duration_ms: 5120 },
  'workflow.created': { workflow_id: 'daily-digest', name: 'Daily digest' },
  'workflow.executed': { workflow_id: 'daily-digest', input: 'today', output: 'Digest...', duration_ms: 8421 },
  'workflow.failed': {
    workflow_id: 'daily-digest',
    error: { message: 'Model timed out', type: 'TimeoutError' },
    duration_ms: 30000,
    step: 'summarize',
  },
  'rag.ingested': { knowledge_base_id: 'docs', document_count: 12, chunk_count: 340, duration_ms: 1830 },
  'rag.queried': { knowledge_base_id: 'docs', query: 'refund policy', result_count: 5, duration_ms: 42 },
  'hitl.requested': {
    hitl_id: 'approval-1',
    agent_id: 'researcher',
    prompt: 'Send the report to the customer?',
    options: ['approve', 'reject'],
  },
  'hitl.completed': { hitl_id: 'approval-1', response: 'approve', responder: 'user@example.com', duration_ms: 60500 },
}
