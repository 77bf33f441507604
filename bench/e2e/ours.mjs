// One download by wasmtorrent (the built dist/, as users run it), in its own process.
// argv: torrentPath outDir peerPort. Prints one JSON line: {ms, cpuMs, rssMB, bytes}.
import { readFileSync, readFileSync as rf } from 'node:fs'
import WebTorrent from '../../dist/index.js'

const [torrentPath, out, peerPort] = process.argv.slice(2)
// Loopback only (bench rule): no DHT, LSD, NAT traversal or trackers; TCP like every downloader here.
const client = new WebTorrent({ host: '127.0.0.1', tracker: false, dht: false, lsd: false, natUpnp: false, natPmp: false, utp: false })
await client.whenListening()
const t0 = performance.now()
const cpu0 = process.cpuUsage()
const t = client.add(readFileSync(torrentPath), { path: out, peers: [`127.0.0.1:${peerPort}`] })
t.on('error', err => { console.error(err); process.exit(1) })
t.once('done', async () => {
  const ms = performance.now() - t0
  const c = process.cpuUsage(cpu0)
  const hwm = /VmHWM:\s+(\d+) kB/.exec(rf('/proc/self/status', 'utf8'))
  console.log(JSON.stringify({ ms, cpuMs: (c.user + c.system) / 1000, rssMB: Number(hwm[1]) / 1024, bytes: t.length }))
  await client.destroy()
  process.exit(0)
})
