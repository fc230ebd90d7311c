// A consumer app: receives agno-events webhooks on Express and verifies each
// one with `verifySignature` on the raw body.
// Run: WEBHOOK_SECRET=... npx tsx examples/receiver-express.ts   (PORT, default 4000)
import type { AddressInfo } from 'node:net'
import express from 'express'
import { verifySignature } from 'agno-events/verify'

const secret = process.env.WEBHOOK_SECRET ?? 'replace-with-your-webhook-secret'
const seen = new Set<string>()
const app = express()

// express.raw keeps the exact bytes: the signature is over them, and JSON
// parsed and serialized again would not match.
app.post('/agno-webhooks', express.raw({ type: 'application/json', limit: '1mb' }), (req, res) => {
  const body = req.body as Buffer
  const signature = req.header('x-webhook-signature') ?? ''
  if (!verifySignature(body, signature, secret)) {
    console.log('rejected: bad signature')
    return void res.status(401).send('bad signature')
  }
  // Deliveries are at-least-once: a delivery id seen before is a retry of
  // something already handled.
  const deliveryId = req.header('x-webhook-delivery') ?? ''
  const duplicate = seen.has(deliveryId)
  seen.add(deliveryId)
  const envelope = JSON.parse(body.toString('utf8')) as { event: string; payload: unknown }
  console.log(`verified ${envelope.event} delivery ${deliveryId}${duplicate ? ' (duplicate)' : ''}`)
  res.status(204).end()
})

const server = app.listen(Number(process.env.PORT ?? 4000), '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${(server.address() as AddressInfo).port}`)
})
process.once('SIGTERM', () => server.close())
process.once('SIGINT', () => server.close())
