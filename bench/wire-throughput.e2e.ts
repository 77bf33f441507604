/**
 * `npx tsx bench/wire-throughput.e2e.ts [MiB] [rounds]`: piece-message throughput between two wires over
 * loopback TCP, ours vs bittorrent-protocol (webtorrent's wire), alternating runs in fresh processes.
 * Reports median MB/s and CPU-seconds per GiB (both ends in one process), and saves JSON to bench/results/.
 * Target (issue 4): ours >= 3x bittorrent-protocol. `raw-tcp` (no protocol: ready-made piece messages pumped
 * through the same kind of socket pair, see the child) is measured in the same rounds as the ceiling: no wire
 * can move piece messages faster than that here, so raw-tcp / bittorrent-protocol bounds the reachable ratio.
 */
import { execFileSync } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

const mib = Number(process.argv[2] ?? 1024)
const rounds = Number(process.argv[3] ?? 3)
const here = import.meta.dirname
const impls = ['wasmtorrent', 'bittorrent-protocol', 'raw-tcp']
const runs: Record<string, Array<{ ms: number, cpuMs: number, bytes: number }>> = { wasmtorrent: [], 'bittorrent-protocol': [], 'raw-tcp': [] }

for (let r = 0; r < rounds; r++) {
  for (const impl of impls) {
    const out = execFileSync(process.execPath, ['--import', 'tsx', join(here, 'wire-throughput-child.ts'), impl, String(mib * 1024 * 1024)],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] })
    const res = JSON.parse(out.trim().split('\n').pop()!)
    runs[impl].push(res)
    process.stderr.write(`${impl}: ${(res.bytes / res.ms / 1000).toFixed(0)} MB/s, ${(res.cpuMs / 1000 / (res.bytes / 2 ** 30)).toFixed(2)} CPU-s/GiB\n`)
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const rows = impls.map(impl => {
  const rs = runs[impl]
  return {
    impl,
    mbPerSec: median(rs.map(r => r.bytes / r.ms / 1000)),
    cpuSecPerGiB: median(rs.map(r => r.cpuMs / 1000 / (r.bytes / 2 ** 30))),
    runs: rs
  }
})
const ratio = rows[0].mbPerSec / rows[1].mbPerSec
console.log(`\npiece throughput over loopback TCP (${mib} MiB per run, ${rounds} rounds, median)`)
console.log('impl                  MB/s   CPU-s/GiB')
for (const r of rows) console.log(`${r.impl.padEnd(20)} ${r.mbPerSec.toFixed(0).padStart(5)}   ${r.cpuSecPerGiB.toFixed(2).padStart(9)}`)
const ceiling = rows[2].mbPerSec / rows[1].mbPerSec
console.log(`ratio ours/bittorrent-protocol: ${ratio.toFixed(2)}x (target >= 3x: ${ratio >= 3 ? 'met' : 'MISSED'})`)
console.log(`ceiling raw-tcp/bittorrent-protocol: ${ceiling.toFixed(2)}x (no protocol at all; ours reaches ${(100 * rows[0].mbPerSec / rows[2].mbPerSec).toFixed(0)}% of raw-tcp)`)
mkdirSync(join(here, 'results'), { recursive: true })
writeFileSync(join(here, 'results', 'wire-throughput-latest.json'), JSON.stringify({ date: new Date().toISOString(), node: process.version, mib, rounds, rows, ratio, ceiling }, null, 2) + '\n')
