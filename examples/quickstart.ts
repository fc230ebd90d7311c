// `npm start`: agno-events end to end on the embedded SQLite store.
// A receiver verifies signatures; a webhook is registered; agent events are
// emitted; the receiver fails the first attempt of one delivery and the
// retry (on a short demo schedule) succeeds. Then the process "restarts" on
// the same file to show that deliveries and webhooks persist.
import { mkdtempSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createEventBus, WebhookDispatcher } from 'agno-events'
import { SqliteWebhookStore } from 'agno-events/sqlite'
import { verifyWebhook, WebhookVerificationError } from 'agno-events/verify'

const file = join(mkdtempSync(join(tmpdir(), 'agno-events-quickstart-')), 'webhooks.db')
const log = (who: string, message: string) => console.log(`${who.padEnd(10)} ${message}`)

// --- the consumer: a receiver that checks every delivery -------------------
let secret = ''
let failedOnce = false
const receiver = createServer((req, res) => {
  const chunks: Buffer[] = []
  req.on('data', (c: Buffer) => chunks.push(c))
  req.on('end', () => {
    try {
      const envelope = verifyWebhook({ body: Buffer.concat(chunks), headers: req.headers, secret })
      const attempt = String(req.headers['x-webhook-attempt'])
      if (envelope.event === 'workflow.failed' && !failedOnce) {
        failedOnce = true
        log('receiver', `${envelope.event} attempt ${attempt}: answering 503 to show a retry`)
        return void res.writeHead(503).end('try later')
      }
      log('receiver', `${envelope.event} attempt ${attempt} verified, delivery ${String(req.headers['x-webhook-delivery'])}`)
      res.writeHead(204).end()
    } catch (error) {
      log('receiver', `rejected: ${error instanceof WebhookVerificationError ? error.reason : String(error)}`)
      res.writeHead(400).end()
    }
  })
})
await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve))
const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/agno-webhooks`

// --- the host: Agno's backend ------------------------------------------------
async function startHost() {
  const bus = createEventBus()
  const store = new SqliteWebhookStore({ filename: file })
  const dispatcher = new WebhookDispatcher({
    bus,
    store,
    retrySchedule: [0, 1000, 5000], // the default is 0, 1 min, 5 min, 30 min, 2 h
    allowInsecureUrls: true, // plain http to 127.0.0.1: this demo only
    allowedHosts: ['127.0.0.1'],
  })
  dispatcher.on('retry', (r) => log('host', `attempt ${r.attempt} of ${r.event} failed (${r.error}); retry at ${r.next_attempt_at}`))
  await dispatcher.start()
  return { bus, store, dispatcher }
}

log('host', `store: ${file}`)
const host = await startHost()
const hook = await host.dispatcher.createWebhook({ url, events: ['agent.executed', 'workflow.failed'] })
secret = hook.secret ?? ''
log('host', `registered webhook ${hook.id} for ${hook.events.join(', ')}`)

host.bus.emit(
  'agent.executed',
  { agent_id: 'researcher', input: 'What are AI trends?', output: 'Based on my research...', duration_ms: 2345 },
  { user_id: 'user@example.com' },
)
host.bus.emit('workflow.failed', { workflow_id: 'daily-digest', error: { message: 'Model timed out' }, step: 'summarize' })
host.bus.emit('rag.queried', { query: 'refund policy', result_count: 5 }) // nobody subscribed: no delivery
await host.dispatcher.flush()
log('host', 'events stored; waiting for the deliveries and the retry...')
await new Promise((resolve) => setTimeout(resolve, 1500))
await host.dispatcher.close()
host.store.close()

// --- a restart on the same file: everything is still there -----------------
const again = await startHost()
const { data } = await again.dispatcher.listDeliveries(hook.id)
for (const d of data) {
  log('restarted', `${d.event.padEnd(15)} ${d.status.padEnd(9)} attempts: ${d.attempts.map((a) => a.status_code).join(' -> ')}`)
}
await again.dispatcher.close()
again.store.close()
receiver.close()
