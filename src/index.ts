export {
  AgnoEventsError,
  ConflictError,
  EventValidationError,
  NotFoundError,
  WebhookValidationError,
  WebhookVerificationError,
  type ValidationIssue,
  type WebhookVerificationReason,
} from './errors.js'
export {
  envelopeSchema,
  EVENT_TYPES,
  eventCatalog,
  eventJsonSchema,
  isEventType,
  metadataSchema,
  samplePayloads,
  type JsonSchema,
} from './events/catalog.js'
export type {
  EventEnvelope,
  EventListener,
  EventMetadata,
  EventType,
  MetadataInput,
  PayloadInput,
  PayloadOf,
} from './events/types.js'
export { createEventBus, type EventBus, type EventBusOptions } from './events/bus.js'
export { signPayload, signStandardWebhook } from './signing/sign.js'
export { verifySignature, verifyWebhook, type IncomingHeaders, type VerifyWebhookOptions } from './signing/verify.js'
export { VERSION } from './version.js'
