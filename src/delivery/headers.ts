import { signPayload, signStandardWebhook } from '../signing/sign.js'
import { VERSION } from '../version.js'

/** Header names the dispatcher sets itself, lower-cased. A registration may not set them. */
export const DELIVERY_HEADER_NAMES: readonly string[] = [
  'content-type',
  'x-webhook-id',
  'x-webhook-event',
  'x-webhook-signature',
  'x-webhook-timestamp',
  'x-webhook-delivery',
  'x-webhook-attempt',
  'user-agent',
  'webhook-id',
  'webhook-timestamp',
  'webhook-signature',
]

/** Headers that belong to the connection, not the message: a registration setting them could break or smuggle requests. */
export const CONNECTION_HEADER_NAMES: readonly string[] = [
  'host',
  'content-length',
  'transfer-encoding',
  'connection',
  'keep-alive',
  'upgrade',
  'te',
  'trailer',
  'expect',
  'proxy-authorization',
  'proxy-connection',
]

/** Everything needed to sign and label one attempt. */
export interface AttemptHeadersInput {
  webhookId: string
  secret: string
  customHeaders: Readonly<Record<string, string>>
  deliveryId: string
  event: string
  body: string
  attempt: number
  /** Unix seconds of this attempt. */
  timestamp: number
  standardWebhooks: boolean
}

/** The headers of one delivery attempt, exactly as the contract lists them. */
export function buildDeliveryHeaders(input: AttemptHeadersInput): Record<string, string> {
  const headers: Record<string, string> = {
    ...input.customHeaders,
    'Content-Type': 'application/json',
    'User-Agent': `agno-events/${VERSION}`,
    'X-Webhook-ID': input.webhookId,
    'X-Webhook-Event': input.event,
    'X-Webhook-Signature': signPayload(input.body, input.secret),
    'X-Webhook-Timestamp': String(input.timestamp),
    'X-Webhook-Delivery': input.deliveryId,
    'X-Webhook-Attempt': String(input.attempt),
  }
  if (input.standardWebhooks) {
    headers['webhook-id'] = input.deliveryId
    headers['webhook-timestamp'] = String(input.timestamp)
    headers['webhook-signature'] = signStandardWebhook({
      id: input.deliveryId,
      timestamp: input.timestamp,
      payload: input.body,
      secret: input.secret,
    })
  }
  return headers
}
