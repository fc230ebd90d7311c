// The /webhooks API on plain node:http.
// Run: npm run build && npx tsx examples/node-http.ts   (PORT, API_TOKENS, WEBHOOKS_DB)
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createWebhookRoutes } from 'agno-events/http'
import { closeOnSignal, port, startHost } from './host.js'

const host = await startHost()
const routes = createWebhookRoutes({ dispatcher: host.dispatcher, authenticate: host.authenticate })

const server = createServer((req, res) => {
  // The app's own route: it runs an agent, which emits an event.
  if (req.method === 'POST' && req.url === '/agents/run') {
    const ok = host.runAgent(req.headers.authorization, 'What are AI trends?')
    return void res.writeHead(ok ? 202 : 401, { 'content-type': 'application/json' }).end(JSON.stringify({ ok }))
  }
  // Everything else: /webhooks/... is answered by agno-events, other paths get its 404.
  void routes.node(req, res)
})

server.listen(port, '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${(server.address() as AddressInfo).port}`)
})
closeOnSignal(host, () => new Promise((resolve) => server.close(resolve)))
