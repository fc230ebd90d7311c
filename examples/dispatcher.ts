// Webhook delivery with the in-memory store: a receiver, a webhook, an event,
// a failed attempt and its retry (on a short schedule so the demo is quick).
// Run: npx tsx examples/dispatcher.ts
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createEventBus, MemoryWebhookStore, WebhookDispatcher } from 'agno-events'
import { verifyWebhook } from 'agno-events/verify'

let calls = 0
const secret = 'example-secret-0123456789'
const receiver = createServer((req, res) => {
  const chunks: Buffer[] = []
  req.on('data', (c: Buffer) => chunks.push(c))
  req.on('end', () => {
    const envelope = verifyWebhook({ body: Buffer.concat(chunks), headers: req.headers, secret })
    calls++
    console.log(`receiver: attempt ${String(req.headers['x-webhook-attempt'])} of ${envelope.event}`)
    res.writeHead(calls === 1 ? 503 : 200).end() // fail once, then accept
  })
})
await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve))
const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks`

const bus = createEventBus()
const dispatcher = new WebhookDispatcher({
  bus,
  store: new MemoryWebhookStore(),
  retrySchedule: [0, 500], // the default is 0, 1 min, 5 min, 30 min, 2 h
  allowInsecureUrls: true, // http to 127.0.0.1: for this demo only
  allowedHosts: ['127.0.0.1'],
})
dispatcher.on('retry', (r) => console.log(`dispatcher: attempt ${r.attempt} failed (${r.error}), retry at ${r.next_attempt_at}`))
dispatcher.on('delivered', (r) => console.log(`dispatcher: delivered ${r.delivery_id} on attempt ${r.attempt}`))
await dispatcher.start()

const hook = await dispatcher.createWebhook({ url, events: ['agent.executed'], secret })
bus.emit('agent.executed', { agent_id: 'researcher', input: 'q', output: 'a', duration_ms: 42 })

await new Promise((resolve) => setTimeout(resolve, 1500))
const { data } = await dispatcher.listDeliveries(hook.id)
console.log(data.map((d) => ({ id: d.id, status: d.status, attempts: d.attempts.map((a) => a.status_code) })))
await dispatcher.close()
receiver.close()
