import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { VERSION } from '../src/index.js'

// These run against the built package (`npm test` builds first), through the
// package's own exports map, as a user would import it.
const root = join(import.meta.dirname, '..')
const require = createRequire(join(root, 'package.json'))
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  version: string
  exports: Record<string, unknown>
}

const expectedExports: Record<string, string[]> = {
  'agno-events': [
    'AgnoEventsError',
    'ConflictError',
    'DEFAULT_RETRY_SCHEDULE',
    'DELIVERY_STATUSES',
    'EVENT_TYPES',
    'EventValidationError',
    'MAX_RESPONSE_BYTES',
    'MemoryWebhookStore',
    'NotFoundError',
    'StoreBusyError',
    'VERSION',
    'WebhookDispatcher',
    'WebhookValidationError',
    'WebhookVerificationError',
    'blockedRange',
    'createEventBus',
    'createFetchSender',
    'createUndiciSender',
    'envelopeSchema',
    'eventCatalog',
    'eventJsonSchema',
    'isEventType',
    'metadataSchema',
    'samplePayloads',
    'signPayload',
    'signStandardWebhook',
    'systemClock',
    'verifySignature',
    'verifyWebhook',
  ],
  'agno-events/sqlite': ['SqliteWebhookStore', 'StoreBusyError'],
  'agno-events/http': ['createOpenApiDocument', 'createWebhookRoutes'],
  'agno-events/postgres': ['PostgresWebhookStore'],
  'agno-events/verify': [
    'AgnoEventsError',
    'WebhookVerificationError',
    'signPayload',
    'signStandardWebhook',
    'verifySignature',
    'verifyWebhook',
  ],
}

describe('package surface', () => {
  it('exports map lists exactly the released entries', () => {
    expect(Object.keys(pkg.exports).sort()).toEqual(['.', './http', './package.json', './postgres', './sqlite', './verify'])
  })

  it.each(Object.entries(expectedExports))('%s exports exactly its public names (ESM and CJS)', async (entry, names) => {
    const esm = (await import(entry)) as Record<string, unknown>
    expect(Object.keys(esm).sort()).toEqual([...names].sort())
    const cjs = require(entry) as Record<string, unknown>
    expect(Object.keys(cjs).sort()).toEqual([...names].sort())
  })

  it('VERSION matches package.json', () => {
    expect(VERSION).toBe(pkg.version)
  })

  it('the built verify entry imports nothing but node:crypto', () => {
    for (const file of ['dist/verify.js', 'dist/verify.cjs']) {
      const code = readFileSync(join(root, file), 'utf8')
      const specifiers = [
        ...code.matchAll(/\bfrom\s+["']([^"']+)["']/g),
        ...code.matchAll(/\brequire\(["']([^"']+)["']\)/g),
        ...code.matchAll(/\bimport\(["']([^"']+)["']\)/g),
      ].map((m) => m[1])
      expect(specifiers.length).toBeGreaterThan(0)
      expect(new Set(specifiers)).toEqual(new Set(['node:crypto']))
      expect(code).not.toMatch(/zod|eventemitter3|undici|ofetch|better-sqlite3/)
    }
  })

  it('only the sqlite entry loads better-sqlite3', () => {
    // Follow the main entry's imports through its chunks, in both formats.
    for (const start of ['dist/index.js', 'dist/index.cjs']) {
      const seen = new Set<string>()
      const visit = (file: string) => {
        if (seen.has(file)) return
        seen.add(file)
        const code = readFileSync(join(root, 'dist', file), 'utf8')
        expect(code, file).not.toMatch(/better-sqlite3|from "pg"|require\("pg"\)/)
        for (const m of code.matchAll(/(?:from\s+|require\()["']\.\/([^"']+)["']/g)) visit(m[1] ?? '')
      }
      visit(start.replace('dist/', ''))
      expect(seen.size).toBeGreaterThan(1) // the entry and at least one shared chunk
    }
    expect(readFileSync(join(root, 'dist/sqlite.js'), 'utf8')).toMatch(/from "better-sqlite3"/)
    expect(readFileSync(join(root, 'dist/postgres.js'), 'utf8')).toMatch(/from "pg"/)
    expect(readFileSync(join(root, 'dist/http.js'), 'utf8')).not.toMatch(/better-sqlite3|from "pg"/)
    const peer = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
      peerDependencies: Record<string, string>
      peerDependenciesMeta: Record<string, { optional: boolean }>
    }
    expect(peer.peerDependencies['better-sqlite3']).toBe('^12.0.0')
    expect(peer.peerDependenciesMeta['better-sqlite3']?.optional).toBe(true)
    expect(peer.peerDependencies.pg).toBe('^8.0.0')
    expect(peer.peerDependenciesMeta.pg?.optional).toBe(true)
  })

  it('errors from the separately bundled verify entry are instances of the main entry classes', async () => {
    const main = await import('agno-events')
    const verify = await import('agno-events/verify')
    const cjsMain = require('agno-events') as typeof import('agno-events')
    expect(verify.WebhookVerificationError).not.toBe(main.WebhookVerificationError)
    let caught: unknown
    try {
      verify.verifyWebhook({ body: '{}', headers: {}, secret: 'x'.repeat(16) })
    } catch (error) {
      caught = error
    }
    expect(caught).toBeInstanceOf(main.WebhookVerificationError)
    expect(caught).toBeInstanceOf(main.AgnoEventsError)
    expect(caught).toBeInstanceOf(cjsMain.WebhookVerificationError)
    expect(caught).not.toBeInstanceOf(main.NotFoundError)
    expect(caught).not.toBeInstanceOf(main.EventValidationError)
    expect(new main.NotFoundError('webhook', 'x')).not.toBeInstanceOf(verify.WebhookVerificationError)
  })
})
