import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'

/** One request a receiver saw. */
export interface Received {
  method: string
  path: string
  headers: IncomingHttpHeaders
  /** The raw body bytes. */
  body: Buffer
  at: number
}

export type Handler = (req: IncomingMessage, res: ServerResponse, received: Received) => void | Promise<void>

/** A real HTTP server on 127.0.0.1 that records what it receives. */
export interface Receiver {
  url: string
  port: number
  requests: Received[]
  handler: Handler
  close(): Promise<void>
}

export const respond = (status: number, body = ''): Handler => (_req, res) => {
  res.writeHead(status, { 'content-type': 'text/plain' }).end(body)
}

/** A close for `server` that also destroys its open (keep-alive, hung) sockets, so it never waits on a client. */
export function closerOf(server: Server): () => Promise<void> {
  const sockets = new Set<Socket>()
  server.on('connection', (socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  return () =>
    new Promise<void>((resolve) => {
      for (const socket of sockets) socket.destroy()
      server.close(() => resolve())
    })
}

export async function startReceiver(handler: Handler = respond(200, 'ok')): Promise<Receiver> {
  const receiver: Receiver = {
    url: '',
    port: 0,
    requests: [],
    handler,
    close: () => close(),
  }
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => {
      const received: Received = {
        method: req.method ?? '',
        path: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks),
        at: Date.now(),
      }
      receiver.requests.push(received)
      void Promise.resolve(receiver.handler(req, res, received)).catch(() => res.destroy())
    })
  })
  const close = closerOf(server)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  receiver.port = (server.address() as AddressInfo).port
  receiver.url = `http://127.0.0.1:${receiver.port}`
  return receiver
}

/** A port on 127.0.0.1 that nothing listens on. */
export async function closedPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

/** Polls `check` every 5 ms until it is truthy, failing after `timeoutMs`. */
export async function waitFor<T>(
  check: () => T | Promise<T>,
  timeoutMs = 5000,
  what = 'condition',
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await check()
    if (value) return value as NonNullable<T>
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}
