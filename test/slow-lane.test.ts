import { describe, expect, it } from 'vitest'
import { SlowLane } from '../src/delivery/slow-lane.js'

// The claim sees a webhook as full when its count equals perWebhook (8 here).
describe('SlowLane', () => {
  it('leaves fast webhooks alone', () => {
    const lane = new SlowLane(100, 4, 8)
    const inFlight = new Map([['a', 3]])
    const attempt = lane.started('a', 0)
    expect(lane.view(inFlight, 50)).toBe(inFlight)
    lane.ended(attempt, 20)
    expect(lane.view(inFlight, 50)).toBe(inFlight)
  })

  it('an attempt running past the threshold makes its webhook slow: no second attempt', () => {
    const lane = new SlowLane(100, 4, 8)
    lane.started('a', 0)
    expect(lane.view(new Map([['a', 1]]), 101).get('a')).toBe(8)
  })

  it('a slow answer flags the webhook until a fast one; flagged and idle, it may take one', () => {
    const lane = new SlowLane(100, 4, 8)
    lane.ended(lane.started('a', 0), 500)
    expect(lane.view(new Map(), 600).get('a')).toBe(7)
    lane.ended(lane.started('a', 600), 10)
    expect(lane.view(new Map(), 700).has('a')).toBe(false)
  })

  it('slow webhooks together get at most the cap, rotating which idle ones may go', () => {
    const lane = new SlowLane(100, 2, 8)
    for (const id of ['a', 'b', 'c', 'd']) lane.ended(lane.started(id, 0), 500)
    const open = (view: ReadonlyMap<string, number>) => ['a', 'b', 'c', 'd'].filter((id) => view.get(id) === 7)
    const first = open(lane.view(new Map(), 600))
    const second = open(lane.view(new Map(), 600))
    expect(first).toHaveLength(2)
    expect(second).toHaveLength(2)
    expect(second).not.toEqual(first)
    // Two slow attempts already in flight fill the cap: nobody else may go.
    expect(open(lane.view(new Map([['a', 1], ['b', 1]]), 600))).toEqual([])
  })
})
