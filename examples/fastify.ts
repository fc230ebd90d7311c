// The /webhooks API on Fastify 5.
// Run: npm run build && npx tsx examples/fastify.ts   (PORT, API_TOKENS, WEBHOOKS_DB)
import type { AddressInfo } from 'node:net'
import Fastify, { type FastifyReply, type FastifyRequest } from 'fastify'
import { createWebhookRoutes } from 'agno-events/http'
import { closeOnSignal, port, startHost } from './host.js'

const host = await startHost()
const routes = createWebhookRoutes({ dispatcher: host.dispatcher, authenticate: host.authenticate })

const app = Fastify()

// The routes in a scope of their own that hands them the raw body bytes: they
// apply their own size, media-type and JSON rules and answer in their shape.
await app.register(async (scope) => {
  scope.removeAllContentTypeParsers()
  scope.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body))
  const handler = async (request: FastifyRequest, reply: FastifyReply) => {
    reply.hijack()
    await routes.node(Object.assign(request.raw, { body: request.body }), reply.raw)
  }
  scope.all(routes.basePath, handler)
  scope.all(`${routes.basePath}/*`, handler)
})

app.post('/agents/run', async (request, reply) => {
  const ok = host.runAgent(request.headers.authorization, 'What are AI trends?')
  return reply.code(ok ? 202 : 401).send({ ok })
})

await app.listen({ port, host: '127.0.0.1' })
console.log(`listening on http://127.0.0.1:${(app.server.address() as AddressInfo).port}`)
closeOnSignal(host, () => app.close())
