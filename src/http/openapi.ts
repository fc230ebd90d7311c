import { z } from 'zod'
import { registrationSchemas } from '../delivery/registration.js'
import { VERSION } from '../version.js'
import {
  createdWebhookView,
  deliveryPage,
  deliveryView,
  errorView,
  eventTypesView,
  idParam,
  listDeliveriesQuery,
  listWebhooksQuery,
  testBody,
  testResultView,
  webhookPage,
  webhookView,
} from './schemas.js'

/** Options of {@link createOpenApiDocument}. */
export interface OpenApiOptions {
  /** Where the routes are mounted. Default `/webhooks`. */
  basePath?: string
  /** `servers[0].url`, e.g. `https://api.example.com`. Omitted when not given. */
  serverUrl?: string
  /** `info.title`. Default `agno-events webhooks API`. */
  title?: string
}

type JsonObject = Record<string, unknown>

/**
 * The OpenAPI 3.1 document of the /webhooks API, generated from the same zod
 * schemas the routes validate with. Serve it from the host as it is.
 *
 * @example
 * ```ts
 * const document = createOpenApiDocument({ serverUrl: 'https://api.example.com' })
 * console.log(Object.keys(document.paths))
 * ```
 */
export function createOpenApiDocument(options: OpenApiOptions = {}): { openapi: '3.1.0'; paths: JsonObject } & JsonObject {
  // Paths below the base are written `${base}/...`, so a root mount is ''.
  const base = (options.basePath ?? '/webhooks').replace(/\/+$/, '')
  const { body, patch } = registrationSchemas({})

  const schemas: JsonObject = {
    WebhookCreate: input(body),
    WebhookUpdate: input(patch),
    TestRequest: input(testBody),
    Webhook: output(webhookView),
    CreatedWebhook: output(createdWebhookView),
    WebhookPage: output(webhookPage),
    Delivery: output(deliveryView),
    DeliveryPage: output(deliveryPage),
    TestResult: output(testResultView),
    EventTypes: output(eventTypesView),
    Error: output(errorView),
  }

  const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` })
  const jsonContent = (name: string) => ({ content: { 'application/json': { schema: ref(name) } } })
  const ok = (status: number, name: string, description: string) => ({ [status]: { description, ...jsonContent(name) } })
  const errors = (...statuses: number[]) =>
    Object.fromEntries(statuses.map((s) => [s, { $ref: `#/components/responses/${ERROR_RESPONSES[s]}` }]))
  const pathParam = (name: string) => ({ name, in: 'path', required: true, schema: input(idParam) })
  const queryParams = (schema: z.ZodObject) =>
    Object.entries(schema.shape).map(([name, field]) => ({
      name,
      in: 'query',
      required: false,
      schema: input(field as z.ZodType),
    }))
  const requestBody = (name: string, required = true) => ({ required, ...jsonContent(name) })

  const webhookId = pathParam('id')
  const deliveryId = pathParam('deliveryId')

  const paths: JsonObject = {
    [base || '/']: {
      get: {
        operationId: 'listWebhooks',
        summary: "The principal's webhooks, oldest first",
        parameters: queryParams(listWebhooksQuery),
        responses: { ...ok(200, 'WebhookPage', 'A page of webhooks'), ...errors(400, 401) },
      },
      post: {
        operationId: 'createWebhook',
        summary: 'Register a webhook',
        requestBody: requestBody('WebhookCreate'),
        responses: {
          ...ok(201, 'CreatedWebhook', 'The webhook; its secret only when generated'),
          ...errors(400, 401, 413, 415),
        },
      },
    },
    [`${base}/event-types`]: {
      get: {
        operationId: 'listEventTypes',
        summary: 'The event types with the JSON Schemas of their payloads',
        responses: { ...ok(200, 'EventTypes', 'The catalog'), ...errors(401) },
      },
    },
    [`${base}/{id}`]: {
      parameters: [webhookId],
      get: {
        operationId: 'getWebhook',
        responses: { ...ok(200, 'Webhook', 'The webhook'), ...errors(400, 401, 404) },
      },
      patch: {
        operationId: 'updateWebhook',
        summary: 'Change any of url, events, secret, headers, enabled, description',
        requestBody: requestBody('WebhookUpdate'),
        responses: { ...ok(200, 'Webhook', 'The changed webhook'), ...errors(400, 401, 404, 413, 415) },
      },
      delete: {
        operationId: 'deleteWebhook',
        summary: 'Delete a webhook; its unfinished deliveries are cancelled',
        responses: { 204: { description: 'Deleted' }, ...errors(400, 401, 404) },
      },
    },
    [`${base}/{id}/test`]: {
      parameters: [webhookId],
      post: {
        operationId: 'testWebhook',
        summary: 'One signed sample attempt now, no retries, recorded as a test delivery',
        requestBody: requestBody('TestRequest', false),
        responses: { ...ok(200, 'TestResult', 'The attempt'), ...errors(400, 401, 404, 413, 415) },
      },
    },
    [`${base}/{id}/deliveries`]: {
      parameters: [webhookId],
      get: {
        operationId: 'listDeliveries',
        summary: "The webhook's deliveries, newest first",
        parameters: queryParams(listDeliveriesQuery),
        responses: { ...ok(200, 'DeliveryPage', 'A page of deliveries'), ...errors(400, 401, 404) },
      },
    },
    [`${base}/{id}/deliveries/{deliveryId}`]: {
      parameters: [webhookId, deliveryId],
      get: {
        operationId: 'getDelivery',
        responses: { ...ok(200, 'Delivery', 'The delivery with its attempts'), ...errors(400, 401, 404) },
      },
    },
    [`${base}/{id}/deliveries/{deliveryId}/redeliver`]: {
      parameters: [webhookId, deliveryId],
      post: {
        operationId: 'redeliver',
        summary: 'A fresh attempt cycle of the same body and delivery id',
        responses: { ...ok(202, 'Delivery', 'The delivery, pending again'), ...errors(400, 401, 404, 409) },
      },
    },
  }

  const responses = Object.fromEntries(
    Object.entries(ERROR_DESCRIPTIONS).map(([status, description]) => [
      ERROR_RESPONSES[Number(status)],
      { description, ...jsonContent('Error') },
    ]),
  )

  return {
    openapi: '3.1.0',
    info: { title: options.title ?? 'agno-events webhooks API', version: VERSION },
    ...(options.serverUrl ? { servers: [{ url: options.serverUrl }] } : {}),
    security: [{ bearer: [] }],
    paths,
    components: {
      schemas,
      responses,
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
    },
  }
}

const ERROR_DESCRIPTIONS: Record<number, string> = {
  400: 'Bad JSON or a broken rule; details name each field',
  401: 'Missing or unknown bearer token (WWW-Authenticate: Bearer)',
  404: 'No such webhook or delivery for this principal',
  409: 'The webhook is disabled or deleted, or an attempt is in flight',
  413: 'The body is larger than maxBodyBytes',
  415: 'The body is not JSON',
}

const ERROR_RESPONSES: Record<number, string> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  404: 'NotFound',
  409: 'Conflict',
  413: 'PayloadTooLarge',
  415: 'UnsupportedMediaType',
}

function input(schema: z.ZodType): JsonObject {
  return strip(z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as JsonObject)
}

function output(schema: z.ZodType): JsonObject {
  return strip(z.toJSONSchema(schema, { io: 'output', unrepresentable: 'any' }) as JsonObject)
}

function strip(schema: JsonObject): JsonObject {
  const rest = { ...schema }
  delete rest.$schema
  return rest
}
