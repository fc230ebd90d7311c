// `npm start`: agno-events end to end, in one process, in a few seconds.
//
//   1. a consumer's receiver that verifies every delivery's signature;
//   2. your app: a node:http server with the /webhooks API, on SQLite;
//   3. a webhook registered over HTTP with a bearer token;
//   4. events of several types emitted; the receiver fails one at first, so a
//      retry is shown (on a short demo schedule);
//   5. the delivery log, the deliveries as the API shows them, and a restart
//      on the same database file.
//
// `npm start -- --serve` keeps the app running and prints curl commands.
import { mkdtempSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createEventBus, WebhookDispatcher, type AttemptReport } from 'agno-events'
import { createWebhookRoutes } from 'agno-events/http'
import { SqliteWebhookStore } from 'agno-events/sqlite'
import { verifySignature } from 'agno-events/verify'

const serveMode = process.argv.includes('--serve')
const TOKEN = 'demo-token'
const USER = 'user-1'
// The default schedule waits 1 min, 5 min, 30 min and 2 h between attempts;
// the demo waits 1 s and 3 s so the retry shows up while you watch.
const DEMO_SCHEDULE = [0, 1000, 3000]

const step = (n: number, text: string) => console.log(`\n[${n}] ${text}`)
const say = (text: string) => console.log(`    ${text}`)

function listen(server: Server, port = 0): Promise<string> {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`))
  })
}

// --- 1. the consumer's receiver ---------------------------------------------
step(1, 'Starting a receiver (the consumer) that verifies every delivery')
// The consumer keeps the secret of each webhook it registered: the generated
// one (known after step 3) and, for the --serve curl example, one it chose.
const OWN_SECRET = 'my-own-secret-at-least-16-chars'
const secrets = [OWN_SECRET]
const verified = new Map<string, boolean>() // `${delivery}/${attempt}` -> signature ok
let failFirstWorkflow = !serveMode
const receiver = createServer((req, res) => {
  const chunks: Buffer[] = []
  req.on('data', (chunk: Buffer) => chunks.push(chunk))
  req.on('end', () => {
    const body = Buffer.concat(chunks)
    const ok = secrets.some((secret) => verifySignature(body, String(req.headers['x-webhook-signature']), secret))
    if (serveMode) say(`receiver: ${String(req.headers['x-webhook-event'])} delivery ${String(req.headers['x-webhook-delivery'])} ${ok ? 'verified' : 'NOT verified'}`)
    verified.set(`${String(req.headers['x-webhook-delivery'])}/${String(req.headers['x-webhook-attempt'])}`, ok)
    if (!ok) return void res.writeHead(401).end('bad signature')
    if (req.headers['x-webhook-event'] === 'workflow.failed' && failFirstWorkflow) {
      failFirstWorkflow = false
      return void res.writeHead(503).end('busy, try later') // the first attempt fails on purpose
    }
    res.writeHead(204).end()
  })
})
const receiverUrl = `${await listen(receiver)}/agno-webhooks`
say(`listening at ${receiverUrl}`)

// --- 2. your app ---------------------------------------------------------------
step(2, 'Starting the app: the /webhooks API on node:http, stored in SQLite')
const file = join(mkdtempSync(join(tmpdir(), 'agno-events-quickstart-')), 'webhooks.db')

async function startApp(port = 0) {
  const bus = createEventBus()
  const store = new SqliteWebhookStore({ filename: file })
  const dispatcher = new WebhookDispatcher({
    bus,
    store,
    retrySchedule: DEMO_SCHEDULE,
    allowInsecureUrls: true, // plain http to 127.0.0.1: for this demo only
    allowedHosts: ['127.0.0.1'],
  })
  await dispatcher.start()
  const routes = createWebhookRoutes({
    dispatcher,
    authenticate: (token) => (token === TOKEN ? { id: USER } : null),
  })
  const server = createServer((req, res) => void routes.node(req, res))
  const url = await listen(server, port)
  const close = async () => {
    await new Promise((resolve) => server.close(resolve))
    await dispatcher.close()
    store.close()
  }
  return { bus, dispatcher, url, close }
}

const app = await startApp(serveMode ? Number(process.env.PORT ?? 3000) : 0)
say(`API at ${app.url}/webhooks, database ${file}`)
say(`demo retry schedule: ${DEMO_SCHEDULE.map((ms) => `${ms / 1000} s`).join(', ')} (default: 0, 1 min, 5 min, 30 min, 2 h)`)

const log: AttemptReport[] = []
app.dispatcher.on('attempt', (report) => log.push(report))
app.dispatcher.on('retry', (r) => say(`${r.event} attempt ${r.attempt} got ${r.status_code ?? r.error}: retrying at ${r.next_attempt_at}`))
app.dispatcher.on('delivered', (r) => say(`${r.event} delivered on attempt ${r.attempt}`))

async function api(method: string, path: string, body?: unknown) {
  const response = await fetch(`${app.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${TOKEN}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  })
  return { status: response.status, body: (await response.json()) as Record<string, unknown> }
}

// --- 3. register a webhook over HTTP ----------------------------------------------
step(3, `Registering a webhook: POST /webhooks with "Authorization: Bearer ${TOKEN}"`)
const events = ['agent.executed', 'workflow.failed', 'hitl.requested']
const created = await api('POST', '/webhooks', { url: receiverUrl, events, description: 'quickstart receiver' })
if (created.status !== 201) throw new Error(`registration failed: ${JSON.stringify(created.body)}`)
const hook = created.body as { id: string; secret: string; events: string[] }
secrets.push(hook.secret)
say(`201 Created: webhook ${hook.id} for ${hook.events.join(', ')}`)
say(`the generated secret is returned this once: ${hook.secret.slice(0, 6)}... (the receiver keeps it)`)
const refused = await api('POST', '/webhooks', { url: 'https://10.0.0.1/hook', evnts: ['agent.executed'] })
say(`a bad one is refused, naming each field: ${refused.status} ${(refused.body.error as { message: string }).message}`)

if (serveMode) {
  const auth = `-H "Authorization: Bearer ${TOKEN}"`
  const json = `-H "Content-Type: application/json"`
  console.log(`
The app keeps running (Ctrl-C to stop). Try the API by hand:

  curl -s ${auth} ${app.url}/webhooks
  curl -s ${auth} ${app.url}/webhooks/event-types
  curl -s -X POST ${auth} ${json} -d '{"url":"${receiverUrl}","events":["*"],"secret":"${OWN_SECRET}"}' ${app.url}/webhooks
  curl -s -X POST ${auth} ${json} -d '{"event":"rag.queried"}' ${app.url}/webhooks/${hook.id}/test
  curl -s ${auth} ${app.url}/webhooks/${hook.id}/deliveries
  curl -s -X PATCH ${auth} ${json} -d '{"enabled":false}' ${app.url}/webhooks/${hook.id}
  curl -s -i ${app.url}/webhooks   # 401 without a token
`)
  const stop = async () => {
    await app.close()
    receiver.close()
    process.exit(0)
  }
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
} else {
  // --- 4. emit events ---------------------------------------------------------------
  step(4, 'Emitting events as the app does its work')
  const meta = { user_id: USER }
  app.bus.emit('agent.executed', { agent_id: 'researcher', input: 'What are AI trends?', output: 'Based on my research...', duration_ms: 2345 }, meta)
  app.bus.emit('workflow.failed', { workflow_id: 'daily-digest', error: { message: 'Model timed out' }, step: 'summarize' }, meta)
  app.bus.emit('hitl.requested', { hitl_id: 'approve-42', agent_id: 'researcher', prompt: 'Send the report?', options: ['yes', 'no'] }, meta)
  app.bus.emit('rag.queried', { query: 'refund policy', result_count: 5 }, meta)
  app.bus.emit('agent.executed', { agent_id: 'other', input: 'hi', output: 'hello', duration_ms: 12 }, { user_id: 'user-2' })
  say('agent.executed, workflow.failed, hitl.requested: subscribed, so delivered')
  say('rag.queried: not subscribed; agent.executed for user-2: another tenant; neither is delivered')
  await app.dispatcher.flush()

  const deadline = Date.now() + 15_000
  while (log.filter((r) => r.status_code === 204).length < 3) {
    if (Date.now() > deadline) throw new Error('the deliveries did not complete in 15 s')
    await new Promise((resolve) => setTimeout(resolve, 50))
  }

  // --- 5. what happened ---------------------------------------------------------------
  step(5, 'Delivery log')
  const rows = log.map((r) => ({
    event: r.event,
    attempt: r.attempt,
    status: r.status_code ?? r.error ?? '',
    duration: `${r.duration_ms} ms`,
    verified: verified.get(`${r.delivery_id}/${r.attempt}`) ? 'yes' : 'NO',
  }))
  const columns = ['event', 'attempt', 'status', 'duration', 'verified'] as const
  const width = (c: (typeof columns)[number]) => Math.max(c.length, ...rows.map((row) => String(row[c]).length))
  const line = (cells: Record<(typeof columns)[number], unknown>) => columns.map((c) => String(cells[c]).padEnd(width(c))).join('  ').trimEnd()
  say(line({ event: 'event', attempt: 'attempt', status: 'status', duration: 'duration', verified: 'verified' }))
  for (const row of rows) say(line(row))

  const listed = await api('GET', `/webhooks/${hook.id}/deliveries`)
  const deliveries = listed.body.data as { id: string; event: string; status: string; attempts: unknown[] }[]
  say(`GET /webhooks/${hook.id}/deliveries: ${deliveries.map((d) => `${d.event} ${d.status} (${d.attempts.length} attempt${d.attempts.length === 1 ? '' : 's'})`).join(', ')}`)
  await app.close()

  step(6, 'Restarting the app on the same SQLite file')
  const again = await startApp()
  const reloaded = await fetch(`${again.url}/webhooks/${hook.id}/deliveries`, { headers: { authorization: `Bearer ${TOKEN}` } })
  const persisted = ((await reloaded.json()) as { data: unknown[] }).data.length
  say(`the webhook and its ${persisted} deliveries are still there`)
  await again.close()
  receiver.close()

  const allVerified = rows.every((r) => r.verified === 'yes')
  const retried = rows.some((r) => r.event === 'workflow.failed' && r.attempt === 2 && r.status === 204)
  console.log(`\nDone: ${rows.length} attempts, ${allVerified ? 'every signature verified' : 'SOME SIGNATURES FAILED'}, ${retried ? 'one retry shown' : 'NO RETRY SEEN'}.`)
  console.log('Next: `npm start -- --serve` to try the API with curl; README.md for mounting it on your framework.')
  process.exitCode = allVerified && retried && persisted === 3 ? 0 : 1
}
