/**
 * Runs one full WebTorrent client (src/client) inside a network namespace, for the client-level netns tests
 * (test/lsd-client-netns.test.ts, test/nat-client-netns.test.ts). JSON lines:
 *   argv[2]: ClientOptions as JSON (the test decides lsd / natUpnp / natPmp / dht / tracker)
 *   out: { event: 'listening', port } | { event: 'lsdListening' }
 *        | { event: 'map' | 'unmap', ...NatMapping } (the client's own NatTraversal)
 *        | { event: 'peer', infoHash, address, source } | { event: 'wire', infoHash, address }
 *        | { event: 'metadata' | 'ready' | 'done', infoHash } | { event: 'warning', message, code }
 *        | { event: 'result', id, ... }
 *   in:  { cmd: 'seed', id, path, pieceLength? } -> { infoHash, magnetURI, length }
 *        | { cmd: 'add', id, torrentId, path } -> { infoHash }
 *        | { cmd: 'stats', id, infoHash } -> { discovery, wires, numPeers, received, uploaded, downloaded, done }
 *        | { cmd: 'mappings', id } | { cmd: 'destroy', id } (client.destroy(), then exits 0)
 */
import { createInterface } from 'node:readline'
import { WebTorrent, type ClientOptions, type Torrent } from '../../src/index.js'

const out = (m: Record<string, unknown>): void => { process.stdout.write(JSON.stringify(m) + '\n') }
const opts = JSON.parse(process.argv[2] ?? '{}') as ClientOptions

const client = new WebTorrent(opts)
client.on('warning', (err: Error) => out({ event: 'warning', code: (err as { code?: string }).code, message: err.message }))
client.on('error', (err: Error) => out({ event: 'error', message: err.message }))
const lsd = client.services.lsd
if (lsd !== null) {
  if (lsd.listening) out({ event: 'lsdListening' })
  else lsd.once('listening', () => out({ event: 'lsdListening' }))
}
client.services.nat?.on('map', m => out({ event: 'map', ...m }))
client.services.nat?.on('unmap', m => out({ event: 'unmap', ...m }))

function watch (t: Torrent): void {
  t.on('peer', (address: string, source: string) => out({ event: 'peer', infoHash: t.infoHash, address, source }))
  t.on('wire', (_w: unknown, address: string) => out({ event: 'wire', infoHash: t.infoHash, address }))
  for (const e of ['metadata', 'ready', 'done'] as const) t.once(e, () => out({ event: e, infoHash: t.infoHash }))
  t.on('warning', (err: Error) => out({ event: 'warning', infoHash: t.infoHash, code: (err as { code?: string }).code, message: err.message }))
  t.on('error', (err: Error) => out({ event: 'error', infoHash: t.infoHash, message: err.message }))
}

await client.whenListening()
out({ event: 'listening', port: client.torrentPort })

createInterface({ input: process.stdin }).on('line', line => {
  let cmd: Record<string, any> // eslint-disable-line @typescript-eslint/no-explicit-any
  try { cmd = JSON.parse(line) } catch { return }
  const reply = (m: Record<string, unknown> = {}): void => out({ event: 'result', id: cmd.id, ...m })
  const fail = (err: unknown): void => reply({ error: (err as Error).message })
  try {
    switch (cmd.cmd) {
      case 'seed': {
        const t = client.seed(cmd.path, { pieceLength: cmd.pieceLength })
        watch(t)
        t.once('ready', () => reply({ infoHash: t.infoHash, magnetURI: t.magnetURI, length: t.length }))
        t.once('error', fail)
        return
      }
      case 'add': {
        const t = client.add(cmd.torrentId, { path: cmd.path })
        watch(t)
        t.once('infoHash', () => reply({ infoHash: t.infoHash }))
        t.once('error', fail)
        return
      }
      case 'stats': {
        const t = client.torrents.find(x => x.infoHash === cmd.infoHash)
        if (t === undefined) return reply({ error: `no torrent ${cmd.infoHash}` })
        return reply({
          discovery: t.discovery?.stats() ?? null,
          wires: t.wires.map(w => `${w.remoteAddress}:${w.remotePort}`),
          numPeers: t.numPeers,
          received: t.received,
          uploaded: t.uploaded,
          downloaded: t.downloaded,
          length: t.length,
          done: t.done
        })
      }
      case 'mappings':
        return reply({ mappings: client.services.nat?.mappings ?? [] })
      case 'destroy': {
        const t0 = Date.now()
        client.destroy().then(() => { reply({ ms: Date.now() - t0 }); process.exit(0) }, fail)
        return
      }
      default:
        return reply({ error: `unknown command ${cmd.cmd}` })
    }
  } catch (err) {
    fail(err)
  }
})
process.stdin.on('end', () => { void client.destroy().then(() => process.exit(0)) })
