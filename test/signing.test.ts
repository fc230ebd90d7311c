import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { sign as octokitSign, verify as octokitVerify } from '@octokit/webhooks-methods'
import { Webhook } from 'standardwebhooks'
import { afterAll, describe, expect, it } from 'vitest'
import {
  AgnoEventsError,
  signPayload,
  signStandardWebhook,
  verifySignature,
  verifyWebhook,
  WebhookVerificationError,
  type WebhookVerificationReason,
} from '../src/index.js'

const SEED_VERIFY = join(import.meta.dirname, 'support', 'seed_verify.py')
const dir = mkdtempSync(join(tmpdir(), 'agno-sign-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

let fileCount = 0
function python(mode: 'verify' | 'sign', body: string | Buffer, ...args: string[]): string {
  const file = join(dir, `body-${fileCount++}`)
  writeFileSync(file, body)
  return execFileSync('python3', [SEED_VERIFY, mode, file, ...args], { encoding: 'utf8' }).trim()
}
const hex = (s: string) => Buffer.from(s, 'utf8').toString('hex')

const secret = 'whsec-test-secret-1234567890'
const bodies: Record<string, string | Buffer> = {
  ascii: '{"event":"agent.created","payload":{"agent_id":"a"}}',
  utf8: JSON.stringify({ event: 'agent.executed', payload: { output: 'olá, 世界 🚀 — ç' } }),
  '1 MiB': Buffer.alloc(1024 * 1024, 'x'),
}

describe('signPayload against the seed Python verify_signature', () => {
  it.each(Object.entries(bodies))('python accepts our signature for an %s body', (_, body) => {
    expect(python('verify', body, signPayload(body, secret), hex(secret))).toBe('True')
  })

  it('python accepts a UTF-8 secret', () => {
    const utfSecret = 'segredo-çãé-🔑-long-enough'
    expect(python('verify', bodies.utf8!, signPayload(bodies.utf8!, utfSecret), hex(utfSecret))).toBe('True')
  })

  it('python rejects a tampered body and a wrong secret', () => {
    const signature = signPayload(bodies.ascii!, secret)
    expect(python('verify', `${bodies.ascii} `, signature, hex(secret))).toBe('False')
    expect(python('verify', bodies.ascii!, signature, hex(`${secret}x`))).toBe('False')
  })

  it.each(Object.entries(bodies))('verifySignature accepts the signature python makes for an %s body', (_, body) => {
    const signature = python('sign', body, hex(secret))
    expect(signature).toMatch(/^sha256=[0-9a-f]{64}$/)
    expect(verifySignature(body, signature, secret)).toBe(true)
    expect(verifySignature(typeof body === 'string' ? Buffer.from(body) : body, signature, secret)).toBe(true)
  })
})

describe('signPayload against @octokit/webhooks-methods', () => {
  it('octokit verify accepts our signature, and we accept octokit sign', async () => {
    const body = bodies.utf8 as string
    expect(await octokitVerify(secret, body, signPayload(body, secret))).toBe(true)
    expect(verifySignature(body, await octokitSign(secret, body), secret)).toBe(true)
  })
})

describe('verifySignature on bad input', () => {
  const body = bodies.ascii as string
  const good = signPayload(body, secret)

  it.each([
    ['tampered body', `${body}x`, good, secret],
    ['wrong secret', body, good, 'another-secret-value'],
    ['non-hex digits', body, 'sha256=zz', secret],
    ['empty', body, '', secret],
    ['no prefix', body, good.slice('sha256='.length), secret],
    ['wrong length', body, good.slice(0, -2), secret],
    ['too long', body, `${good}00`, secret],
    ['sha1 prefix', body, `sha1=${good.slice(7, 47)}`, secret],
    ['sha1 prefix, sha256 digest', body, good.replace('sha256=', 'sha1='), secret],
    ['uppercase hex', body, `sha256=${good.slice(7).toUpperCase()}`, secret],
  ])('%s gives false without throwing', (_, payload, signature, key) => {
    expect(verifySignature(payload, signature, key)).toBe(false)
  })

  it('a non-string signature gives false', () => {
    expect(verifySignature(body, undefined as unknown as string, secret)).toBe(false)
    expect(verifySignature(body, 42 as unknown as string, secret)).toBe(false)
  })
})

describe('Standard Webhooks', () => {
  const id = 'msg_2f1c0e3a'
  const body = bodies.utf8 as string
  const nowMs = 1_702_234_567_000
  const timestamp = Math.floor(nowMs / 1000)
  const headers = {
    'webhook-id': id,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': signStandardWebhook({ id, timestamp, payload: body, secret }),
  }

  it('the standardwebhooks library verifies our headers', () => {
    // The library takes the key base64-encoded; ours is the secret's UTF-8 bytes.
    const wh = new Webhook(Buffer.from(secret).toString('base64'))
    const realNow = Date.now
    Date.now = () => nowMs
    try {
      expect(wh.verify(body, headers)).toEqual(JSON.parse(body))
    } finally {
      Date.now = realNow
    }
  })

  it('we verify what the standardwebhooks library signs', () => {
    const wh = new Webhook(Buffer.from(secret).toString('base64'))
    const signature = wh.sign(id, new Date(nowMs), body)
    const envelope = verifyWebhook({
      body,
      headers: { ...headers, 'webhook-signature': signature },
      secret,
      now: () => nowMs,
    })
    expect(envelope).toEqual(JSON.parse(body))
  })

  it('accepts any of several space-separated signatures (rotation)', () => {
    const rotated = `v1,${Buffer.alloc(32).toString('base64')} ${headers['webhook-signature']}`
    expect(() =>
      verifyWebhook({ body, headers: { ...headers, 'webhook-signature': rotated }, secret, now: () => nowMs }),
    ).not.toThrow()
  })
})

describe('verifyWebhook', () => {
  const body = bodies.ascii as string
  const nowMs = 1_702_234_567_000
  const ts = Math.floor(nowMs / 1000)
  const legacy = (timestamp: number, signature = signPayload(body, secret)) => ({
    'X-Webhook-Signature': signature,
    'X-Webhook-Timestamp': String(timestamp),
  })
  const standard = (timestamp: number) => ({
    'webhook-id': 'd1',
    'webhook-timestamp': String(timestamp),
    'webhook-signature': signStandardWebhook({ id: 'd1', timestamp, payload: body, secret }),
  })

  function reasonOf(fn: () => unknown): WebhookVerificationReason {
    try {
      fn()
    } catch (error) {
      if (error instanceof WebhookVerificationError) {
        expect(error).toBeInstanceOf(AgnoEventsError)
        return error.reason
      }
      throw error
    }
    throw new Error('expected a WebhookVerificationError')
  }

  it('returns the envelope for valid legacy headers (any case, Headers object too)', () => {
    expect(verifyWebhook({ body, headers: legacy(ts), secret, now: () => nowMs })).toEqual(JSON.parse(body))
    expect(verifyWebhook({ body, headers: new Headers(legacy(ts)), secret, now: () => nowMs })).toEqual(
      JSON.parse(body),
    )
    expect(verifyWebhook({ body: Buffer.from(body), headers: standard(ts), secret, now: () => nowMs })).toEqual(
      JSON.parse(body),
    )
  })

  it.each([
    ['legacy', legacy],
    ['standard', standard],
  ] as const)('%s: rejects timestamps outside the tolerance in both directions, saying why', (_, make) => {
    const now = () => nowMs
    expect(reasonOf(() => verifyWebhook({ body, headers: make(ts - 301), secret, now }))).toBe('timestamp_too_old')
    expect(reasonOf(() => verifyWebhook({ body, headers: make(ts + 301), secret, now }))).toBe('timestamp_too_new')
    expect(() => verifyWebhook({ body, headers: make(ts - 300), secret, now })).not.toThrow()
    expect(() => verifyWebhook({ body, headers: make(ts + 300), secret, now })).not.toThrow()
    expect(reasonOf(() => verifyWebhook({ body, headers: make(ts - 11), secret, now, toleranceSeconds: 10 }))).toBe(
      'timestamp_too_old',
    )
    const error = (() => {
      try {
        verifyWebhook({ body, headers: make(ts - 3600), secret, now })
      } catch (e) {
        return e as Error
      }
    })()
    expect(error?.message).toMatch(/3600 s in the past, beyond the 300 s tolerance/)
  })

  it('rejects a bad signature, a missing header, a bad timestamp and a non-JSON body', () => {
    const now = () => nowMs
    expect(reasonOf(() => verifyWebhook({ body: `${body} `, headers: legacy(ts), secret, now }))).toBe(
      'invalid_signature',
    )
    expect(reasonOf(() => verifyWebhook({ body: `${body} `, headers: standard(ts), secret, now }))).toBe(
      'invalid_signature',
    )
    expect(reasonOf(() => verifyWebhook({ body, headers: {}, secret, now }))).toBe('missing_header')
    expect(reasonOf(() => verifyWebhook({ body, headers: { 'webhook-id': 'x' }, secret, now }))).toBe('missing_header')
    expect(
      reasonOf(() => verifyWebhook({ body, headers: { ...legacy(ts), 'X-Webhook-Timestamp': 'soon' }, secret, now })),
    ).toBe('invalid_timestamp')
    const text = 'not json'
    expect(
      reasonOf(() =>
        verifyWebhook({ body: text, headers: legacy(ts, signPayload(text, secret)), secret, now }),
      ),
    ).toBe('invalid_body')
  })
})
