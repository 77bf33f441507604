// A webtorrent (npm, 3.0.21) peer in its own process, driven over JSON lines, for the e2e interop tests
// (test/helpers/webtorrent-peer.ts starts it). Loopback only: webtorrent listens on all interfaces, so every
// TCP and uTP listen here is pinned to 127.0.0.1; DHT, LSD, ut_pex, UPnP, NAT-PMP and trackers are off.
//
// argv[2]: JSON client options merged over the loopback defaults (e.g. {"utp": false, "secure": 0}).
// stdin: {"id", "cmd", ...}; stdout: {"id", "ok", ...} replies and {"event", ...} events.
// Commands:
//   seed    {path, pieceLength?}            -> {infoHash, torrentFile (base64)}   (once 'seed' fired)
//   add     {torrent (base64), path}        -> {infoHash}                          (events: ready, done)
//   addPeer {infoHash, addr}                -> {added}
//   status  {infoHash}                      -> {progress, done, downloaded, uploaded, received, numPeers, wires}
//   quit
import net from 'node:net'
import { createRequire } from 'node:module'
import { createInterface } from 'node:readline'

const HOST = '127.0.0.1'

// Pin listening to loopback before webtorrent creates its servers.
const tcpListen = net.Server.prototype.listen
net.Server.prototype.listen = function (...args) {
  if (typeof args[0] === 'number' && typeof args[1] !== 'string') args.splice(1, 0, HOST)
  return tcpListen.apply(this, args)
}
const UTP = createRequire(import.meta.url)('utp-native')
const utpListen = UTP.prototype.listen
UTP.prototype.listen = function (port, ip, cb) {
  if (typeof ip === 'function') { cb = ip; ip = undefined }
  return utpListen.call(this, port, ip ?? HOST, cb)
}

const { default: WebTorrent } = await import('webtorrent')

const out = obj => process.stdout.write(JSON.stringify(obj) + '\n')
const opts = {
  dht: false,
  lsd: false,
  utPex: false,
  natUpnp: false,
  natPmp: false,
  tracker: false,
  ...JSON.parse(process.argv[2] || '{}')
}
const client = new WebTorrent(opts)
client.on('error', err => out({ event: 'error', message: String(err && err.message) }))
client.on('warning', err => out({ event: 'warning', message: String(err && err.message) }))

function watch (t) {
  t.on('ready', () => out({ event: 'ready', infoHash: t.infoHash }))
  t.on('done', () => out({ event: 'done', infoHash: t.infoHash }))
  t.on('warning', err => out({ event: 'warning', infoHash: t.infoHash, message: String(err && err.message) }))
  t.on('error', err => out({ event: 'error', infoHash: t.infoHash, message: String(err && err.message) }))
  t.on('wire', (wire, addr) => out({ event: 'wire', infoHash: t.infoHash, addr, type: wire.type, peerId: wire.peerId }))
}

function torrentOf (infoHash) {
  const t = client.torrents.find(x => x.infoHash === infoHash)
  if (!t) throw new Error('unknown torrent ' + infoHash)
  return t
}

const commands = {
  seed: c => new Promise((resolve, reject) => {
    const t = client.seed(c.path, { pieceLength: c.pieceLength, announceList: [], announce: [] }, t => {
      resolve({ infoHash: t.infoHash, torrentFile: Buffer.from(t.torrentFile).toString('base64') })
    })
    watch(t)
    t.once('error', reject)
  }),
  add: c => new Promise((resolve, reject) => {
    const t = client.add(Buffer.from(c.torrent, 'base64'), { path: c.path, announce: [] })
    watch(t)
    t.once('infoHash', () => resolve({ infoHash: t.infoHash }))
    t.once('error', reject)
  }),
  addPeer: async c => ({ added: torrentOf(c.infoHash).addPeer(c.addr) }),
  status: async c => {
    const t = torrentOf(c.infoHash)
    return {
      progress: t.progress,
      done: t.done,
      downloaded: t.downloaded,
      uploaded: t.uploaded,
      received: t.received,
      numPeers: t.numPeers,
      wires: t.wires.map(w => ({ type: w.type, peerId: w.peerId, remoteAddress: w.remoteAddress, remotePort: w.remotePort }))
    }
  }
}

client.on('listening', () => {
  out({ event: 'listening', port: client.torrentPort })
  const lines = createInterface({ input: process.stdin })
  lines.on('line', async line => {
    let c
    try { c = JSON.parse(line) } catch { return }
    if (c.cmd === 'quit') {
      client.destroy(() => { out({ id: c.id, ok: true }); process.exit(0) })
      return
    }
    try {
      const fn = commands[c.cmd]
      if (!fn) throw new Error('unknown command ' + c.cmd)
      out({ id: c.id, ok: true, ...(await fn(c)) })
    } catch (err) {
      out({ id: c.id, ok: false, error: String(err && err.message) })
    }
  })
  // The test process went away: do not linger.
  lines.on('close', () => client.destroy(() => process.exit(0)))
})
