// `npm run reliability [-- crash|load|slow ...]`: the long reliability
// scenarios of RELIABILITY.md at full size; prints their figures and writes
// reliability/results.json. The test suite runs the same scenarios small.
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { crashLoop, receiversDown, slowEndpoints } from './scenarios.js'

const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'))
const run = (name: string) => wanted.length === 0 || wanted.includes(name)
const results: Record<string, unknown> = { date: new Date().toISOString(), node: process.version }

if (run('crash')) {
  console.log('crash loop: 5,000 events to 3 webhooks (one failing 30 % at random), SIGKILL 10 times...')
  results.crash = await crashLoop({ events: 5000, kills: 10, failRate: 0.3 })
  console.log(results.crash)
}
if (run('load')) {
  console.log('receivers down: 5,000 events/s for 10 s to 3 webhooks whose receivers refuse connections...')
  results.load = await receiversDown({ eventsPerSecond: 5000, seconds: 10, webhooks: 3 })
  console.log(results.load)
}
if (run('slow')) {
  console.log('slow endpoints: 50 that hang and 1 healthy...')
  // The healthy receiver shares this process, so single runs are noisy: three, and their median.
  const runs = []
  for (let i = 0; i < 3; i++) runs.push(await slowEndpoints({ hanging: 50, healthyEvents: 5000, timeoutMs: 2000 }))
  const ratios = runs.map((r) => r.ratio).sort((a, b) => a - b)
  // For comparison: the same with the slow lane out of play (threshold above the timeout).
  const withoutLane = await slowEndpoints({ hanging: 50, healthyEvents: 5000, timeoutMs: 2000, slowAttemptMs: 60_000 })
  results.slow = { runs, medianRatio: ratios[1], minRatio: ratios[0], maxRatio: ratios[2], withoutLane }
  console.log(results.slow)
}
writeFileSync(join(import.meta.dirname, 'results.json'), `${JSON.stringify(results, null, 2)}\n`)
