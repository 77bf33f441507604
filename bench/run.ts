/**
 * Runs the micro-benchmarks (bench/*.bench.ts), prints one table, and saves the rows as JSON under
 * bench/results/ (latest.json and a dated copy). `npm run bench -- sha1 bencode` runs only matching files.
 */
import { readdirSync, writeFileSync, mkdirSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import os from 'node:os'
import { formatTable, runGroup, type BenchGroup, type ResultRow } from './lib.js'

const here = dirname(fileURLToPath(import.meta.url))
const filters = process.argv.slice(2)
const files = readdirSync(here)
  .filter(f => f.endsWith('.bench.ts'))
  .filter(f => filters.length === 0 || filters.some(p => f.includes(p)))
  .sort()

const rows: ResultRow[] = []
for (const f of files) {
  const mod = await import(join(here, f)) as { groups: BenchGroup[] | (() => Promise<BenchGroup[]>) }
  const groups = typeof mod.groups === 'function' ? await mod.groups() : mod.groups
  for (const g of groups) {
    process.stderr.write(`running ${g.name} ...\n`)
    rows.push(...await runGroup(g))
  }
}

console.log(formatTable(rows))
const missed = rows.filter(r => r.targetMet === false)
if (missed.length) console.log(`\n${missed.length} target(s) missed: ${missed.map(r => r.group).join('; ')}`)

const result = {
  date: new Date().toISOString(),
  node: process.version,
  cpu: os.cpus()[0]?.model,
  cores: os.cpus().length,
  rows
}
mkdirSync(join(here, 'results'), { recursive: true })
const stamp = result.date.slice(0, 19).replace(/[:T]/g, '-')
const name = filters.length ? `micro-${filters.join('-')}` : 'micro'
writeFileSync(join(here, 'results', `${name}-latest.json`), JSON.stringify(result, null, 2) + '\n')
writeFileSync(join(here, 'results', `${name}-${stamp}.json`), JSON.stringify(result, null, 2) + '\n')
console.log(`\nsaved bench/results/${name}-latest.json`)
