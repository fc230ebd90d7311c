// The part every framework example shares: the bus, the dispatcher on the
// embedded SQLite store, and how API callers are authenticated. Each
// examples/<framework>.ts mounts `createWebhookRoutes` on its own server.
import { createEventBus, WebhookDispatcher, type EventBus } from 'agno-events'
import type { Principal } from 'agno-events/http'
import { SqliteWebhookStore } from 'agno-events/sqlite'

export interface Host {
  bus: EventBus
  dispatcher: WebhookDispatcher
  authenticate: (token: string) => Principal | null
  /**
   * Your app's own work: runs an "agent" for whoever the Authorization header
   * names and emits `agent.executed` for that user. Returns false for a bad token.
   */
  runAgent: (authorization: string | undefined, input: string) => boolean
  close: () => Promise<void>
}

export async function startHost(): Promise<Host> {
  // API_TOKENS="token-1:user-1,token-2:user-2"; a real app checks its own sessions or keys.
  const tokens = new Map(
    (process.env.API_TOKENS ?? 'dev-token:user-1').split(',').map((pair) => pair.split(':') as [string, string]),
  )
  // Development only: lets webhooks point at http://127.0.0.1 receivers.
  // In production leave both off, so only public https URLs are reached.
  const development = process.env.NODE_ENV !== 'production'

  const bus = createEventBus()
  const store = new SqliteWebhookStore({ filename: process.env.WEBHOOKS_DB ?? 'webhooks.db' })
  const dispatcher = new WebhookDispatcher({
    bus,
    store,
    allowInsecureUrls: development,
    allowPrivateNetworks: development,
  })
  dispatcher.on('attempt', (a) =>
    console.log(`delivery ${a.delivery_id} ${a.event} attempt ${a.attempt}: ${a.status_code ?? a.error}`),
  )
  await dispatcher.start()

  const authenticate = (token: string): Principal | null => {
    const id = tokens.get(token)
    return id === undefined ? null : { id }
  }

  return {
    bus,
    dispatcher,
    authenticate,
    runAgent: (authorization, input) => {
      const user = authenticate(authorization?.replace(/^Bearer /i, '') ?? '')
      if (!user) return false
      const output = `Answer to: ${input}`
      bus.emit('agent.executed', { agent_id: 'researcher', input, output, duration_ms: 1234 }, { user_id: user.id })
      return true
    },
    close: async () => {
      await dispatcher.close()
      store.close()
    },
  }
}

/** Closes the server and the host on Ctrl-C or SIGTERM. */
export function closeOnSignal(host: Host, closeServer: () => Promise<unknown>): void {
  const stop = async () => {
    await closeServer()
    await host.close()
    process.exit(0)
  }
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
}

export const port = Number(process.env.PORT ?? 3000)
