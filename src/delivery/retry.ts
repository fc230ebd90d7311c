// Retry policy as data: the schedule is a list of delays, and an attempt's
// outcome is classified in one place over named sets.

/**
 * The seed's schedule: the delay before each attempt, counted from the
 * previous failure. Immediate, 1 min, 5 min, 30 min, 2 h; five attempts.
 */
export const DEFAULT_RETRY_SCHEDULE: readonly number[] = Object.freeze([0, 60_000, 300_000, 1_800_000, 7_200_000])

/** Statuses after which an endpoint is treated as gone: the webhook is disabled at once. */
const GONE_STATUSES: ReadonlySet<number> = new Set([410])

const isSuccessStatus = (status: number) => status >= 200 && status <= 299

/** `success`: 2xx and nothing went wrong reading it; `gone`: disable now; `retryable`: anything else. */
export type AttemptClass = 'success' | 'gone' | 'retryable'

/**
 * Classifies one attempt. Redirects, other statuses, connection errors,
 * timeouts and a connection lost while reading a 2xx are all retryable.
 */
export function classifyAttempt(result: { status_code: number | null; error: string | null }): AttemptClass {
  const status = result.status_code
  if (status !== null && GONE_STATUSES.has(status)) return 'gone'
  if (status !== null && isSuccessStatus(status) && result.error === null) return 'success'
  return 'retryable'
}

/** What happens to a delivery after an attempt. */
export type NextStep =
  | { status: 'succeeded' }
  | { status: 'pending'; next_attempt_at: number }
  | { status: 'failed'; disableReason: string | null }

/**
 * Decides the next step after attempt number `cycleAttempt` (1-based, within
 * the current cycle) ended as `outcome` at `now`.
 */
export function planNextStep(input: {
  outcome: AttemptClass
  error: string | null
  cycleAttempt: number
  schedule: readonly number[]
  now: number
}): NextStep {
  const { outcome, cycleAttempt, schedule, now } = input
  if (outcome === 'success') return { status: 'succeeded' }
  if (outcome === 'gone') return { status: 'failed', disableReason: 'The endpoint answered 410 Gone' }
  const delay = schedule[cycleAttempt]
  if (delay !== undefined) return { status: 'pending', next_attempt_at: now + delay }
  return {
    status: 'failed',
    disableReason: `${schedule.length} consecutive attempts failed; the last one: ${input.error ?? 'unknown error'}`,
  }
}

/** Throws a clear error unless `schedule` is a non-empty list of non-negative, finite delays. */
export function checkRetrySchedule(schedule: readonly number[]): void {
  if (!Array.isArray(schedule) || schedule.length === 0) {
    throw new TypeError('retrySchedule must be a non-empty array of delays in milliseconds')
  }
  schedule.forEach((delay, i) => {
    if (typeof delay !== 'number' || !Number.isFinite(delay) || delay < 0) {
      throw new TypeError(`retrySchedule[${i}] must be a non-negative number of milliseconds, got ${String(delay)}`)
    }
  })
}
