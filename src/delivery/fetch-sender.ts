import { ofetch } from 'ofetch'
import {
  CLOSING_MESSAGE,
  describeFailure,
  describeStatus,
  MAX_RESPONSE_BYTES,
  timeoutMessage,
  type SenderOptions,
  type SendResult,
  type WebhookSender,
} from './sender.js'
import { BlockedAddressError, literalHostRange, resolveAllowed } from './ssrf.js'

/** Options of {@link createFetchSender}. */
export interface FetchSenderOptions extends SenderOptions {
  /** The `fetch` to use. Default: the global one. */
  fetch?: typeof globalThis.fetch
}

/**
 * A sender built on ofetch, for runtimes that only have `fetch`. Redirects are
 * never followed and literal private hosts are refused. `fetch` resolves names
 * itself, so the guard cannot see the address it connects to: when
 * `resolveHost` is given the name is checked first, which still leaves a DNS
 * rebinding window. On Node, prefer the default undici sender.
 *
 * @example
 * ```ts
 * const dispatcher = new WebhookDispatcher({ bus, store, sender: createFetchSender() })
 * ```
 */
export function createFetchSender(options: FetchSenderOptions = {}): WebhookSender {
  const policy = { allowPrivateNetworks: options.allowPrivateNetworks, allowedHosts: options.allowedHosts }
  const $fetch = options.fetch ? ofetch.create({}, { fetch: options.fetch }) : ofetch
  const inFlight = new Set<AbortController>()

  return {
    async send(request) {
      const started = performance.now()
      const result: SendResult = { status_code: null, response_body: null, error: null, duration_ms: 0, aborted: false }
      const controller = new AbortController()
      inFlight.add(controller)
      const timer = setTimeout(() => controller.abort(new Error(timeoutMessage(request.timeoutMs))), request.timeoutMs)
      timer.unref?.()
      try {
        const url = new URL(request.url)
        const range = literalHostRange(url.hostname, policy)
        if (range) throw new BlockedAddressError(url.hostname, url.hostname, range)
        if (options.resolveHost) await resolveAllowed(url.hostname, policy, options.resolveHost)
        const response = await $fetch.raw(request.url, {
          method: 'POST',
          body: request.body,
          headers: { ...request.headers },
          redirect: 'manual',
          retry: false,
          ignoreResponseError: true,
          responseType: 'stream',
          signal: controller.signal,
        })
        result.status_code = response.status
        result.error = describeStatus(response.status, response.headers.get('location'))
        const stream = response._data as ReadableStream<Uint8Array> | undefined
        result.response_body = stream ? await readLimited(stream) : ''
      } catch (error) {
        const reason = controller.signal.aborted ? (controller.signal.reason as Error).message : null
        result.error = reason ?? describeFailure(error)
        result.aborted = reason === CLOSING_MESSAGE
      } finally {
        clearTimeout(timer)
        inFlight.delete(controller)
        result.duration_ms = Math.round(performance.now() - started)
      }
      return result
    },
    async close() {
      for (const controller of inFlight) controller.abort(new Error(CLOSING_MESSAGE))
    },
  }
}

/** Reads at most MAX_RESPONSE_BYTES, then cancels the rest of the transfer. */
async function readLimited(stream: ReadableStream<Uint8Array>): Promise<string> {
  const reader = stream.getReader()
  const chunks: Uint8Array[] = []
  let size = 0
  try {
    while (size < MAX_RESPONSE_BYTES) {
      const { done, value } = await reader.read()
      if (done) break
      const room = MAX_RESPONSE_BYTES - size
      chunks.push(value.byteLength > room ? value.subarray(0, room) : value)
      size += Math.min(value.byteLength, room)
    }
  } finally {
    await reader.cancel().catch(() => undefined)
  }
  return Buffer.concat(chunks, size).toString('utf8')
}
