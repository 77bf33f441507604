/**
 * `npm run demo`: a local swarm on loopback. One client seeds a freshly generated file of pseudo-random data
 * (256 MiB; DEMO_MB=8 or `--mb 8` for another size), a second client in the same process downloads it from
 * 127.0.0.1 with the CLI's live progress display, then the demo checks the copy is byte-identical (SHA-1 of
 * both files), prints the throughput and cleans up its temp directory.
 *
 * Traffic stays on 127.0.0.1: both clients listen there; trackers, DHT, LSD and NAT port mapping are off.
 * Exit code: 0 when the copy is identical, 1 otherwise (or on any error), 130 on Ctrl-C.
 */
import { createHash, randomFillSync } from 'node:crypto'
import { closeSync, createReadStream, mkdirSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { WebTorrent, type Torrent } from '../src/index.js'
import { ProgressDisplay, RateSampler, eta, formatRate, formatSeconds } from '../src/cli/progress.js'
import { formatBytes } from '../src/cli/usage.js'
import { destroyHashPool } from '../src/worker/hash-pool.js'

const { values } = parseArgs({ options: { mb: { type: 'string' } }, strict: true })
const mb = Number(values.mb ?? process.env.DEMO_MB ?? 256)
if (!(mb > 0) || mb > 64 * 1024) {
  console.error('demo: the size must be a positive number of MiB (DEMO_MB=8 or --mb 8)')
  process.exit(1)
}
const size = Math.round(mb * 1024 * 1024)
const HOST = '127.0.0.1'
// The project's network rule for demos: traffic to 127.0.0.1 only (the client's user defaults turn on DHT,
// LSD and UPnP / NAT-PMP, which all reach beyond the machine).
const LOOPBACK_ONLY = { host: HOST, tracker: false, dht: false, lsd: false, natUpnp: false, natPmp: false }

const dir = mkdtempSync(join(tmpdir(), 'wasmtorrent-demo-'))
const clients: WebTorrent[] = []
let cleaned = false
async function cleanup (): Promise<void> {
  if (cleaned) return
  cleaned = true
  await Promise.allSettled(clients.map(c => c.destroy()))
  await destroyHashPool()
  rmSync(dir, { recursive: true, force: true })
}
process.once('SIGINT', () => {
  process.stderr.write('\ndemo: interrupted, cleaning up\n')
  cleanup().finally(() => process.exit(130))
  process.once('SIGINT', () => process.exit(130))
})

const log = (label: string, text: string): void => { process.stdout.write(`${label.padEnd(12)}${text}\n`) }

function waitFor (t: Torrent, event: 'ready' | 'done'): Promise<void> {
  return new Promise((resolve, reject) => {
    t.once(event, () => resolve())
    t.once('error', reject)
  })
}

/** Pseudo-random data straight to disk in 16 MiB chunks (node:crypto's CSPRNG: ~1 GB/s), hashed on the way. */
function generate (path: string, bytes: number): string {
  const fd = openSync(path, 'w')
  const hash = createHash('sha1')
  const chunk = Buffer.allocUnsafe(16 * 1024 * 1024)
  try {
    for (let off = 0; off < bytes;) {
      const n = Math.min(chunk.length, bytes - off)
      const part = chunk.subarray(0, n)
      randomFillSync(part)
      hash.update(part)
      for (let w = 0; w < n;) w += writeSync(fd, part, w, n - w)
      off += n
    }
  } finally {
    closeSync(fd)
  }
  return hash.digest('hex')
}

async function sha1File (path: string): Promise<string> {
  const hash = createHash('sha1')
  for await (const chunk of createReadStream(path, { highWaterMark: 4 * 1024 * 1024 })) hash.update(chunk as Buffer)
  return hash.digest('hex')
}

async function main (): Promise<number> {
  const srcDir = join(dir, 'seed')
  const outDir = join(dir, 'download')
  mkdirSync(srcDir)
  mkdirSync(outDir)
  const name = `demo-${mb}MiB.bin`
  const src = join(srcDir, name)

  let t0 = performance.now()
  const srcHash = generate(src, size)
  log('generated', `${formatBytes(size)} of pseudo-random data in ${formatSeconds(performance.now() - t0)} (${dir})`)

  // Two clients in one process, both on loopback only: no trackers, DHT, LSD multicast or NAT port mapping.
  const seeder = new WebTorrent(LOOPBACK_ONLY)
  const leecher = new WebTorrent(LOOPBACK_ONLY)
  clients.push(seeder, leecher)
  await Promise.all([seeder.whenListening(), leecher.whenListening()])

  t0 = performance.now()
  const seeded = seeder.seed(src, { createdBy: 'wasmtorrent demo' })
  await waitFor(seeded, 'ready')
  log('seeding', `${seeded.infoHash}  ${seeded.pieceCount} pieces of ${formatBytes(seeded.pieceLength)}, hashed in ` +
    `${formatSeconds(performance.now() - t0)}; listening on ${HOST}:${seeder.torrentPort}`)

  const magnet = `${seeded.magnetURI}&x.pe=${HOST}:${seeder.torrentPort}`
  log('downloading', magnet)
  const start = performance.now()
  const t = leecher.add(magnet, { path: outDir })
  const down = new RateSampler()
  const up = new RateSampler()
  const display = new ProgressDisplay({
    sample: () => {
      const downloadSpeed = down.rate(t.received)
      return {
        phase: t.ready ? 'downloading' : t.length > 0 ? 'checking' : 'metadata',
        done: t.downloaded,
        total: t.length,
        downloadSpeed,
        uploadSpeed: up.rate(t.uploaded),
        uploaded: t.uploaded,
        peers: t.numPeers,
        eta: t.length > 0 ? eta(t.length - t.downloaded, downloadSpeed) : Infinity
      }
    },
    // Piped: a line a second (a demo is short).
    plainIntervalMs: 1000
  })
  display.start()
  t.once('ready', () => display.milestone())
  await waitFor(t, 'done')
  const elapsed = performance.now() - start
  display.milestone()
  display.stop(true)
  const transport = [...new Set(t.wires.map(w => w.type.startsWith('utp') ? 'uTP' : 'TCP'))].join(' + ') || 'no connection'

  // Close the downloader (flushes and closes its files) before reading the copy back.
  const length = t.length
  await leecher.destroy()
  const outHash = await sha1File(join(outDir, name))
  const same = outHash === srcHash
  log('downloaded', `${formatBytes(length)} in ${formatSeconds(elapsed)} over ${transport} on loopback (from add() to done, metadata exchange included)`)
  log('throughput', `${formatRate(length / elapsed * 1000)} (${(length / elapsed / 1000).toFixed(1)} MB/s)`)
  log('verified', same
    ? `SHA-1 ${outHash}: the copy is byte-identical to the source`
    : `MISMATCH: source SHA-1 ${srcHash}, copy ${outHash}`)
  return same ? 0 : 1
}

let code = 1
try {
  code = await main()
} catch (err) {
  process.stderr.write(`demo: ${(err as Error).message}\n`)
} finally {
  await cleanup()
}
process.exit(code)
