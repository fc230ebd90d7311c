import { describe, expectTypeOf, it } from 'vitest'
import { createEventBus, type EventEnvelope, type EventType, type PayloadOf } from '../src/index.js'

// These assertions are checked by `tsc --noEmit` (part of `npm test`): an
// unused @ts-expect-error is itself a compile error, so each line below fails
// the build if the API stops rejecting it.
describe('typed API', () => {
  const bus = createEventBus()

  it('derives payload types from the catalog', () => {
    expectTypeOf<PayloadOf<'agent.executed'>['duration_ms']>().toEqualTypeOf<number>()
    expectTypeOf<PayloadOf<'agent.executed'>['session_id']>().toEqualTypeOf<string | undefined>()
    expectTypeOf<PayloadOf<'workflow.failed'>['error']['message']>().toEqualTypeOf<string>()
    expectTypeOf<EventType>().toEqualTypeOf<
      | 'agent.created'
      | 'agent.updated'
      | 'agent.deleted'
      | 'agent.executed'
      | 'team.created'
      | 'team.executed'
      | 'workflow.created'
      | 'workflow.executed'
      | 'workflow.failed'
      | 'rag.ingested'
      | 'rag.queried'
      | 'hitl.requested'
      | 'hitl.completed'
    >()
  })

  it('types emit and its result', () => {
    const envelope = bus.emit('rag.queried', { query: 'q', result_count: 2 })
    expectTypeOf(envelope.event).toEqualTypeOf<'rag.queried'>()
    expectTypeOf(envelope.payload.result_count).toEqualTypeOf<number>()
    expectTypeOf(envelope.metadata.request_id).toEqualTypeOf<string>()
  })

  it('rejects wrong names and fields at compile time', () => {
    const mistakes = () => {
      // @ts-expect-error unknown event name
      bus.emit('agent.exploded', { agent_id: 'a' })
      // @ts-expect-error duration_ms must be a number
      bus.emit('agent.executed', { agent_id: 'a', input: 'i', output: 'o', duration_ms: '12' })
      // @ts-expect-error a required field is missing
      bus.emit('agent.executed', { agent_id: 'a', input: 'i', output: 'o' })
      // @ts-expect-error unknown event name on subscribe
      bus.on('team.exploded', () => undefined)
    }
    expectTypeOf(mistakes).toBeFunction()
  })

  it('types listeners by event, and "*" as the union', () => {
    bus.on('team.executed', (envelope) => {
      expectTypeOf(envelope).toEqualTypeOf<EventEnvelope<'team.executed'>>()
      expectTypeOf(envelope.payload.team_id).toEqualTypeOf<string>()
    })
    bus.on('*', (envelope) => {
      expectTypeOf(envelope).toEqualTypeOf<EventEnvelope>()
      if (envelope.event === 'hitl.requested') expectTypeOf(envelope.payload.prompt).toEqualTypeOf<string>()
    })
    const wrongListener = (envelope: EventEnvelope<'agent.created'>) => void envelope.payload.agent_id
    // @ts-expect-error a listener for another event's payload
    bus.on('team.executed', wrongListener)
    // @ts-expect-error a listener reading a field the payload does not have
    bus.on('rag.ingested', (envelope: { payload: { query: string } }) => void envelope.payload.query)
  })
})
