import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  blockedRange,
  createEventBus,
  MemoryWebhookStore,
  WebhookDispatcher,
  WebhookValidationError,
  type ResolveHost,
} from '../src/index.js'
import { registerCleanup, startDispatcher, type SenderKind } from './support/harness.js'
import { startReceiver, waitFor } from './support/receiver.js'

describe('blockedRange', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.255.0.9', 'loopback'],
    ['10.0.0.1', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['169.254.169.254', 'link-local'],
    ['100.64.0.1', 'carrier-grade NAT'],
    ['100.127.255.255', 'carrier-grade NAT'],
    ['0.0.0.0', 'unspecified'],
    ['224.0.0.251', 'multicast'],
    ['240.0.0.1', 'reserved'],
    ['255.255.255.255', 'reserved'],
    ['192.0.2.10', 'documentation'],
    ['198.18.0.1', 'reserved'],
    ['::1', 'loopback'],
    ['[::1]', 'loopback'],
    ['::', 'unspecified'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['::ffff:10.1.2.3', 'private'],
    ['::ffff:a9fe:a9fe', 'link-local'],
    ['64:ff9b::a9fe:a9fe', 'link-local'],
    ['2002:c0a8:0101::1', 'private'],
    ['fc00::1', 'unique-local'],
    ['fd12:3456::1', 'unique-local'],
    ['fe80::1', 'link-local'],
    ['fe80::1%eth0', 'link-local'],
    ['ff02::1', 'multicast'],
    ['2001:db8::1', 'documentation'],
  ])('%s is %s', (address, range) => {
    expect(blockedRange(address)).toBe(range)
  })

  it.each(['8.8.8.8', '1.1.1.1', '172.32.0.1', '100.128.0.1', '93.184.216.34', '2606:4700:4700::1111', '::ffff:8.8.8.8', '64:ff9b::808:808'])(
    '%s is public',
    (address) => {
      expect(blockedRange(address)).toBeNull()
    },
  )
})

// Spellings of private hosts as a user might register them.
const privateUrls = (port: number) => ({
  '127.0.0.1': `http://127.0.0.1:${port}/hook`,
  localhost: `http://localhost:${port}/hook`,
  '10.0.0.1': `http://10.0.0.1:${port}/hook`,
  '169.254.169.254': 'http://169.254.169.254/latest/meta-data/',
  '[::1]': `http://[::1]:${port}/hook`,
  '[::ffff:127.0.0.1]': `http://[::ffff:127.0.0.1]:${port}/hook`,
  '2130706433 (decimal)': `http://2130706433:${port}/hook`,
  '0177.0.0.1 (octal)': `http://0177.0.0.1:${port}/hook`,
  '0x7f000001 (hex)': `http://0x7f000001:${port}/hook`,
  'localhost. (trailing dot)': `http://localhost.:${port}/hook`,
  'LOCALHOST (upper case)': `http://LOCALHOST:${port}/hook`,
  'sub.localhost': `http://api.localhost:${port}/hook`,
  '0 (unspecified, short form)': `http://0:${port}/hook`,
  '127.1 (short form)': `http://127.1:${port}/hook`,
  '0x7f.1 (mixed hex)': `http://0x7f.1:${port}/hook`,
  '[::] (unspecified)': `http://[::]:${port}/hook`,
  '[0:0:0:0:0:ffff:7f00:1] (mapped, long form)': `http://[0:0:0:0:0:ffff:7f00:1]:${port}/hook`,
  '[::ffff:169.254.169.254] (mapped metadata)': `http://[::ffff:169.254.169.254]/latest`,
  '[fd00::1] (unique-local)': `http://[fd00::1]:${port}/hook`,
  '[fe80::1] (link-local)': `http://[fe80::1]:${port}/hook`,
  '100.64.0.1 (CGNAT)': `http://100.64.0.1:${port}/hook`,
  '224.0.0.1 (multicast)': `http://224.0.0.1:${port}/hook`,
})

describe('registration refuses literal private hosts', () => {
  let dispatcher: WebhookDispatcher
  beforeAll(() => {
    dispatcher = new WebhookDispatcher({ bus: createEventBus(), store: new MemoryWebhookStore(), allowInsecureUrls: true })
  })
  afterAll(() => dispatcher.close())

  it.each(Object.entries(privateUrls(8080)))('%s', async (_, url) => {
    const error = await dispatcher.createWebhook({ url, events: ['*'] }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(WebhookValidationError)
    expect((error as WebhookValidationError).field).toBe('url')
    expect((error as Error).message).toMatch(/^url: host .* is an? (loopback|private|link-local|unspecified|unique-local|carrier-grade NAT|multicast) address/)
    expect((await dispatcher.listWebhooks()).data).toEqual([])
  })

  it('accepts them with allowPrivateNetworks or a matching allowedHosts entry', async () => {
    const open = new WebhookDispatcher({
      bus: createEventBus(),
      store: new MemoryWebhookStore(),
      allowInsecureUrls: true,
      allowPrivateNetworks: true,
    })
    const listed = new WebhookDispatcher({
      bus: createEventBus(),
      store: new MemoryWebhookStore(),
      allowInsecureUrls: true,
      allowedHosts: ['localhost', '10.0.0.1'],
    })
    registerCleanup(() => open.close())
    registerCleanup(() => listed.close())
    await expect(open.createWebhook({ url: 'http://127.0.0.1:1/x', events: ['*'] })).resolves.toMatchObject({ enabled: true })
    await expect(listed.createWebhook({ url: 'http://LOCALHOST:1/x', events: ['*'] })).resolves.toBeTruthy()
    await expect(listed.createWebhook({ url: 'http://10.0.0.1/x', events: ['*'] })).resolves.toBeTruthy()
    await expect(listed.createWebhook({ url: 'http://10.0.0.2/x', events: ['*'] })).rejects.toThrow(/private address/)
  })
})

describe.each<SenderKind>(['undici', 'ofetch'])('the %s sender with the default guard', (senderKind) => {
  it('blocks every private spelling at delivery time: no request reaches the receiver', async () => {
    const receiver = await startReceiver()
    registerCleanup(() => receiver.close())
    // A webhook that got into the store some other way (registered when its
    // name was public, another process with other options...).
    const store = new MemoryWebhookStore()
    const registrar = await startDispatcher({ store, allowPrivateNetworks: true, start: false })
    const urls = Object.values(privateUrls(receiver.port))
    for (const url of urls) await registrar.dispatcher.createWebhook({ url, events: ['*'] })

    const guarded = await startDispatcher({ store, senderKind, allowPrivateNetworks: false, timeoutMs: 2000 })
    guarded.bus.emit('agent.deleted', { agent_id: 'a' })
    await waitFor(() => guarded.attempts.length === urls.length, 10_000, 'every attempt')
    for (const attempt of guarded.attempts) {
      expect(attempt.status_code).toBeNull()
      expect(attempt.error).toMatch(/^address \S+ (of \S+ )?is blocked \((loopback|private|link-local|unspecified|unique-local|carrier-grade NAT|multicast)\)$/)
    }
    expect(receiver.requests).toEqual([])
  })
})

describe('DNS rebinding', () => {
  // A name that was public when it was registered and now resolves to loopback.
  const rebinding: ResolveHost = async (hostname) =>
    hostname === 'hooks.example.test' ? [{ address: '127.0.0.1', family: 4 }] : []

  it('the undici sender checks the address it connects to, not the name', async () => {
    const receiver = await startReceiver()
    registerCleanup(() => receiver.close())
    const { bus, dispatcher, attempts } = await startDispatcher({ allowPrivateNetworks: false, resolveHost: rebinding })
    await dispatcher.createWebhook({ url: `http://hooks.example.test:${receiver.port}/hook`, events: ['*'] })
    bus.emit('agent.deleted', { agent_id: 'a' })
    await waitFor(() => attempts.length === 1)
    expect(attempts[0]?.error).toBe('address 127.0.0.1 of hooks.example.test is blocked (loopback)')
    expect(receiver.requests).toEqual([])
  })

  it('allowedHosts opens the guard for one name; the connection then goes to the resolved address', async () => {
    const receiver = await startReceiver()
    registerCleanup(() => receiver.close())
    const { bus, dispatcher, attempts } = await startDispatcher({
      allowPrivateNetworks: false,
      allowedHosts: ['hooks.example.test'],
      resolveHost: rebinding,
    })
    await dispatcher.createWebhook({ url: `http://hooks.example.test:${receiver.port}/hook`, events: ['*'] })
    bus.emit('agent.deleted', { agent_id: 'a' })
    await waitFor(() => attempts.length === 1)
    expect(attempts[0]).toMatchObject({ status_code: 200, error: null })
    expect(receiver.requests).toHaveLength(1)
  })
})
