import { describe, expect, it, vi } from 'vitest'
import { createEventBus, type EventEnvelope } from '../src/index.js'

const executed = { agent_id: 'a', input: 'i', output: 'o', duration_ms: 1 }

describe('EventBus listeners', () => {
  it('calls typed listeners, then "*" listeners, for each emit', () => {
    const bus = createEventBus()
    const calls: string[] = []
    bus.on('*', (e) => void calls.push(`*:${e.event}`))
    bus.on('agent.executed', (e) => void calls.push(`typed:${e.event}`))
    bus.on('agent.created', () => void calls.push('other'))
    bus.emit('agent.executed', executed)
    expect(calls).toEqual(['typed:agent.executed', '*:agent.executed'])
  })

  it('on returns an unsubscribe function; off removes; once fires once', () => {
    const bus = createEventBus()
    const a = vi.fn()
    const b = vi.fn()
    const c = vi.fn()
    const unsubscribe = bus.on('agent.executed', a)
    bus.on('agent.executed', b)
    bus.once('agent.executed', c)
    expect(bus.listenerCount('agent.executed')).toBe(3)
    bus.emit('agent.executed', executed)
    unsubscribe()
    bus.off('agent.executed', b)
    bus.emit('agent.executed', executed)
    expect(a).toHaveBeenCalledTimes(1)
    expect(b).toHaveBeenCalledTimes(1)
    expect(c).toHaveBeenCalledTimes(1)
    expect(bus.listenerCount('agent.executed')).toBe(0)
  })

  it('off removes only the given listener when the same function listens twice', () => {
    const bus = createEventBus()
    const shared = vi.fn()
    const kept = vi.fn()
    bus.on('agent.executed', shared)
    bus.on('*', shared)
    bus.on('agent.executed', kept)
    bus.off('agent.executed', shared)
    bus.emit('agent.executed', executed)
    expect(shared).toHaveBeenCalledTimes(1) // via '*'
    expect(kept).toHaveBeenCalledTimes(1)
  })

  it('isolates a throwing and a rejecting listener and reports both to onError', async () => {
    const errors: Array<{ error: unknown; event: string }> = []
    const bus = createEventBus({ onError: (error, envelope) => void errors.push({ error, event: envelope.event }) })
    const before = vi.fn()
    const after = vi.fn()
    const thrown = new Error('sync boom')
    const rejected = new Error('async boom')
    bus.on('agent.executed', before)
    bus.on('agent.executed', () => {
      throw thrown
    })
    bus.on('agent.executed', async () => {
      throw rejected
    })
    bus.on('agent.executed', after)
    const everything = vi.fn()
    bus.on('*', everything)

    const envelope = bus.emit('agent.executed', executed)
    expect(envelope.event).toBe('agent.executed')
    expect(before).toHaveBeenCalledOnce()
    expect(after).toHaveBeenCalledOnce()
    expect(everything).toHaveBeenCalledOnce()
    await new Promise((resolve) => setImmediate(resolve))
    expect(errors).toEqual([
      { error: thrown, event: 'agent.executed' },
      { error: rejected, event: 'agent.executed' },
    ])
  })

  it('survives an onError that throws', () => {
    const bus = createEventBus({
      onError: () => {
        throw new Error('bad handler')
      },
    })
    const after = vi.fn()
    bus.on('agent.executed', () => {
      throw new Error('x')
    })
    bus.on('agent.executed', after)
    expect(() => bus.emit('agent.executed', executed)).not.toThrow()
    expect(after).toHaveBeenCalledOnce()
  })

  it('logs listener failures with console.error by default', () => {
    const spy = vi.spyOn(console, 'error').mockImplementation(() => undefined)
    try {
      const bus = createEventBus()
      bus.on('agent.deleted', () => {
        throw new Error('default handler')
      })
      bus.emit('agent.deleted', { agent_id: 'a' })
      expect(spy).toHaveBeenCalledOnce()
      expect(String(spy.mock.calls[0]?.[1])).toContain('default handler')
    } finally {
      spy.mockRestore()
    }
  })

  it('emit is synchronous: listeners have run when it returns', () => {
    const bus = createEventBus()
    let seen: EventEnvelope | undefined
    bus.on('*', (e) => {
      seen = e
    })
    const envelope = bus.emit('agent.deleted', { agent_id: 'a' })
    expect(seen).toBe(envelope)
  })
})
