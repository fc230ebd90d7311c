// Next.js (App Router): one dispatcher per server process. Next reloads
// modules in development, so the instance is kept on globalThis.
import { createEventBus, WebhookDispatcher, type EventBus } from 'agno-events'
import { createWebhookRoutes, type WebhookRoutes } from 'agno-events/http'
import { SqliteWebhookStore } from 'agno-events/sqlite'

interface AgnoEvents {
  bus: EventBus
  routes: WebhookRoutes
}

const cache = globalThis as typeof globalThis & { agnoEvents?: AgnoEvents }

function create(): AgnoEvents {
  const bus = createEventBus()
  const dispatcher = new WebhookDispatcher({ bus, store: new SqliteWebhookStore({ filename: 'webhooks.db' }) })
  void dispatcher.start()
  const routes = createWebhookRoutes({
    dispatcher,
    // Replace with your own session or API-key check.
    authenticate: async (token) => (token === process.env.AGNO_API_TOKEN ? { id: 'user-1' } : null),
  })
  return { bus, routes }
}

export const agnoEvents: AgnoEvents = (cache.agnoEvents ??= create())
