import { lookup as dnsLookup, type LookupAddress } from 'node:dns'
import type { LookupFunction } from 'node:net'
import { Agent, buildConnector, type Dispatcher } from 'undici'
import {
  BlockedAddressError,
  literalHostRange,
  resolveAllowed,
  type AddressPolicy,
  type ResolvedAddress,
  type ResolveHost,
} from './ssrf.js'

/** One HTTP attempt for a sender to make. */
export interface SendRequest {
  url: string
  headers: Readonly<Record<string, string>>
  /** The exact bytes that were signed. */
  body: string
  /** The whole attempt, connect to last byte read, must finish within this. */
  timeoutMs: number
}

/** What became of one attempt. Senders never throw: every failure is a result. */
export interface SendResult {
  /** The response status, or null when no response arrived. */
  status_code: number | null
  /** The first 4 KiB of the response body (UTF-8), or null. */
  response_body: string | null
  /** Why the attempt failed, or null when the endpoint answered 2xx. */
  error: string | null
  duration_ms: number
  /** True when `close()` cut the attempt short: the endpoint is not to blame. */
  aborted: boolean
}

/**
 * Makes delivery attempts. Two ship with agno-events: {@link createUndiciSender}
 * (the default on Node) and `createFetchSender` (for fetch-only runtimes).
 * The dispatcher owns its sender and closes it.
 */
export interface WebhookSender {
  send(request: SendRequest): Promise<SendResult>
  /** Aborts whatever is in flight (those results come back `aborted`) and frees connections. */
  close(): Promise<void>
}

/** How much of a response body is kept. The rest is never read. */
export const MAX_RESPONSE_BYTES = 4096

/** Options shared by the senders that ship with agno-events. */
export interface SenderOptions extends AddressPolicy {
  /** Host name resolution, checked by the guard. Default: `dns.lookup`. Tests inject names here. */
  resolveHost?: ResolveHost
}

export const CLOSING_MESSAGE = 'aborted: the dispatcher is closing'
export const timeoutMessage = (timeoutMs: number) => `timed out after ${timeoutMs} ms`

/** The error text recorded for a response that is not a 2xx. */
export function describeStatus(status: number, location: string | null): string | null {
  if (status >= 200 && status < 300) return null
  if (status >= 300 && status < 400) {
    return `HTTP ${status}: redirect${location ? ` to ${location}` : ''} not followed`
  }
  return `HTTP ${status}`
}

/** The error text recorded for a failed request. */
export function describeFailure(error: unknown): string {
  // fetch and ofetch wrap the socket error ("fetch failed", "[POST] url: <no
  // response>"): the innermost cause is the one that says what happened.
  let innermost = error
  for (let e = error; e; e = (e as { cause?: unknown }).cause) {
    if (e instanceof BlockedAddressError) return e.message
    innermost = e
  }
  const err = innermost as { code?: unknown; message?: unknown }
  const message = String(err.message ?? err)
  const code = typeof err.code === 'string' ? err.code : ''
  return code && !message.includes(code) ? `${code}: ${message}` : message
}

const defaultResolveHost: ResolveHost = (hostname) =>
  new Promise((resolve, reject) => {
    dnsLookup(hostname, { all: true }, (error, addresses: LookupAddress[]) => {
      if (error) reject(error)
      else resolve(addresses.map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 })))
    })
  })


/** Options of {@link createUndiciSender}. */
export interface UndiciSenderOptions extends SenderOptions {
  /** Idle keep-alive sockets are closed after this long. Default 10 s. */
  keepAliveTimeoutMs?: number
}

/**
 * The default sender on Node: undici's dispatcher API with a keep-alive pool
 * per origin. The SSRF guard runs inside the connector, on the addresses that
 * are actually connected to, so a name that resolves (or re-resolves) to a
 * private address is refused before a socket is opened. Redirects are never
 * followed.
 *
 * @example
 * ```ts
 * const sender = createUndiciSender({ allowedHosts: ['hooks.internal'] })
 * const dispatcher = new WebhookDispatcher({ bus, store, sender })
 * ```
 */
export function createUndiciSender(options: UndiciSenderOptions = {}): WebhookSender {
  const policy: AddressPolicy = { allowPrivateNetworks: options.allowPrivateNetworks, allowedHosts: options.allowedHosts }
  const resolve = options.resolveHost ?? defaultResolveHost

  const lookup = ((hostname: string, lookupOptions: { all?: boolean }, callback: LookupCallback) => {
    resolveAllowed(hostname, policy, resolve).then(
      (addresses: ResolvedAddress[]) => {
        const first = addresses[0] as ResolvedAddress
        if (lookupOptions.all) callback(null, addresses)
        else callback(null, first.address, first.family)
      },
      (error: Error) => callback(error, ''),
    )
  }) as unknown as LookupFunction

  const connectSocket = buildConnector({ lookup, timeout: 10_000 })
  const connect: buildConnector.connector = (connectOptions, callback) => {
    // net.connect skips `lookup` for IP literals, so those are judged here,
    // by the same rule as registration and the fetch sender.
    const host = connectOptions.hostname
    const range = literalHostRange(host, policy)
    if (range) {
      callback(new BlockedAddressError(host, host, range), null)
      return
    }
    connectSocket(connectOptions, callback)
  }

  const agent = new Agent({ connect, keepAliveTimeout: options.keepAliveTimeoutMs ?? 10_000, pipelining: 1 })
  // Webhook URLs repeat: each is parsed once (bounded, so it cannot grow without end).
  const targets = new Map<string, { origin: string; path: string }>()
  const targetOf = (href: string) => {
    let target = targets.get(href)
    if (!target) {
      const url = new URL(href)
      target = { origin: url.origin, path: `${url.pathname}${url.search}` }
      if (targets.size >= 10_000) targets.clear()
      targets.set(href, target)
    }
    return target
  }
  const inFlight = new Set<(message: string) => void>()

  return {
    send(request) {
      return new Promise<SendResult>((resolve) => {
        const started = performance.now()
        const result: SendResult = { status_code: null, response_body: null, error: null, duration_ms: 0, aborted: false }
        const chunks: Buffer[] = []
        let size = 0
        let controller: Dispatcher.DispatchController | null = null
        let settled = false

        const finish = (error: string | null, aborted = false): void => {
          if (settled) return
          settled = true
          clearTimeout(timer)
          inFlight.delete(stop)
          if (error !== null) result.error = error
          result.aborted = aborted
          result.response_body = result.status_code === null ? null : Buffer.concat(chunks, size).toString('utf8')
          result.duration_ms = Math.round(performance.now() - started)
          resolve(result)
        }
        // Ends the attempt from outside: the deadline, or close().
        const stop = (message: string): void => {
          // Settle first: abort() calls onResponseError synchronously.
          finish(message, message === CLOSING_MESSAGE)
          controller?.abort(new Error(message))
        }
        // One plain timer per attempt: measured here, an AbortSignal per
        // attempt costs more than the rest of the request.
        const timer = setTimeout(() => stop(timeoutMessage(request.timeoutMs)), request.timeoutMs)
        timer.unref?.()
        inFlight.add(stop)

        try {
          const target = targetOf(request.url)
          agent.dispatch(
            {
              origin: target.origin,
              path: target.path,
              method: 'POST',
              headers: request.headers,
              body: request.body,
              headersTimeout: request.timeoutMs,
              bodyTimeout: request.timeoutMs,
            },
            {
              onRequestStart(c) {
                controller = c
                if (settled) c.abort(new Error(result.error ?? CLOSING_MESSAGE))
              },
              onResponseStart(_c, statusCode, headers) {
                result.status_code = statusCode
                const location = headers.location
                result.error = describeStatus(statusCode, Array.isArray(location) ? (location[0] ?? null) : (location ?? null))
              },
              onResponseData(c, chunk) {
                const room = MAX_RESPONSE_BYTES - size
                chunks.push(chunk.byteLength > room ? chunk.subarray(0, room) : chunk)
                size += Math.min(chunk.byteLength, room)
                if (size >= MAX_RESPONSE_BYTES) {
                  // Enough kept: stop the transfer, keep the outcome.
                  finish(null)
                  c.abort(new Error('response body limit reached'))
                }
              },
              onResponseEnd() {
                finish(null)
              },
              onResponseError(_c, error) {
                finish(describeFailure(error))
              },
            },
          )
        } catch (error) {
          finish(describeFailure(error))
        }
      })
    },
    async close() {
      for (const stop of [...inFlight]) stop(CLOSING_MESSAGE)
      await agent.destroy()
    },
  }
}

type LookupCallback = (
  error: Error | null,
  address: string | ResolvedAddress[],
  family?: number,
) => void
