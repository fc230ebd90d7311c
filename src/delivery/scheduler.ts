/**
 * Time as the dispatcher sees it. Inject one to test retry schedules without
 * waiting: the scheduler only ever holds one timer from it.
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number
  setTimeout(callback: () => void, delayMs: number): unknown
  clearTimeout(handle: unknown): void
}

/**
 * The real clock. Its timers are unref'd: a pending retry never keeps the
 * host process alive.
 *
 * @example
 * ```ts
 * new WebhookDispatcher({ bus, store, clock: systemClock })
 * ```
 */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout(callback, delayMs) {
    const timer = setTimeout(callback, delayMs)
    timer.unref?.()
    return timer
  },
  clearTimeout(handle) {
    clearTimeout(handle as ReturnType<typeof setTimeout>)
  },
}

// setTimeout fires at once for delays past 2^31 - 1 ms (about 24.8 days).
const MAX_TIMER_DELAY = 2_147_483_647

/**
 * One timer for the earliest due work, re-armed as work arrives: never a
 * timer per delivery, never a busy poll.
 */
export class WakeTimer {
  private handle: unknown = undefined
  private armedAt: number | null = null

  constructor(
    private readonly clock: Clock,
    private readonly onWake: () => void,
  ) {}

  /** Wakes at `at` (ms since the epoch), replacing any earlier arming; null disarms. */
  arm(at: number | null): void {
    if (at === this.armedAt && this.handle !== undefined) return
    this.clear()
    if (at === null) return
    this.armedAt = at
    const delay = Math.min(Math.max(0, at - this.clock.now()), MAX_TIMER_DELAY)
    this.handle = this.clock.setTimeout(() => {
      this.handle = undefined
      this.armedAt = null
      this.onWake()
    }, delay)
  }

  clear(): void {
    if (this.handle !== undefined) this.clock.clearTimeout(this.handle)
    this.handle = undefined
    this.armedAt = null
  }
}
