/**
 * ut_metadata, ut_pex and lt_donthave against real libtorrent 2.0 peers (python3-libtorrent), over TCP on
 * 127.0.0.1:
 *  (a) our Wire fetches the metadata of a multi-file torrent from a libtorrent seeder knowing only the info-hash;
 *  (b) libtorrent, given only a magnet with x.pe=<our listener>, fetches the metadata from our Wires;
 *  (c) the seeder's ut_pex messages name the other libtorrent peers it is connected to; and libtorrent connects
 *      to a peer it learnt only from our ut_pex message (peer source: pex);
 *  (d) libtorrent applies our lt_donthave (we stop counting as a seed), and sends lt_donthave itself when a
 *      read fails (seed mode with the data missing and hash checks off), which clears our view of its piece.
 */
import { createHash, randomBytes } from 'node:crypto'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { connect, createServer, type Server, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Wire } from '../src/wire/index.js'
import {
  utMetadata, UtPex, LtDonthave, type UtMetadata, type UtPexExtension, type LtDonthaveExtension, type PexPeer
} from '../src/wire/extensions/index.js'
import { bencode } from '../src/bencode/index.js'
import { WasmTorrentError } from '../src/errors.js'
import { LtPeer } from './helpers/libtorrent.js'
import { needs, system } from './helpers/system.js'
import { waitFor, sleep } from './helpers/sockets.js'

const haveLt = needs('python3-libtorrent', system.libtorrent())

const sha1hex = (b: Uint8Array) => createHash('sha1').update(b).digest('hex')
const peerId = () => Buffer.concat([Buffer.from('-WW0001-'), randomBytes(12)]).toString('hex')
const FILES = 500

let dir: string
let torrentPath: string
let infoHash: string
let info: Uint8Array
let pieceCount: number
let seeder: LtPeer
const ltPeers: LtPeer[] = []
const wires: Wire[] = []
const servers: Server[] = []

async function startLt (): Promise<LtPeer> {
  const p = await LtPeer.start({ utp: false })
  ltPeers.push(p)
  return p
}

/** Waits until a libtorrent peer's torrent accepts connections (it refuses them while checking files). */
async function started (p: LtPeer): Promise<void> {
  await p.waitForStatus(infoHash, s => ['downloading', 'finished', 'seeding'].includes(s.state), 30_000)
}

/** Our wire dialling a libtorrent peer on 127.0.0.1. */
async function dial (port: number, pieces?: number): Promise<Wire> {
  const sock = connect(port, '127.0.0.1')
  await new Promise<void>((resolve, reject) => { sock.once('connect', resolve); sock.once('error', reject) })
  sock.setNoDelay(true)
  const wire = new Wire(sock, { type: 'tcpOutgoing', pieces })
  wires.push(wire)
  return wire
}

/** Polls until `pred` holds. */
async function until<T> (what: string, pred: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const v = await pred()
    if (v) return v
    if (Date.now() > deadline) throw new Error('timed out waiting for ' + what)
    await sleep(100)
  }
}

beforeAll(async () => {
  if (!haveLt) return
  dir = mkdtempSync(join(tmpdir(), 'wt-ltext-'))
  // A multi-file torrent of a few hundred KiB: 500 files of 100..1100 random bytes in 10 directories, with
  // long names, so that the info dict is several 16 KiB metadata pieces and not a multiple of 16 KiB.
  const content = join(dir, 'seed', 'content')
  for (let i = 0; i < FILES; i++) {
    const sub = join(content, `directory-${i % 10}`)
    mkdirSync(sub, { recursive: true })
    writeFileSync(join(sub, `a-file-with-a-fairly-long-descriptive-name-number-${i}.bin`), randomBytes(100 + (i * 37) % 1000))
  }
  seeder = await startLt()
  torrentPath = join(dir, 'content.torrent')
  const made = await seeder.create({ path: content, out: torrentPath, piece_length: 16384 })
  infoHash = made.info_hash!
  info = bencode.decodeWithRaw(readFileSync(torrentPath)).raw.info
  pieceCount = (bencode.decode(info) as { pieces: Uint8Array }).pieces.length / 20
  await seeder.add({ torrent: torrentPath, save_path: join(dir, 'seed') })
  await seeder.waitForStatus(infoHash, s => s.is_seeding, 30_000)
}, 90_000)

afterAll(async () => {
  for (const w of wires) w.destroy()
  for (const s of servers) s.close()
  await Promise.all(ltPeers.map(p => p.stop()))
  if (dir) rmSync(dir, { recursive: true, force: true })
})

describe.skipIf(!haveLt)('extensions with libtorrent 2.0', () => {
  it('the fixture: a multi-piece, odd-sized info dict', () => {
    expect(sha1hex(info)).toBe(infoHash)
    expect(info.length).toBeGreaterThan(2 * 16384)
    expect(info.length % 16384).not.toBe(0)
  })

  it('(a) our wire fetches the metadata from a libtorrent seeder knowing only the info-hash', async () => {
    const UtMeta = utMetadata()
    const wire = await dial(seeder.port)
    const ext = wire.use(UtMeta) as UtMetadata
    wire.handshake(infoHash, peerId())
    const metadata = await ext.fetch()
    expect(ext.peerMetadataSize).toBe(info.length)
    expect(sha1hex(metadata)).toBe(infoHash)
    expect(Buffer.from(metadata).equals(Buffer.from(info))).toBe(true)
    expect(UtMeta.metadata).toBe(metadata)
    const dict = bencode.decode(metadata) as { files: unknown[], 'piece length': number }
    expect(dict.files.length).toBe(FILES)
    expect(dict['piece length']).toBe(16384)
    expect(wire.destroyed).toBe(false)
  })

  it('(b) libtorrent, given only a magnet with x.pe, fetches the metadata from our wires', async () => {
    const Serve = utMetadata({ metadata: info })
    const ours = peerId()
    const exts: UtMetadata[] = []
    const server = createServer((sock: Socket) => {
      sock.setNoDelay(true)
      const wire = new Wire(sock, { type: 'tcpIncoming', pieces: pieceCount })
      wires.push(wire)
      exts.push(wire.use(Serve) as UtMetadata)
      wire.once('handshake', (ih: string) => { wire.handshake(ih, ours); wire.haveNone() })
    })
    servers.push(server)
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
    const port = (server.address() as { port: number }).port
    const leecher = await startLt()
    await leecher.add({ magnet: `magnet:?xt=urn:btih:${infoHash}&x.pe=127.0.0.1:${port}`, save_path: join(dir, 'magnet-leech') })
    await leecher.waitForStatus(infoHash, s => s.has_metadata, 30_000)
    // Our wires advertised metadata_size and served every piece of it.
    expect(exts.length).toBeGreaterThan(0)
    const served = exts.reduce((n, e) => n + e.served, 0)
    expect(served).toBeGreaterThanOrEqual(Math.ceil(info.length / 16384))
    const tf = await leecher.call<{ bytes_hex: string }>('torrent_file', { info_hash: infoHash })
    const theirInfo = bencode.decodeWithRaw(Buffer.from(tf.bytes_hex, 'hex')).raw.info
    expect(sha1hex(theirInfo)).toBe(infoHash)
    expect(Buffer.from(theirInfo).equals(Buffer.from(info))).toBe(true)
  })

  it('(c) PEX: the seeder names the libtorrent peers it is connected to; libtorrent uses a peer our PEX names', async () => {
    // Two more peers the seeder connects to. libtorrent closes connections between seeds
    // (close_redundant_connections); with that off they stay connected once they have downloaded everything.
    const keep = { settings: { close_redundant_connections: false } }
    await seeder.call('settings', keep)
    const extras = [await startLt(), await startLt()]
    for (const [i, p] of extras.entries()) {
      await p.call('settings', keep)
      await p.add({ torrent: torrentPath, save_path: join(dir, `extra-${i}`) })
      await started(p)
      await seeder.connect(infoHash, p.port)
    }
    for (const p of extras) await p.waitForStatus(infoHash, s => s.is_seeding, 30_000)
    await until('the seeder to be connected to both extra peers', async () => {
      const st = await seeder.status(infoHash)
      return extras.every(p => st.peers.some(x => x.port === p.port))
    })

    const wire = await dial(seeder.port)
    const pex = wire.use(UtPex) as UtPexExtension
    const got: PexPeer[] = []
    pex.on('peer', p => got.push(p))
    const t0 = Date.now()
    wire.handshake(infoHash, peerId())
    // libtorrent sends its first (full) PEX list on its one-second tick once it has 2+ peers: no minute wait.
    await until('ut_pex entries naming both extra peers', () => extras.every(p => got.some(x => x.port === p.port)), 20_000)
    const ms = Date.now() - t0
    for (const p of extras) {
      const e = got.find(x => x.port === p.port)!
      expect(e).toMatchObject({ host: '127.0.0.1', family: 4 })
      // Both are seeds now, and libtorrent supports ut_holepunch; it sets no other flag over plain TCP.
      expect(e.flags).toEqual({ encryption: false, seed: true, utp: false, holepunch: true, reachable: false, bits: 0x0a })
    }
    expect(pex.supported).toBe(true)
    expect(ms).toBeLessThan(30_000)

    // The other way: a libtorrent peer learns of a peer only from our ut_pex message and connects to it.
    const lonely = await startLt()
    await lonely.call('settings', keep)
    await lonely.add({ torrent: torrentPath, save_path: join(dir, 'lonely') })
    await started(lonely)
    const target = extras[0]
    const w2 = await dial(target.port)
    const pex2 = w2.use(UtPex) as UtPexExtension
    w2.handshake(infoHash, peerId())
    await until('the extended handshake', () => pex2.supported)
    expect(pex2.sendPex({ added: [{ host: '127.0.0.1', port: lonely.port, flags: { reachable: true } }] })).toBe(true)
    const found = await until('libtorrent to connect to the peer it learnt from our PEX', async () => {
      const st = await target.status(infoHash)
      return st.peers.find(x => x.port === lonely.port && x.pex)
    })
    expect(found.ip).toBe('127.0.0.1')
    expect(w2.destroyed).toBe(false)
  })

  it('(d) libtorrent applies our lt_donthave: we stop counting as a seed', async () => {
    const leecher = await startLt()
    await leecher.add({ torrent: torrentPath, save_path: join(dir, 'dh-leech') })
    await started(leecher)
    const wire = await dial(leecher.port, pieceCount)
    const dh = wire.use(LtDonthave) as LtDonthaveExtension
    wire.handshake(infoHash, peerId())
    await until('lt_donthave support', () => dh.supported)
    wire.haveAll()
    const ourPeer = async () => (await leecher.status(infoHash)).peers.find(p => p.client.includes('wasmtorrent'))
    await until('libtorrent to see us as a seed', async () => (await ourPeer())?.seed)
    expect(dh.donthave(pieceCount - 1)).toBe(true)
    await until('libtorrent to see us as no longer a seed', async () => (await ourPeer())?.seed === false, 10_000)
    expect((await leecher.status(infoHash)).num_seeds).toBe(0)
    expect(wire.destroyed).toBe(false)
  })

  it('(d) libtorrent sends lt_donthave (with a reject) when it cannot read a piece it announced', async () => {
    // Seed mode with no data on disk and hash checks off: libtorrent announces every piece without checking,
    // and its read of a requested block fails.
    const flaky = await startLt()
    await flaky.call('settings', { settings: { disable_hash_checks: true } })
    await flaky.add({ torrent: torrentPath, save_path: join(dir, 'missing'), seed_mode: true })
    await started(flaky)
    const wire = await dial(flaky.port, pieceCount)
    const dh = wire.use(LtDonthave) as LtDonthaveExtension
    const lost: number[] = []
    dh.on('donthave', i => lost.push(i))
    const seen: string[] = []
    for (const e of ['handshake', 'have-all', 'have-none', 'bitfield', 'close', 'extended']) wire.on(e, (a: unknown) => seen.push(e + ':' + String((a as Error)?.message ?? a)))
    wire.handshake(infoHash, peerId())
    try {
      await until('libtorrent to announce it has every piece', () => wire.peerPieces?.count() === pieceCount, 10_000)
    } catch (err) {
      throw new Error(String(err) + ' wire saw: ' + seen.join(' | ') + ' libtorrent: ' + flaky.events.slice(-8).map(e => e.type + ': ' + e.message).join(' | '))
    }
    wire.interested()
    if (wire.peerChoking) await waitFor(wire, 'unchoke', 20_000)
    const err = await new Promise<Error | null>(resolve => {
      expect(wire.request(2, 0, 16384, e => resolve(e))).toBe(true)
    })
    expect((err as WasmTorrentError).code).toBe('ERR_WIRE_REJECTED')
    await until('lt_donthave for piece 2', () => lost.includes(2), 5000)
    expect(wire.peerPieces!.get(2)).toBe(false)
    expect(wire.peerPieces!.count()).toBe(pieceCount - 1)
    expect(wire.destroyed).toBe(false)
  })
})
