import { describe, expect, it } from 'vitest'
import { runTs } from './support/child.js'

// `npm start` runs examples/quickstart.ts after the build; `npm test` has
// built already, so the test runs the same entry directly.
describe('the quickstart', () => {
  it('registers over HTTP, delivers verified events, shows a retry, and exits 0', async () => {
    const started = Date.now()
    const child = runTs('examples/quickstart.ts')
    expect(await child.exited).toBe(0)
    expect(Date.now() - started).toBeLessThan(20_000)
    const out = child.output()
    expect(out).toMatch(/201 Created: webhook [0-9a-f-]{36} for agent\.executed, workflow\.failed, hitl\.requested/)
    expect(out).toMatch(/refused, naming each field: 400 url: .*evnts: is not a known field/)
    // The delivery log: every attempt verified, the retry of workflow.failed.
    const rows = [...out.matchAll(/^ {4}(\S+\.\S+) +(\d) +(\S+) +\d+ ms +(yes|NO)$/gm)].map((m) => m.slice(1))
    expect(rows).toEqual(
      expect.arrayContaining([
        ['agent.executed', '1', '204', 'yes'],
        ['workflow.failed', '1', '503', 'yes'],
        ['workflow.failed', '2', '204', 'yes'],
        ['hitl.requested', '1', '204', 'yes'],
      ]),
    )
    expect(rows).toHaveLength(4)
    expect(out).toMatch(/workflow\.failed attempt 1 got 503: retrying at/)
    expect(out).toContain('the webhook and its 3 deliveries are still there')
    expect(out).toContain('every signature verified, one retry shown')
  })

  it('with --serve keeps the API up, prints curl commands that work, and stops on SIGTERM', async () => {
    const child = runTs('examples/quickstart.ts', ['--serve'], { PORT: '0' })
    const [, base, id] = await child.waitFor(/curl -s -X POST .* (http:\/\/127\.0\.0\.1:\d+)\/webhooks\/([0-9a-f-]{36})\/test/)
    const response = await fetch(`${base}/webhooks/${id}/test`, {
      method: 'POST',
      headers: { authorization: 'Bearer demo-token', 'content-type': 'application/json' },
      body: '{"event":"rag.queried"}',
    })
    expect(await response.json()).toMatchObject({ success: true, status_code: 204 })
    await child.waitFor(/receiver: rag\.queried delivery [0-9a-f-]{36} verified/)
    expect((await fetch(`${base}/webhooks`)).status).toBe(401)
    child.process.kill('SIGTERM')
    expect(await child.exited).toBe(0)
  })
})
