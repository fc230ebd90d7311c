import type { Clock } from '../../src/index.js'

/**
 * A clock that moves only when told to. Timers fire, in order, when
 * `advance` or `set` passes their time. It counts timers so tests can check
 * the scheduler's one-timer promise.
 */
export class ManualClock implements Clock {
  private time: number
  private readonly timers = new Map<number, { at: number; callback: () => void }>()
  private nextId = 1
  /** Every setTimeout call so far. */
  created = 0

  constructor(start = Date.UTC(2026, 0, 1, 12, 0, 0)) {
    this.time = start
  }

  now(): number {
    return this.time
  }

  setTimeout(callback: () => void, delayMs: number): unknown {
    const id = this.nextId++
    this.created++
    this.timers.set(id, { at: this.time + Math.max(0, delayMs), callback })
    return id
  }

  clearTimeout(handle: unknown): void {
    this.timers.delete(handle as number)
  }

  /** Timers armed and not yet fired. */
  get pending(): number {
    return this.timers.size
  }

  /** When the earliest armed timer fires. */
  get nextAt(): number | null {
    let at: number | null = null
    for (const t of this.timers.values()) if (at === null || t.at < at) at = t.at
    return at
  }

  advance(ms: number): void {
    this.set(this.time + ms)
  }

  set(time: number): void {
    for (;;) {
      let next: [number, { at: number; callback: () => void }] | undefined
      for (const entry of this.timers) if (entry[1].at <= time && (!next || entry[1].at < next[1].at)) next = entry
      if (!next) break
      this.timers.delete(next[0])
      this.time = Math.max(this.time, next[1].at)
      next[1].callback()
    }
    this.time = time
  }
}
