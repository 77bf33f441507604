// One download by the webtorrent npm package (3.0.21), in its own process: the JS baseline.
// argv: torrentPath outDir peerPort. Prints one JSON line: {ms, cpuMs, rssMB, bytes}.
import { readFileSync } from 'node:fs'
import WebTorrent from 'webtorrent'

const [torrentPath, out, peerPort] = process.argv.slice(2)
// Loopback only: no DHT, LSD, PEX, trackers, NAT traversal (INTEROP.md).
// TCP for every downloader in this bench (the seeder has uTP off).
const client = new WebTorrent({ dht: false, lsd: false, utPex: false, tracker: false, natUpnp: false, natPmp: false, webSeeds: false, utp: false })
const t0 = performance.now()
const cpu0 = process.cpuUsage()
// webtorrent's own defaults (its default strategy is sequential; 'rarest' runs its quadratic RarityMap search).
const t = client.add(readFileSync(torrentPath), { path: out, announce: [] })
t.on('error', err => { console.error(err); process.exit(1) })
t.on('infoHash', () => t.addPeer(`127.0.0.1:${peerPort}`))
t.once('done', () => {
  const ms = performance.now() - t0
  const c = process.cpuUsage(cpu0)
  const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))
  console.log(JSON.stringify({ ms, cpuMs: (c.user + c.system) / 1000, rssMB: Number(hwm[1]) / 1024, bytes: t.length }))
  client.destroy(() => process.exit(0))
})
