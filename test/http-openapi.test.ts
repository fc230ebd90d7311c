import { describe, expect, it } from 'vitest'
import express from 'express'
import { createEventBus, EVENT_TYPES, MemoryWebhookStore, WebhookDispatcher } from '../src/index.js'
import { createOpenApiDocument, createWebhookRoutes } from '../src/http/index.js'
import { registerCleanup } from './support/harness.js'

type Json = Record<string, any> // test-only: reading a JSON document

describe('createOpenApiDocument', () => {
  const doc = createOpenApiDocument({ serverUrl: 'https://api.example.com' }) as Json

  it('is an OpenAPI 3.1 document listing every route of SPEC §8', () => {
    expect(doc.openapi).toBe('3.1.0')
    expect(doc.servers).toEqual([{ url: 'https://api.example.com' }])
    const operations = Object.entries(doc.paths as Json).flatMap(([path, item]) =>
      Object.keys(item)
        .filter((k) => k !== 'parameters')
        .map((method) => `${method.toUpperCase()} ${path}`),
    )
    expect(operations.sort()).toEqual(
      [
        'GET /webhooks',
        'POST /webhooks',
        'GET /webhooks/event-types',
        'GET /webhooks/{id}',
        'PATCH /webhooks/{id}',
        'DELETE /webhooks/{id}',
        'POST /webhooks/{id}/test',
        'GET /webhooks/{id}/deliveries',
        'GET /webhooks/{id}/deliveries/{deliveryId}',
        'POST /webhooks/{id}/deliveries/{deliveryId}/redeliver',
      ].sort(),
    )
    expect(doc.components.securitySchemes.bearer).toEqual({ type: 'http', scheme: 'bearer' })
    // Every $ref points at something that exists.
    const refs = JSON.stringify(doc).match(/"\$ref":"#\/components\/[^"]+"/g) ?? []
    expect(refs.length).toBeGreaterThan(10)
    for (const ref of refs) {
      const [, kind, name] = /#\/components\/(\w+)\/(\w+)/.exec(ref) ?? []
      expect(doc.components[kind as string]?.[name as string], ref).toBeDefined()
    }
  })

  it('is generated from the same zod schemas the routes validate with', () => {
    const create = doc.components.schemas.WebhookCreate
    expect(create.additionalProperties).toBe(false)
    expect(create.required).toEqual(['url', 'events'])
    expect(create.properties.url).toMatchObject({ type: 'string', maxLength: 2048, format: 'uri' })
    expect(create.properties.events.items.enum).toEqual([...EVENT_TYPES, '*'])
    expect(create.properties.secret).toMatchObject({ minLength: 16, maxLength: 256 })
    expect(create.properties).not.toHaveProperty('owner_id')
    expect(doc.components.schemas.WebhookUpdate.required).toBeUndefined()
    expect(Object.keys(doc.components.schemas.Webhook.properties)).toEqual([
      'id', 'url', 'events', 'enabled', 'created_at', 'updated_at', 'headers', 'description', 'disabled_reason',
    ])
    expect(doc.components.schemas.Webhook.properties).not.toHaveProperty('secret')
    const limit = doc.paths['/webhooks'].get.parameters.find((p: Json) => p.name === 'limit')
    expect(limit).toMatchObject({ in: 'query', schema: { type: 'string', pattern: '^[0-9]{1,3}$' } })
  })

  it('follows the base path', () => {
    const mounted = createOpenApiDocument({ basePath: '/api/hooks/' }) as Json
    expect(Object.keys(mounted.paths)).toContain('/api/hooks/{id}/test')
    expect(Object.keys(mounted.paths)).toContain('/api/hooks')
  })

  it('can be served by the host next to the routes', async () => {
    const dispatcher = new WebhookDispatcher({ bus: createEventBus(), store: new MemoryWebhookStore() })
    registerCleanup(() => dispatcher.close())
    const routes = createWebhookRoutes({ dispatcher, authenticate: () => null })
    const app = express()
    const document = createOpenApiDocument()
    app.get('/openapi.json', (_req, res) => void res.json(document))
    app.use(routes.node)
    const server = app.listen(0, '127.0.0.1')
    registerCleanup(() => new Promise((resolve) => server.close(resolve)))
    await new Promise((resolve) => server.once('listening', resolve))
    const { port } = server.address() as { port: number }
    const served = (await (await fetch(`http://127.0.0.1:${port}/openapi.json`)).json()) as Json
    expect(served.paths['/webhooks/{id}'].get.operationId).toBe('getWebhook')
    expect((await fetch(`http://127.0.0.1:${port}/webhooks`)).status).toBe(401)
  })
})
