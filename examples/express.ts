// The /webhooks API on Express 5.
// Run: npm run build && npx tsx examples/express.ts   (PORT, API_TOKENS, WEBHOOKS_DB)
import type { AddressInfo } from 'node:net'
import express from 'express'
import { createWebhookRoutes } from 'agno-events/http'
import { closeOnSignal, port, startHost } from './host.js'

const host = await startHost()
const routes = createWebhookRoutes({ dispatcher: host.dispatcher, authenticate: host.authenticate })

const app = express()
// Mounted before express.json(), so the routes read the body themselves and
// answer bad JSON, wrong media types and oversized bodies in their own shape.
// (Behind express.json() they work too: they take the parsed req.body.)
// Paths outside /webhooks go on to the next handler.
app.use(routes.node)
app.use(express.json())

app.post('/agents/run', (req, res) => {
  const ok = host.runAgent(req.headers.authorization, 'What are AI trends?')
  res.status(ok ? 202 : 401).json({ ok })
})

const server = app.listen(port, '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${(server.address() as AddressInfo).port}`)
})
closeOnSignal(host, () => new Promise((resolve) => server.close(resolve)))
