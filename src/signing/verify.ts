// The `agno-events/verify` entry, for apps that receive webhooks. It is built
// on its own and must import nothing at run time but node:crypto (and the
// dependency-free errors module): no zod, no bus, no store.
import { createHmac, timingSafeEqual } from 'node:crypto'
import { WebhookVerificationError } from '../errors.js'
import type { EventEnvelope } from '../events/types.js'
import { signPayload, signStandardWebhook, standardWebhookDigest } from './sign.js'

export { signPayload, signStandardWebhook, WebhookVerificationError }
export { AgnoEventsError, type WebhookVerificationReason } from '../errors.js'

const HEX_SIGNATURE = /^sha256=[0-9a-f]{64}$/

/**
 * Checks an `X-Webhook-Signature` value against the exact body bytes, in
 * constant time: the seed's Python `verify_signature` in TypeScript. Returns
 * false, never throws, for a malformed signature.
 *
 * @example
 * ```ts
 * import { verifySignature } from 'agno-events/verify'
 * const ok = verifySignature(rawBody, req.headers['x-webhook-signature'] as string, process.env.WEBHOOK_SECRET!)
 * ```
 */
export function verifySignature(payload: string | Uint8Array, signature: string, secret: string): boolean {
  if (typeof signature !== 'string' || !HEX_SIGNATURE.test(signature)) return false
  if (typeof secret !== 'string' || (typeof payload !== 'string' && !(payload instanceof Uint8Array))) return false
  const expected = createHmac('sha256', secret).update(payload).digest()
  return timingSafeEqual(Buffer.from(signature.slice('sha256='.length), 'hex'), expected)
}

/** Request headers as Node (`req.headers`) or the Fetch API (`Headers`) gives them. */
export type IncomingHeaders = Headers | Readonly<Record<string, string | readonly string[] | undefined>>

/** Options of {@link verifyWebhook}. */
export interface VerifyWebhookOptions {
  /** The raw request body, exactly as received (not re-serialized JSON). */
  body: string | Uint8Array
  headers: IncomingHeaders
  /** The webhook's secret, as registered. */
  secret: string
  /** Largest accepted distance between the signed timestamp and now, either way. Default 300. */
  toleranceSeconds?: number
  /** Milliseconds since the epoch. Default: `Date.now`. */
  now?: () => number
}

/**
 * Verifies a received delivery and returns its envelope. Uses the Standard
 * Webhooks headers (`webhook-id`, `webhook-timestamp`, `webhook-signature`)
 * when present, since that signature also covers the timestamp; otherwise
 * `X-Webhook-Signature` with the `X-Webhook-Timestamp` tolerance. Throws
 * {@link WebhookVerificationError} saying why it failed.
 *
 * @example
 * ```ts
 * import { verifyWebhook } from 'agno-events/verify'
 * const envelope = verifyWebhook({ body: rawBody, headers: req.headers, secret })
 * if (envelope.event === 'agent.executed') console.log(envelope.payload.duration_ms)
 * ```
 */
export function verifyWebhook(options: VerifyWebhookOptions): EventEnvelope {
  const { body, headers, secret } = options
  const toleranceSeconds = options.toleranceSeconds ?? 300
  const nowSeconds = Math.floor((options.now ?? Date.now)() / 1000)

  const id = readHeader(headers, 'webhook-id')
  const timestamp = readHeader(headers, 'webhook-timestamp')
  const signatures = readHeader(headers, 'webhook-signature')
  if (id !== undefined || timestamp !== undefined || signatures !== undefined) {
    if (id === undefined || timestamp === undefined || signatures === undefined) {
      throw new WebhookVerificationError(
        'missing_header',
        'Standard Webhooks headers are incomplete: webhook-id, webhook-timestamp and webhook-signature are all required',
      )
    }
    checkTimestamp(timestamp, 'webhook-timestamp', nowSeconds, toleranceSeconds)
    const expected = standardWebhookDigest(id, timestamp, body, secret)
    // The header may carry several space-separated signatures (key rotation).
    const matched = signatures.split(' ').some((candidate) => {
      if (!candidate.startsWith('v1,')) return false
      const given = Buffer.from(candidate.slice(3), 'base64')
      return given.length === expected.length && timingSafeEqual(given, expected)
    })
    if (!matched) throw new WebhookVerificationError('invalid_signature', 'webhook-signature does not match the body')
  } else {
    const signature = readHeader(headers, 'x-webhook-signature')
    const legacyTimestamp = readHeader(headers, 'x-webhook-timestamp')
    if (signature === undefined || legacyTimestamp === undefined) {
      throw new WebhookVerificationError(
        'missing_header',
        'No signature headers: expected webhook-signature or X-Webhook-Signature with X-Webhook-Timestamp',
      )
    }
    checkTimestamp(legacyTimestamp, 'X-Webhook-Timestamp', nowSeconds, toleranceSeconds)
    if (!verifySignature(body, signature, secret)) {
      throw new WebhookVerificationError('invalid_signature', 'X-Webhook-Signature does not match the body')
    }
  }

  try {
    return JSON.parse(typeof body === 'string' ? body : Buffer.from(body).toString('utf8')) as EventEnvelope
  } catch {
    throw new WebhookVerificationError('invalid_body', 'The body is not valid JSON')
  }
}

function checkTimestamp(value: string, header: string, nowSeconds: number, toleranceSeconds: number): void {
  if (!/^\d{1,15}$/.test(value)) {
    throw new WebhookVerificationError('invalid_timestamp', `${header} is not a Unix timestamp in seconds`)
  }
  const skew = nowSeconds - Number(value)
  if (skew > toleranceSeconds) {
    throw new WebhookVerificationError(
      'timestamp_too_old',
      `${header} is ${skew} s in the past, beyond the ${toleranceSeconds} s tolerance`,
    )
  }
  if (-skew > toleranceSeconds) {
    throw new WebhookVerificationError(
      'timestamp_too_new',
      `${header} is ${-skew} s in the future, beyond the ${toleranceSeconds} s tolerance`,
    )
  }
}

function readHeader(headers: IncomingHeaders, name: string): string | undefined {
  if (typeof (headers as Headers).get === 'function') return (headers as Headers).get(name) ?? undefined
  const record = headers as Readonly<Record<string, string | readonly string[] | undefined>>
  const value = record[name] ?? Object.entries(record).find(([key]) => key.toLowerCase() === name)?.[1]
  return Array.isArray(value) ? value[0] : (value as string | undefined)
}
