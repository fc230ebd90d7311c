import { describe, expect, it } from 'vitest'
import { crashLoop, receiversDown, slowEndpoints } from '../reliability/scenarios.js'

// Small runs of the RELIABILITY.md scenarios (`npm run reliability` runs
// them at full size and reports the figures). What must hold is checked;
// no time is asserted.
describe('reliability scenarios, small', () => {
  it('50 hanging endpoints hold at most half the slots and the healthy one delivers everything', async () => {
    const result = await slowEndpoints({ hanging: 50, healthyEvents: 300, timeoutMs: 400 })
    expect(result.healthyDelivered).toBe(300)
    expect(result.maxHangingInFlight).toBeGreaterThan(0)
    expect(result.maxHangingInFlight).toBeLessThanOrEqual(32)
  }, 60_000)

  it('receivers down under load: one timer, and every delivery completes once they are back', async () => {
    const result = await receiversDown({ eventsPerSecond: 500, seconds: 1, webhooks: 2 })
    expect(result.emitted).toBe(500)
    expect(result.maxTimers).toBe(1)
    expect(result.completed).toBe(1)
  }, 120_000)

  it('crash loop: SIGKILL three times, nothing missing', async () => {
    const result = await crashLoop({ events: 300, kills: 3, failRate: 0.3 })
    expect(result.deliveries).toBe(900)
    expect(result.missing).toBe(0)
    expect(result.received + result.failedAndDisabled + result.parked).toBe(900)
  }, 180_000)
})
