import { createServer as createTcpServer, type Server, type Socket } from 'node:net'
import { describe, expect, it } from 'vitest'
import { registerCleanup, startDispatcher, type SenderKind } from './support/harness.js'
import { waitFor } from './support/receiver.js'

// Receivers that misbehave at the HTTP level, on raw TCP servers on
// 127.0.0.1. Each attempt must end within the timeout with its outcome
// recorded, and leave no socket open on either side.
const TIMEOUT_MS = 600

/** `every(ms, write)` writes to the socket every `ms` until it closes. */
type Behaviour = (socket: Socket, every: (ms: number, write: () => string) => void) => void

async function hostile(behaviour: Behaviour): Promise<{ port: number; open: () => number }> {
  const sockets = new Set<Socket>()
  const timers = new Set<ReturnType<typeof setInterval>>()
  const server: Server = createTcpServer((socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    socket.on('error', () => undefined)
    // Wait for the request's headers before misbehaving.
    socket.once('data', () =>
      behaviour(socket, (ms, write) => {
        const timer = setInterval(() => (socket.destroyed ? clearInterval(timer) : socket.write(write())), ms)
        timers.add(timer)
      }),
    )
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  registerCleanup(
    () =>
      new Promise<void>((resolve) => {
        for (const t of timers) clearInterval(t)
        for (const s of sockets) s.destroy()
        server.close(() => resolve())
      }),
  )
  return { port: (server.address() as { port: number }).port, open: () => sockets.size }
}

const cases: Array<[string, Behaviour, 'http' | 'https', RegExp | null]> = [
  [
    'a slow-loris response (a header byte every 50 ms)',
    (socket, every) => {
      socket.write('HTTP/1.1 200 OK\r\nX-Slow: ')
      every(50, () => 'a')
    },
    'http',
    /^timed out after 600 ms$/,
  ],
  [
    'an endless chunked body',
    (socket, every) => {
      socket.write('HTTP/1.1 500 Internal Server Error\r\nTransfer-Encoding: chunked\r\n\r\n')
      every(5, () => `400\r\n${'x'.repeat(0x400)}\r\n`)
    },
    'http',
    /^HTTP 500$/,
  ],
  [
    '1 MB of response headers',
    (socket) => {
      socket.write('HTTP/1.1 200 OK\r\n')
      for (let i = 0; i < 1024; i++) socket.write(`X-Big-${i}: ${'h'.repeat(1000)}\r\n`)
      socket.write('\r\n')
    },
    'http',
    /HEADERS_OVERFLOW/,
  ],
  [
    'garbage instead of HTTP',
    (socket) => {
      socket.write('\u0000\u00ffthis is not http at all\r\n\r\n')
    },
    'http',
    /does not match the HTTP\/1\.1 protocol/,
  ],
  ['an https URL pointing at a plain HTTP port', (socket) => void socket.write('HTTP/1.1 200 OK\r\n\r\n'), 'https', /SSL|TLS/],
]

describe.each<SenderKind>(['undici', 'ofetch'])('hostile receivers, %s sender', (senderKind) => {
  it.each(cases)('%s: ends within the timeout, recorded, no socket left open', async (_name, behaviour, scheme, error) => {
    const server = await hostile(behaviour)
    const before = process.getActiveResourcesInfo().filter((r) => /TCP|TLS/.test(r)).length
    const { bus, dispatcher, attempts } = await startDispatcher({ senderKind, timeoutMs: TIMEOUT_MS, retrySchedule: [0] })
    const hook = await dispatcher.createWebhook({ url: `${scheme}://127.0.0.1:${server.port}/hook`, events: ['*'], secret: 'a-secret-of-sixteen+' })
    const started = Date.now()
    bus.emit('agent.deleted', { agent_id: 'a' })
    const [report] = await waitFor(() => (attempts.length > 0 ? attempts : null), 5000)
    expect(Date.now() - started).toBeLessThan(TIMEOUT_MS + 1500)
    expect(report?.error ?? '').toMatch(error ?? /^$/)
    const { data } = await dispatcher.listDeliveries(hook.id)
    expect(data[0]?.status).toBe('failed')
    expect(data[0]?.attempts[0]?.error).toBe(report?.error)
    expect(JSON.stringify(data)).not.toContain('a-secret-of-sixteen+')
    await dispatcher.close()
    await waitFor(() => server.open() === 0, 3000, 'the hostile server to see its sockets closed')
    await waitFor(() => process.getActiveResourcesInfo().filter((r) => /TCP|TLS/.test(r)).length <= before, 3000, 'no socket left open')
  })
})
