import { afterEach } from 'vitest'
import {
  createEventBus,
  createFetchSender,
  MemoryWebhookStore,
  WebhookDispatcher,
  type AttemptReport,
  type EventBus,
  type WebhookDispatcherOptions,
  type WebhookStore,
} from '../../src/index.js'

export type SenderKind = 'undici' | 'ofetch'

export interface Harness {
  bus: EventBus
  store: WebhookStore
  dispatcher: WebhookDispatcher
  /** Every attempt report, in order. */
  attempts: AttemptReport[]
  errors: unknown[]
}

const cleanups: Array<() => Promise<unknown>> = []

/** Closes every dispatcher and server the test opened. */
export function registerCleanup(fn: () => Promise<unknown>): void {
  cleanups.push(fn)
}

afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.()
})

/**
 * A started dispatcher on a memory store (unless one is given), allowed to
 * reach 127.0.0.1 over http, closed after the test.
 */
export async function startDispatcher(
  options: Partial<WebhookDispatcherOptions> & { senderKind?: SenderKind; start?: boolean } = {},
): Promise<Harness> {
  const { senderKind = 'undici', start = true, ...rest } = options
  const bus = options.bus ?? createEventBus()
  const store = options.store ?? new MemoryWebhookStore()
  const errors: unknown[] = []
  const policy = {
    allowPrivateNetworks: rest.allowPrivateNetworks ?? true,
    allowedHosts: rest.allowedHosts,
  }
  const dispatcher = new WebhookDispatcher({
    allowInsecureUrls: true,
    onError: (error) => errors.push(error),
    sender: senderKind === 'ofetch' ? createFetchSender({ ...policy, resolveHost: rest.resolveHost }) : undefined,
    ...rest,
    ...policy,
    bus,
    store,
  })
  const attempts: AttemptReport[] = []
  dispatcher.on('attempt', (report) => attempts.push(report))
  registerCleanup(() => dispatcher.close())
  if (start) await dispatcher.start()
  return { bus, store, dispatcher, attempts, errors }
}

export const executed = { agent_id: 'researcher', input: 'What are AI trends?', output: 'Based on...', duration_ms: 2345 }
