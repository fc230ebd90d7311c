// Prints bench/results.json as the Markdown table the README's Performance
// section shows: `npx tsx bench/markdown.ts [results.json]`.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Row, Spread } from './support.js'

const file = process.argv[2] ?? join(import.meta.dirname, 'results.json')
const results = JSON.parse(readFileSync(file, 'utf8')) as { date: string; node: string; cpus: number; mode: string; rows: Row[] }
const num = (n: number, unit: string) =>
  unit === 'ops/s' || unit === 'events/s' ? `${(n / 1000).toFixed(1)}k` : n >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(n >= 10 ? 1 : 2)
const cell = (s: Spread, f: (n: number) => string) => `${f(s.median)} (${f(s.min)}-${f(s.max)})`

console.log(`Run of ${results.date.slice(0, 10)}, Node ${results.node}, ${results.cpus} cores, ${results.mode} sizes; median (min-max) of 3.\n`)
console.log('| section | measure | value | baseline (same run) | ratio | target |')
console.log('|---|---|---|---|---|---|')
for (const r of results.rows) {
  const value = `${cell(r.value, (n) => num(n, r.unit))} ${r.unit}`
  const baseline = r.baseline ? `${r.baseline.name}: ${num(r.baseline.value.median, r.unit)}` : ''
  const ratio = r.ratio ? cell(r.ratio, (n) => `${n.toFixed(2)}x`) : ''
  const target = r.target ? `${r.target}: ${r.met ? 'met' : '**missed**'}` : ''
  console.log(`| ${r.section} | ${r.name} | ${value} | ${baseline} | ${ratio} | ${target} |`)
}
