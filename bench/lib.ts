/**
 * Shared micro-benchmark harness (tinybench). A bench file exports `groups: BenchGroup[]`; the runner
 * (bench/run.ts) runs every case of a group back to back in the same process, so ratios compare engines
 * under the same conditions, and reports each case's ops/s, MB/s (when bytesPerOp is set) and its ratio to
 * the group's baseline. Targets are reported, never asserted.
 */
import { Bench } from 'tinybench'

export interface BenchCase {
  name: string
  fn: () => unknown | Promise<unknown>
  /** Set on ours: the case whose ratio to the baseline is the headline number. */
  ours?: boolean
  /** Set on the reference the target is measured against. */
  baseline?: boolean
}

export interface BenchGroup {
  /** e.g. 'bencode decode: 30 KB torrent' */
  name: string
  cases: BenchCase[]
  /** Bytes processed per op, for MB/s. */
  bytesPerOp?: number
  /** Target ratio ours/baseline (reported as met or missed). */
  target?: number
  /** Optional setup run once before the group (e.g. loading fixtures). */
  setup?: () => unknown | Promise<unknown>
  /** Run time per case in ms (default 1000). */
  time?: number
}

export interface ResultRow {
  group: string
  case: string
  opsPerSec: number
  meanMs: number
  rmePercent: number
  samples: number
  mbPerSec?: number
  /** ops/s of this case divided by ops/s of the group's baseline. */
  ratio?: number
  ours?: boolean
  baseline?: boolean
  target?: number
  targetMet?: boolean
}

export async function runGroup (g: BenchGroup): Promise<ResultRow[]> {
  if (g.setup) await g.setup()
  const bench = new Bench({ name: g.name, time: g.time ?? 1000, warmupTime: 250, warmupIterations: 5 })
  for (const c of g.cases) bench.add(c.name, c.fn)
  await bench.run()
  const rows: ResultRow[] = []
  for (const c of g.cases) {
    const task = bench.getTask(c.name)
    const r = task?.result
    if (!r || r.state !== 'completed') {
      const err = r && 'error' in r ? String((r as { error: unknown }).error) : 'did not complete'
      throw new Error(`bench ${g.name} / ${c.name}: ${err}`)
    }
    rows.push({
      group: g.name,
      case: c.name,
      opsPerSec: r.throughput.mean,
      meanMs: r.latency.mean,
      rmePercent: r.latency.rme,
      samples: r.latency.samplesCount ?? r.totalTime,
      mbPerSec: g.bytesPerOp ? (r.throughput.mean * g.bytesPerOp) / 1e6 : undefined,
      ours: c.ours,
      baseline: c.baseline
    })
  }
  const base = rows.find(r => r.baseline)
  for (const row of rows) {
    if (base) row.ratio = row.opsPerSec / base.opsPerSec
    if (row.ours && g.target !== undefined && row.ratio !== undefined) {
      row.target = g.target
      row.targetMet = row.ratio >= g.target
    }
  }
  return rows
}

function fmt (n: number | undefined, digits = 0): string {
  if (n === undefined || !Number.isFinite(n)) return ''
  return n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits })
}

export function formatTable (rows: ResultRow[]): string {
  const head = ['group', 'case', 'ops/s', 'MB/s', '±%', 'ratio', 'target']
  const body = rows.map(r => [
    r.group,
    r.case + (r.ours ? ' *' : '') + (r.baseline ? ' (baseline)' : ''),
    fmt(r.opsPerSec, r.opsPerSec < 100 ? 1 : 0),
    fmt(r.mbPerSec, 0),
    fmt(r.rmePercent, 1),
    r.ratio !== undefined ? fmt(r.ratio, 2) + 'x' : '',
    r.target !== undefined ? `>= ${r.target}x ${r.targetMet ? 'met' : 'MISSED'}` : ''
  ])
  const widths = head.map((h, i) => Math.max(h.length, ...body.map(b => b[i].length)))
  const line = (cells: string[]) => cells.map((c, i) => i >= 2 ? c.padStart(widths[i]) : c.padEnd(widths[i])).join('  ')
  return [line(head), widths.map(w => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n')
}
