import type { z } from 'zod'
import type { envelopeSchema, eventCatalog, EventType, metadataInputSchema, metadataSchema } from './catalog.js'

// Types only, each derived from a schema in catalog.ts: no event shape is
// written a second time here.

export type { EventType }

/** The payload of event type `T` as listeners receive it. */
export type PayloadOf<T extends EventType> = z.output<(typeof eventCatalog)[T]>

/** The payload of event type `T` as `emit` accepts it. */
export type PayloadInput<T extends EventType> = z.input<(typeof eventCatalog)[T]>

/** Envelope metadata: `request_id` always, `user_id` when known, and any other keys the emitter gave. */
export type EventMetadata = z.output<typeof metadataSchema>

/** Metadata as `emit` accepts it. */
export type MetadataInput = z.input<typeof metadataInputSchema>

/**
 * `{ event, timestamp, payload, metadata }`: what listeners receive and what
 * a webhook's body holds. With no argument it is the union over every type,
 * discriminated on `event`.
 */
export type EventEnvelope<T extends EventType = EventType> = Extract<z.output<typeof envelopeSchema>, { event: T }>

/** A listener for one event type, or for every type with `'*'`. */
export type EventListener<T extends EventType | '*'> = (
  envelope: T extends EventType ? EventEnvelope<T> : EventEnvelope,
) => void | Promise<void>
