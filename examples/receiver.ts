// A consumer app receiving agno-events webhooks with node:http and checking
// them with `agno-events/verify` (which needs nothing but node:crypto).
// Run: WEBHOOK_SECRET=... npx tsx examples/receiver.ts
import { createServer } from 'node:http'
import { verifyWebhook, WebhookVerificationError } from 'agno-events/verify'

const secret = process.env.WEBHOOK_SECRET ?? 'replace-with-your-webhook-secret'
const seen = new Set<string>()

const server = createServer((req, res) => {
  const chunks: Buffer[] = []
  req.on('data', (chunk: Buffer) => chunks.push(chunk))
  req.on('end', () => {
    try {
      // Verify the raw bytes: re-serialized JSON would not match the signature.
      const envelope = verifyWebhook({ body: Buffer.concat(chunks), headers: req.headers, secret })
      // Deliveries are at-least-once: dedupe on the delivery id.
      const deliveryId = String(req.headers['x-webhook-delivery'])
      if (!seen.has(deliveryId)) {
        seen.add(deliveryId)
        console.log('received', envelope.event, envelope.payload)
      }
      res.writeHead(204).end()
    } catch (error) {
      const reason = error instanceof WebhookVerificationError ? error.reason : 'bad_request'
      res.writeHead(400, { 'content-type': 'text/plain' }).end(reason)
    }
  })
})

server.listen(Number(process.env.PORT ?? 4000), '127.0.0.1', () => console.log('listening'))
