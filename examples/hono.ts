// The /webhooks API on Hono, served by @hono/node-server. The same
// `routes.fetch` handler runs on Bun, Deno and edge hosts.
// Run: npm run build && npx tsx examples/hono.ts   (PORT, API_TOKENS, WEBHOOKS_DB)
import { serve } from '@hono/node-server'
import { Hono } from 'hono'
import { createWebhookRoutes } from 'agno-events/http'
import { closeOnSignal, port, startHost } from './host.js'

const host = await startHost()
const routes = createWebhookRoutes({ dispatcher: host.dispatcher, authenticate: host.authenticate })

const app = new Hono()
app.all('/webhooks', (c) => routes.fetch(c.req.raw))
app.all('/webhooks/*', (c) => routes.fetch(c.req.raw))

app.post('/agents/run', (c) => {
  const ok = host.runAgent(c.req.header('authorization'), 'What are AI trends?')
  return c.json({ ok }, ok ? 202 : 401)
})

const server = serve({ fetch: app.fetch, port, hostname: '127.0.0.1' }, (info) => {
  console.log(`listening on http://127.0.0.1:${info.port}`)
})
closeOnSignal(host, () => new Promise((resolve) => server.close(resolve)))
