// Slow or hanging endpoints must not take every slot from the healthy ones.
// A webhook is slow while one of its attempts has been in flight longer than
// `slowMs`, and after an attempt that took longer, until one answers fast
// again. Slow webhooks get one attempt in flight each and, together, at most
// `cap` of the slots; the claim sees them as full otherwise, so their due work
// waits for one of their attempts to end and sets no timer.

interface Running {
  webhookId: string
  startedAt: number
}

export class SlowLane {
  private readonly running = new Map<string, Set<Running>>()
  private readonly flagged = new Set<string>()
  private turn = 0

  constructor(
    private readonly slowMs: number,
    private readonly cap: number,
    private readonly perWebhook: number,
  ) {}

  started(webhookId: string, now: number): Running {
    const attempt = { webhookId, startedAt: now }
    let set = this.running.get(webhookId)
    if (!set) this.running.set(webhookId, (set = new Set()))
    set.add(attempt)
    return attempt
  }

  /** An attempt ended: `durationMs` null when it ended without a verdict (released, failed inside). */
  ended(attempt: Running, durationMs: number | null): void {
    const set = this.running.get(attempt.webhookId)
    if (!set?.delete(attempt)) return
    if (set.size === 0) this.running.delete(attempt.webhookId)
    if (durationMs === null) return
    if (durationMs > this.slowMs) this.flagged.add(attempt.webhookId)
    else this.flagged.delete(attempt.webhookId)
  }

  /** The in-flight counts a claim should see: slow webhooks look full unless they may take one more. */
  view(inFlight: ReadonlyMap<string, number>, now: number): ReadonlyMap<string, number> {
    // Called on every claim: nothing is allocated unless something is slow.
    let slow: Set<string> | null = this.flagged.size > 0 ? new Set(this.flagged) : null
    for (const [webhookId, set] of this.running) {
      for (const attempt of set) {
        if (now - attempt.startedAt > this.slowMs) {
          ;(slow ??= new Set()).add(webhookId)
          break
        }
      }
    }
    if (slow === null) return inFlight
    let slowInFlight = 0
    for (const webhookId of slow) slowInFlight += inFlight.get(webhookId) ?? 0
    // Room for this many more slow attempts; which idle slow webhooks get it
    // rotates from claim to claim, so none of them waits forever.
    let room = Math.max(0, this.cap - slowInFlight)
    const order = [...slow]
    const offset = order.length > 0 ? this.turn++ % order.length : 0
    const view = new Map(inFlight)
    for (let i = 0; i < order.length; i++) {
      const webhookId = order[(i + offset) % order.length] as string
      const open = room > 0 && (inFlight.get(webhookId) ?? 0) === 0
      if (open) room--
      view.set(webhookId, open ? this.perWebhook - 1 : this.perWebhook)
    }
    return view
  }
}
