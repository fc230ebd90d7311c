// The host process of the crash loop (reliability/scenarios.ts), on the
// built package:
//   crash-worker.ts emit FILE RECEIVER_URL COUNT   registers three webhooks
//     (one flaky), emits COUNT events, flushes, prints "flushed", delivers;
//   crash-worker.ts work FILE                      delivers.
// Either exits 0 once no delivery of an enabled webhook is unfinished.
import { createEventBus, WebhookDispatcher } from 'agno-events'
import { SqliteWebhookStore } from 'agno-events/sqlite'

const [mode, file, url, count] = process.argv.slice(2)
const store = new SqliteWebhookStore({ filename: file as string })
const bus = createEventBus()
const dispatcher = new WebhookDispatcher({
  bus,
  store,
  allowPrivateNetworks: true,
  allowInsecureUrls: true,
  // Short times so a killed process's leases run out within the run, and ten
  // attempts so a 30 % flaky receiver almost never fails a delivery for good.
  timeoutMs: 1000,
  leaseMs: 1500,
  pollIntervalMs: 100,
  retrySchedule: [0, 50, 50, 50, 50, 50, 50, 50, 50, 50],
  onError: (error) => process.stderr.write(`worker error: ${String(error)}\n`),
})

if (mode === 'emit') {
  for (const path of ['a', 'b', 'flaky']) await dispatcher.createWebhook({ url: `${url}/${path}`, events: ['*'] })
  await dispatcher.start()
  for (let i = 0; i < Number(count); i++) {
    bus.emit('agent.executed', { agent_id: `agent-${i}`, input: 'q', output: 'a', duration_ms: i })
    if (i % 500 === 499) await new Promise((resolve) => setImmediate(resolve))
  }
  await dispatcher.flush()
  process.stdout.write('flushed\n')
} else {
  await dispatcher.start()
}

const unfinished = store.db.prepare(
  `SELECT count(*) AS n FROM deliveries d JOIN webhooks w ON w.id = d.webhook_id
   WHERE d.status IN ('pending', 'delivering') AND w.enabled = 1`,
)
const timer = setInterval(async () => {
  if ((unfinished.get() as { n: number }).n > 0) return
  clearInterval(timer)
  await dispatcher.close()
  store.close()
  process.stdout.write('done\n')
  process.exit(0)
}, 50)
