import { describe, expect, it } from 'vitest'
import { runTs } from './support/child.js'
import { tempDatabase } from './support/temp.js'

// The runnable examples, started as a user would start them and exercised
// over real HTTP: register a webhook over the API, let the app emit an
// event, and see the consumer example verify the delivery.
const SECRET = 'example-secret-0123456789abcdef'
const LISTENING = /listening on (http:\/\/127\.0\.0\.1:\d+)/

async function startReceiver() {
  const receiver = runTs('examples/receiver-express.ts', [], { PORT: '0', WEBHOOK_SECRET: SECRET })
  const url = (await receiver.waitFor(LISTENING))[1] as string
  return { receiver, url }
}

describe('examples/receiver-express.ts', () => {
  it('rejects a delivery whose signature does not match the raw body', async () => {
    const { url } = await startReceiver()
    const forged = await fetch(`${url}/agno-webhooks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-webhook-signature': 'sha256=' + '0'.repeat(64) },
      body: '{"event":"agent.created"}',
    })
    expect(forged.status).toBe(401)
  })
})

describe.each(['node-http', 'express', 'fastify', 'hono'])('examples/%s.ts', (name) => {
  it('serves the API, and its events reach the verifying receiver', async () => {
    const { receiver, url: receiverUrl } = await startReceiver()
    const app = runTs(`examples/${name}.ts`, [], {
      PORT: '0',
      WEBHOOKS_DB: tempDatabase(),
      API_TOKENS: 'token-1:user-1,token-2:user-2',
    })
    const base = (await app.waitFor(LISTENING))[1] as string
    const auth = { authorization: 'Bearer token-1' }

    expect((await fetch(`${base}/webhooks`)).status).toBe(401)
    const created = await fetch(`${base}/webhooks`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ url: `${receiverUrl}/agno-webhooks`, events: ['agent.executed'], secret: SECRET }),
    })
    expect(created.status).toBe(201)
    const hook = (await created.json()) as { id: string }
    const bad = await fetch(`${base}/webhooks`, { method: 'POST', headers: auth, body: 'not json' })
    expect(bad.status).toBe(415)

    expect((await fetch(`${base}/agents/run`, { method: 'POST', headers: auth })).status).toBe(202)
    const [line] = await receiver.waitFor(/verified agent\.executed delivery [0-9a-f-]{36}/)
    const deliveries = (await (await fetch(`${base}/webhooks/${hook.id}/deliveries`, { headers: auth })).json()) as {
      data: { id: string; status: string }[]
    }
    expect(deliveries.data).toHaveLength(1)
    expect(line).toContain(deliveries.data[0]?.id)
    // user-2 sees none of it.
    const other = await fetch(`${base}/webhooks/${hook.id}`, { headers: { authorization: 'Bearer token-2' } })
    expect(other.status).toBe(404)

    app.process.kill('SIGTERM')
    expect(await app.exited).toBe(0)
  })
})
