export {
  AgnoEventsError,
  ConflictError,
  EventValidationError,
  NotFoundError,
  StoreBusyError,
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
export {
  WebhookDispatcher,
  type AttemptReport,
  type CreatedWebhook,
  type DeliveryAttempt,
  type DispatcherEvents,
  type Page,
  type TestDeliveryResult,
  type Webhook,
  type WebhookDelivery,
  type WebhookDispatcherOptions,
} from './delivery/dispatcher.js'
export type { CreateWebhookInput, UpdateWebhookInput } from './delivery/registration.js'
export { DEFAULT_RETRY_SCHEDULE } from './delivery/retry.js'
export { systemClock, type Clock } from './delivery/scheduler.js'
export {
  createUndiciSender,
  MAX_RESPONSE_BYTES,
  type SendRequest,
  type SendResult,
  type UndiciSenderOptions,
  type WebhookSender,
} from './delivery/sender.js'
export { createFetchSender, type FetchSenderOptions } from './delivery/fetch-sender.js'
export {
  blockedRange,
  type AddressPolicy,
  type BlockedRange,
  type ResolvedAddress,
  type ResolveHost,
} from './delivery/ssrf.js'
export { MemoryWebhookStore } from './store/memory.js'
export {
  DELIVERY_STATUSES,
  type AttemptCompletion,
  type AttemptOutcome,
  type AttemptRecord,
  type ClaimedDelivery,
  type ClaimRequest,
  type ClaimResult,
  type CompletionResult,
  type DeliveryStatus,
  type NewDelivery,
  type QueuedDelivery,
  type ReleasedClaim,
  type StoredDelivery,
  type StoredWebhook,
  type WebhookChanges,
  type WebhookRecord,
  type WebhookStore,
} from './store/types.js'
