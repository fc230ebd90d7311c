import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { serve } from '@hono/node-server'
import express from 'express'
import Fastify, { type FastifyReply, type FastifyRequest } from 'fastify'
import { Hono } from 'hono'
import type { WebhookRoutes } from '../../src/http/index.js'
import { closerOf } from './receiver.js'

/** What a test gets back from the API. */
export interface ApiResponse {
  status: number
  headers: Headers
  /** The parsed JSON body, or null for an empty one. */
  body: unknown
  text: string
}

export interface RequestOptions {
  headers?: Record<string, string>
  /** A value is sent as JSON; a string is sent as it is. */
  body?: unknown
}

/** Somewhere the routes are mounted, reachable by path. */
export interface ApiHost {
  name: string
  request(method: string, path: string, options?: RequestOptions): Promise<ApiResponse>
  close(): Promise<void>
}

/** The route sets one host serves: each under its own basePath. */
export type HostKind = 'fetch' | 'node:http' | 'express' | 'fastify' | 'hono'

export const HOST_KINDS: readonly HostKind[] = ['fetch', 'node:http', 'express', 'fastify', 'hono']

function encodeBody(options: RequestOptions): { body?: string; headers: Record<string, string> } {
  const headers = { ...(options.headers ?? {}) }
  if (options.body === undefined) return { headers }
  if (typeof options.body === 'string') return { body: options.body, headers }
  headers['content-type'] ??= 'application/json'
  return { body: JSON.stringify(options.body), headers }
}

async function toApiResponse(response: Response): Promise<ApiResponse> {
  const text = await response.text()
  let body: unknown = null
  if (text !== '') {
    try {
      body = JSON.parse(text)
    } catch {
      body = text
    }
  }
  return { status: response.status, headers: response.headers, body, text }
}

function overHttp(name: string, origin: string, close: () => Promise<void>): ApiHost {
  return {
    name,
    async request(method, path, options = {}) {
      const { body, headers } = encodeBody(options)
      const response = await fetch(`${origin}${path}`, {
        method,
        headers,
        body,
        signal: AbortSignal.timeout(10_000),
      })
      return toApiResponse(response)
    },
    close,
  }
}

function listen(server: Server): Promise<string> {
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)),
  )
}

/** The route set whose basePath holds `path`, or undefined. */
function routesFor(all: readonly WebhookRoutes[], path: string): WebhookRoutes | undefined {
  const pathname = path.split('?')[0] ?? ''
  return all.find((r) => pathname === r.basePath || pathname.startsWith(`${r.basePath}/`))
}

/**
 * Mounts every route set on a real server of `kind` on 127.0.0.1 (or, for
 * `fetch`, calls the core handler directly). Express also serves `/health`
 * after the routes, to show that other paths reach the next handler; its
 * second route set sits behind `express.json()`, to show a body the host
 * parsed already is accepted.
 */
export async function startApiHost(kind: HostKind, all: readonly WebhookRoutes[]): Promise<ApiHost> {
  switch (kind) {
    case 'fetch':
      return {
        name: kind,
        async request(method, path, options = {}) {
          const { body, headers } = encodeBody(options)
          const routes = routesFor(all, path) ?? all[0]
          if (!routes) throw new Error('no routes')
          return toApiResponse(await routes.fetch(new Request(`http://api.test${path}`, { method, headers, body })))
        },
        close: async () => undefined,
      }
    case 'node:http': {
      const server = createServer((req, res) => {
        const chain = (i: number): void => {
          const routes = all[i]
          if (!routes) return void res.writeHead(404, { 'content-type': 'text/plain' }).end('outside the API')
          void routes.node(req, res, () => chain(i + 1))
        }
        chain(0)
      })
      const close = closerOf(server)
      return overHttp(kind, await listen(server), close)
    }
    case 'express': {
      const app = express()
      const [first, ...rest] = all
      if (first) app.use(first.node)
      app.use(express.json({ limit: '1mb' }))
      for (const routes of rest) app.use(routes.node)
      app.get('/health', (_req, res) => void res.json({ ok: true, handled_by: 'express' }))
      const server = createServer(app)
      const close = closerOf(server)
      return overHttp(kind, await listen(server), close)
    }
    case 'fastify': {
      const app = Fastify()
      await app.register(async (scope) => {
        // Hand the routes the raw bytes: they apply their own size, media
        // type and JSON rules and answer in their own error shape.
        scope.removeAllContentTypeParsers()
        scope.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body))
        for (const routes of all) {
          const handler = async (request: FastifyRequest, reply: FastifyReply) => {
            reply.hijack()
            await routes.node(Object.assign(request.raw, { body: request.body }), reply.raw)
          }
          scope.all(routes.basePath, handler)
          scope.all(`${routes.basePath}/*`, handler)
        }
      })
      await app.listen({ port: 0, host: '127.0.0.1' })
      const { port } = app.server.address() as AddressInfo
      return overHttp(kind, `http://127.0.0.1:${port}`, () => app.close())
    }
    case 'hono': {
      const app = new Hono()
      for (const routes of all) {
        app.all(routes.basePath, (c) => routes.fetch(c.req.raw))
        app.all(`${routes.basePath}/*`, (c) => routes.fetch(c.req.raw))
      }
      let ready: (origin: string) => void = () => undefined
      const origin = new Promise<string>((resolve) => (ready = resolve))
      const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info) =>
        ready(`http://127.0.0.1:${info.port}`),
      ) as Server
      const close = closerOf(server)
      return overHttp(kind, await origin, close)
    }
  }
}
