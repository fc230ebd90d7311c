import { z } from 'zod'
import { EVENT_TYPES, type EventType } from '../events/catalog.js'
import { quote } from '../delivery/registration.js'
import { DELIVERY_STATUSES, type DeliveryStatus } from '../store/types.js'

// The shapes of the /webhooks API that are not registration rules (those live
// in delivery/registration.ts): path parameters, query strings, the test body
// and every response. Responses are strict objects, so a test that parses a
// response with them fails on any extra field, a secret above all.

const MAX_LIMIT = 100
const statuses = DELIVERY_STATUSES as [DeliveryStatus, ...DeliveryStatus[]]
const eventTypes = EVENT_TYPES as [EventType, ...EventType[]]
const limitMessage = `must be an integer from 1 to ${MAX_LIMIT}`

/** A webhook or delivery id in a path. */
export const idParam = z.guid({ error: 'is not a valid id' }).describe('A UUID')

const limit = z
  .string()
  .refine((value) => /^\d{1,3}$/.test(value) && Number(value) >= 1 && Number(value) <= MAX_LIMIT, { error: limitMessage })
  .meta({ pattern: '^[0-9]{1,3}$', description: `Page size, 1 to ${MAX_LIMIT}; default 50` })

const cursor = z
  .string()
  .max(256, { error: 'is not a cursor this list returned' })
  .describe('The next_cursor of the previous page')

export const listWebhooksQuery = z.strictObject({ limit: limit.optional(), cursor: cursor.optional() })

export const listDeliveriesQuery = listWebhooksQuery.extend({
  status: z
    .enum(statuses, {
      error: `must be one of ${DELIVERY_STATUSES.join(', ')}`,
    })
    .optional(),
})

export const testBody = z.strictObject({
  event: z
    .enum(eventTypes, { error: (issue) => `unknown event type ${quote(issue.input)}` })
    .optional()
    .describe("The event type of the sample; default the webhook's first"),
})

const timestamp = z.iso.datetime()
const eventName = z.enum([...EVENT_TYPES, '*'])

/** A webhook as the API returns it: never its secret. */
export const webhookView = z.strictObject({
  id: z.string(),
  url: z.string(),
  events: z.array(eventName),
  enabled: z.boolean(),
  created_at: timestamp,
  updated_at: timestamp,
  headers: z.record(z.string(), z.string()),
  description: z.string().nullable(),
  disabled_reason: z.string().nullable(),
})

/** The create response: the secret appears only when it was generated, this once. */
export const createdWebhookView = webhookView.extend({
  secret: z.string().optional().describe('Present only when generated; shown this once'),
})

export const attemptView = z.strictObject({
  attempt: z.int().positive(),
  started_at: timestamp,
  duration_ms: z.number().nonnegative(),
  status_code: z.int().nullable(),
  error: z.string().nullable(),
  response_body: z.string().nullable().describe('Cut to 4 KiB'),
})

export const deliveryView = z.strictObject({
  id: z.string(),
  webhook_id: z.string(),
  event: z.enum(eventTypes),
  body: z.string().describe('The exact bytes that were signed and sent'),
  status: z.enum(statuses),
  attempts: z.array(attemptView),
  next_attempt_at: timestamp.nullable(),
  created_at: timestamp,
  test: z.boolean(),
})

function pageOf<T extends z.ZodType>(item: T) {
  return z.strictObject({ data: z.array(item), next_cursor: z.string().nullable() })
}

export const webhookPage = pageOf(webhookView)
export const deliveryPage = pageOf(deliveryView)

export const testResultView = z.strictObject({
  success: z.boolean(),
  status_code: z.int().nullable(),
  duration_ms: z.number().nonnegative(),
  error: z.string().nullable(),
  response_body: z.string().nullable(),
  delivery_id: z.string().describe('The recorded test delivery'),
})

export const eventTypesView = z.strictObject({
  data: z.array(
    z.strictObject({
      type: z.string(),
      description: z.string().nullable(),
      schema: z.record(z.string(), z.unknown()).describe('JSON Schema (draft 2020-12) of the payload'),
    }),
  ),
})

export const errorView = z.strictObject({
  error: z.strictObject({
    code: z.string(),
    message: z.string(),
    details: z.array(z.strictObject({ path: z.string(), message: z.string() })).optional(),
  }),
})

export type ErrorBody = z.infer<typeof errorView>
