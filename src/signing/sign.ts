import { createHmac } from 'node:crypto'

// Both schemes key HMAC-SHA256 with the UTF-8 bytes of the webhook secret, so
// one secret verifies with the seed's Python function, GitHub-style verifiers
// and Standard Webhooks libraries (given the secret base64-encoded).

/**
 * Signs a body the way the seed specifies: `sha256=` + hex HMAC-SHA256, keyed
 * with the UTF-8 bytes of `secret`, over the exact body bytes. This is the
 * `X-Webhook-Signature` header.
 *
 * @example
 * ```ts
 * const signature = signPayload('{"event":"agent.created"}', 'whsec-my-secret-value')
 * // 'sha256=5d1f...'
 * ```
 */
export function signPayload(payload: string | Uint8Array, secret: string): string {
  return `sha256=${createHmac('sha256', secret).update(payload).digest('hex')}`
}

/**
 * The Standard Webhooks signature: `v1,` + base64 HMAC-SHA256 over
 * `${id}.${timestamp}.${body}`, with the same key as {@link signPayload}.
 * This is the `webhook-signature` header.
 *
 * @example
 * ```ts
 * const header = signStandardWebhook({ id: deliveryId, timestamp: 1702234567, payload: body, secret })
 * ```
 */
export function signStandardWebhook(input: {
  id: string
  timestamp: number
  payload: string | Uint8Array
  secret: string
}): string {
  return `v1,${standardWebhookDigest(input.id, String(input.timestamp), input.payload, input.secret).toString('base64')}`
}

/** The raw Standard Webhooks HMAC, shared by the signer and the verifier. */
export function standardWebhookDigest(
  id: string,
  timestamp: string,
  payload: string | Uint8Array,
  secret: string,
): Buffer {
  return createHmac('sha256', secret).update(`${id}.${timestamp}.`).update(payload).digest()
}
