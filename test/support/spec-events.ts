// The event table of SPEC section 2, written out independently of
// src/events/catalog.ts so that the tests check the catalog against the
// contract instead of against itself.
export interface SpecEvent {
  valid: Record<string, unknown>
  required: string[]
  /** A known field and a value of the wrong type for it. */
  mistyped: [field: string, value: unknown]
}

export const specEvents: Record<string, SpecEvent> = {
  'agent.created': { valid: { agent_id: 'a1', name: 'A', model: 'm' }, required: ['agent_id'], mistyped: ['name', 3] },
  'agent.updated': { valid: { agent_id: 'a1', changes: { name: 'B' } }, required: ['agent_id'], mistyped: ['changes', 'x'] },
  'agent.deleted': { valid: { agent_id: 'a1' }, required: ['agent_id'], mistyped: ['agent_id', 42] },
  'agent.executed': {
    valid: { agent_id: 'a1', input: 'q', output: 'r', duration_ms: 12, session_id: 's', run_id: 'r1' },
    required: ['agent_id', 'input', 'output', 'duration_ms'],
    mistyped: ['duration_ms', 1.5],
  },
  'team.created': { valid: { team_id: 't1', name: 'T', members: ['a1', 'a2'] }, required: ['team_id'], mistyped: ['members', 'a1'] },
  'team.executed': {
    valid: { team_id: 't1', input: 'q', output: 'r', duration_ms: 5, run_id: 'r1' },
    required: ['team_id', 'input', 'output', 'duration_ms'],
    mistyped: ['duration_ms', -1],
  },
  'workflow.created': { valid: { workflow_id: 'w1', name: 'W' }, required: ['workflow_id'], mistyped: ['workflow_id', null] },
  'workflow.executed': {
    valid: { workflow_id: 'w1', input: 'i', output: 'o', duration_ms: 0, run_id: 'r1' },
    required: ['workflow_id', 'duration_ms'],
    mistyped: ['duration_ms', '10'],
  },
  'workflow.failed': {
    valid: { workflow_id: 'w1', error: { message: 'boom', type: 'E' }, duration_ms: 3, step: 's1', run_id: 'r1' },
    required: ['workflow_id', 'error'],
    mistyped: ['error', 'boom'],
  },
  'rag.ingested': {
    valid: { knowledge_base_id: 'kb', document_count: 3, chunk_count: 30, duration_ms: 9 },
    required: ['document_count'],
    mistyped: ['document_count', 2.5],
  },
  'rag.queried': {
    valid: { knowledge_base_id: 'kb', query: 'q', result_count: 4, duration_ms: 1 },
    required: ['query', 'result_count'],
    mistyped: ['result_count', -3],
  },
  'hitl.requested': {
    valid: { hitl_id: 'h1', agent_id: 'a1', workflow_id: 'w1', prompt: 'ok?', options: ['yes', 'no'] },
    required: ['hitl_id', 'prompt'],
    mistyped: ['options', [1, 2]],
  },
  'hitl.completed': {
    valid: { hitl_id: 'h1', response: 'yes', responder: 'u', duration_ms: 100 },
    required: ['hitl_id', 'response'],
    mistyped: ['responder', { name: 'u' }],
  },
}
