// The event bus alone: typed emit and listeners, in-process.
// Run: npx tsx examples/bus.ts
import { createEventBus, EventValidationError } from 'agno-events'

const bus = createEventBus({ onError: (error) => console.error('listener failed:', error) })

bus.on('agent.executed', ({ payload, metadata }) => {
  console.log(`${payload.agent_id} ran in ${payload.duration_ms} ms for ${metadata.user_id ?? 'anonymous'}`)
})
bus.on('*', (envelope) => console.log('event:', envelope.event))

const envelope = bus.emit(
  'agent.executed',
  { agent_id: 'researcher', input: 'What are AI trends?', output: 'Based on my research...', duration_ms: 2345 },
  { user_id: 'user@example.com' },
)
console.log(JSON.stringify(envelope, null, 2))

try {
  bus.emit('agent.executed', { agent_id: 'researcher', input: 'q', output: 'a', duration_ms: -1 })
} catch (error) {
  if (error instanceof EventValidationError) console.log('refused:', error.issues)
}
