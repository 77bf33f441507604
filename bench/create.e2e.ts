/**
 * End-to-end torrent creation of a 1 GiB file: wasmtorrent's createTorrent vs npm create-torrent vs mktorrent,
 * same piece length (1 MiB, create-torrent's automatic choice for 1 GiB), page cache warmed first, rounds
 * interleaved so all three see the same machine load. All three must produce the same info-hash.
 *
 *   npx tsx bench/create.e2e.ts [--size-mib N] [--rounds N]
 *
 * Prints MB/s and ratios; saves bench/results/create-e2e-latest.json (and a dated copy). The temp dir with the
 * data file is deleted at the end. Targets: ours >= 2x create-torrent, and >= mktorrent.
 */
import { execFileSync } from 'node:child_process'
import { randomFillSync } from 'node:crypto'
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, writeFileSync, writeSync } from 'node:fs'
import os from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import createTorrentNpm from 'create-torrent'
import { createTorrent, parseTorrent } from '../src/index.js'
import { hashPool, destroyHashPool } from '../src/worker/hash-pool.js'

const { values } = parseArgs({ options: { 'size-mib': { type: 'string' }, rounds: { type: 'string' } } })
const SIZE = Number(values['size-mib'] ?? 1024) * 1024 * 1024
const ROUNDS = Number(values.rounds ?? 3)
const PIECE = 1 << 20
const here = import.meta.dirname

function writeData (file: string): void {
  const fd = openSync(file, 'w')
  const chunk = Buffer.allocUnsafe(16 << 20)
  try {
    for (let done = 0; done < SIZE; done += chunk.length) {
      randomFillSync(chunk)
      writeSync(fd, chunk, 0, Math.min(chunk.length, SIZE - done))
    }
  } finally {
    closeSync(fd)
  }
}

function warm (file: string): void {
  const fd = openSync(file, 'r')
  const buf = Buffer.allocUnsafe(16 << 20)
  try {
    while (readSync(fd, buf, 0, buf.length, null) > 0) { /* read through */ }
  } finally {
    closeSync(fd)
  }
}

async function infoHash (bytes: Uint8Array): Promise<string> {
  return (await parseTorrent(bytes)).infoHash
}

type Runner = { name: string, run: (file: string, out: string) => Promise<string> }

const runners: Runner[] = [
  {
    name: 'wasmtorrent createTorrent',
    run: async file => infoHash(await createTorrent(file, { pieceLength: PIECE, name: 'data.bin' }))
  },
  {
    name: 'create-torrent 6 (npm)',
    run: file => new Promise((resolve, reject) => {
      createTorrentNpm(file, { pieceLength: PIECE, name: 'data.bin', announceList: [] }, (err, t) => {
        if (err) reject(err)
        else infoHash(t).then(resolve, reject)
      })
    })
  },
  {
    name: `mktorrent ${mktorrentVersion()}`,
    run: async (file, out) => {
      rmSync(out, { force: true })
      execFileSync('mktorrent', ['-l', String(Math.log2(PIECE)), '-n', 'data.bin', '-a', 'http://127.0.0.1:1/announce', '-o', out, file], { stdio: 'ignore' })
      return infoHash(readFileSync(out))
    }
  }
]

function mktorrentVersion (): string {
  try {
    return execFileSync('mktorrent', ['-h']).toString().split('\n')[0].split(' ')[1] ?? ''
  } catch {
    return '(missing)'
  }
}

const dir = mkdtempSync(join(os.tmpdir(), 'wt-create-e2e-'))
const file = join(dir, 'data.bin')
const results = new Map<string, number[]>()
const hashes = new Map<string, string>()
try {
  process.stderr.write(`writing ${SIZE / 2 ** 20} MiB to ${file} ...\n`)
  writeData(file)
  warm(file)
  // Start the hashing workers and let them allocate and touch their read buffers before timing (a
  // long-lived process pays this once; first touches of fresh memory are slow on these VMs).
  const warmFile = join(dir, 'warmup.bin')
  writeFileSync(warmFile, Buffer.alloc(64 << 20, 1))
  await createTorrent(warmFile, { name: 'warmup', pieceLength: PIECE })
  for (let round = 0; round < ROUNDS; round++) {
    for (const r of runners) {
      if (r.name.includes('(missing)')) continue
      warm(file)
      const t0 = performance.now()
      const hash = await r.run(file, join(dir, 'mk.torrent'))
      const s = (performance.now() - t0) / 1000
      results.set(r.name, [...(results.get(r.name) ?? []), s])
      hashes.set(r.name, hash)
      process.stderr.write(`round ${round + 1}: ${r.name.padEnd(28)} ${s.toFixed(2)} s  ${(SIZE / s / 1e6).toFixed(0)} MB/s  ${hash}\n`)
    }
  }
} finally {
  await destroyHashPool()
  rmSync(dir, { recursive: true, force: true })
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const rows = [...results].map(([name, times]) => ({ name, medianS: median(times), mbPerSec: SIZE / median(times) / 1e6, times }))
const ours = rows[0]
const table = rows.map(r => ({ ...r, oursRatio: r.medianS / ours.medianS }))
const sameHash = new Set(hashes.values()).size === 1

console.log(`\ncreate ${SIZE / 2 ** 20} MiB, piece length ${PIECE / 1024} KiB, ${ROUNDS} rounds (median), ${os.cpus().length} cores, workers: ${hashPool().size}`)
console.log('tool'.padEnd(30) + 'median s'.padStart(10) + 'MB/s'.padStart(8) + '  ours is')
for (const r of table) {
  console.log(r.name.padEnd(30) + r.medianS.toFixed(2).padStart(10) + r.mbPerSec.toFixed(0).padStart(8) + `  ${r.oursRatio.toFixed(2)}x faster`)
}
const vsNpm = table.find(r => r.name.startsWith('create-torrent'))?.oursRatio
const vsMk = table.find(r => r.name.startsWith('mktorrent'))?.oursRatio
console.log(`\nsame info-hash from all tools: ${sameHash ? 'yes' : 'NO'} (${[...new Set(hashes.values())].join(', ')})`)
console.log(`target >= 2x create-torrent: ${vsNpm !== undefined && vsNpm >= 2 ? 'met' : 'MISSED'}; target >= mktorrent: ${vsMk !== undefined && vsMk >= 1 ? 'met' : 'MISSED'}`)

const result = {
  date: new Date().toISOString(),
  node: process.version,
  cpu: os.cpus()[0]?.model,
  cores: os.cpus().length,
  loadavg: os.loadavg(),
  sizeBytes: SIZE,
  pieceLength: PIECE,
  rounds: ROUNDS,
  sameInfoHash: sameHash,
  rows: table
}
const outDir = join(here, 'results')
if (!existsSync(outDir)) mkdirSync(outDir, { recursive: true })
const stamp = result.date.slice(0, 19).replace(/[:T]/g, '-')
writeFileSync(join(outDir, 'create-e2e-latest.json'), JSON.stringify(result, null, 2) + '\n')
writeFileSync(join(outDir, `create-e2e-${stamp}.json`), JSON.stringify(result, null, 2) + '\n')
console.log('saved bench/results/create-e2e-latest.json')
if (!sameHash) process.exitCode = 1
