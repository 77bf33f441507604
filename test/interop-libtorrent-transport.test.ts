/**
 * Transports and the pool against a real libtorrent 2.0 (python3-libtorrent) on 127.0.0.1, over TCP and uTP,
 * in both directions: libtorrent dials us (routed by info-hash), and we dial libtorrent.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { ConnectionPool } from '../src/transport/index.js'
import type { Wire } from '../src/wire/index.js'
import { LtPeer, type LtPeerInfo } from './helpers/libtorrent.js'
import { needs, system } from './helpers/system.js'
import { waitFor, sleep } from './helpers/sockets.js'

const OUR_ID = '2d5754303030312d' + 'ab'.repeat(12)
const OTHER_IH = 'cd'.repeat(20)

const haveLt = needs('python3-libtorrent', system.libtorrent())

describe.skipIf(!haveLt)('transport interop with libtorrent', () => {
  let dir: string
  let torrentPath: string
  const peers: LtPeer[] = []
  const pools: ConnectionPool[] = []

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'wt-transport-'))
    const data = new Uint8Array(256 * 1024)
    for (let i = 0; i < data.length; i++) data[i] = (i * 31 + 7) & 255
    writeFileSync(join(dir, 'payload.bin'), data)
    torrentPath = join(dir, 'payload.torrent')
  })
  afterAll(() => rmSync(dir, { recursive: true, force: true }))
  afterEach(async () => {
    await Promise.all(pools.splice(0).map(p => p.destroy()))
    await Promise.all(peers.splice(0).map(p => p.stop()))
  })

  /** A libtorrent seeding the payload; returns it and the v1 info-hash. */
  async function seeder (opts: { tcp?: boolean, utp?: boolean }): Promise<{ lt: LtPeer, ih: string }> {
    const lt = await LtPeer.start(opts)
    peers.push(lt)
    const { info_hash: ih } = await lt.create({ path: join(dir, 'payload.bin'), out: torrentPath, piece_length: 16384 })
    await lt.add({ torrent: torrentPath, save_path: dir, seed_mode: true })
    return { lt, ih: ih! }
  }

  async function ourPool (opts: { preferUtp?: boolean } = {}): Promise<ConnectionPool> {
    const pool = new ConnectionPool({ host: '127.0.0.1', connectTimeout: 3000, ...opts })
    pools.push(pool)
    await pool.listen()
    return pool
  }

  async function ltSeesUs (lt: LtPeer, ih: string, port: number | null): Promise<LtPeerInfo> {
    const st = await lt.waitForStatus(ih, s => s.peers.some(p => p.pid === OUR_ID && (port === null || p.port === port)), 10000)
    return st.peers.find(p => p.pid === OUR_ID)!
  }

  async function extendedFrom (wire: Wire): Promise<string> {
    for (let i = 0; i < 300 && wire.peerExtendedHandshake.v === undefined; i++) await sleep(10)
    const v = wire.peerExtendedHandshake.v
    return typeof v === 'string' ? v : new TextDecoder().decode(v as Uint8Array)
  }

  for (const kind of ['tcp', 'utp'] as const) {
    it(`libtorrent dials us over ${kind}: routed by info-hash, handshakes complete`, async () => {
      const { lt, ih } = await seeder(kind === 'utp' ? { tcp: false } : { utp: false })
      const pool = await ourPool()
      // Two torrents registered: the wire must reach the one libtorrent names.
      const other = pool.addTorrent(OTHER_IH, { peerId: OUR_ID })
      const t = pool.addTorrent(ih, { peerId: OUR_ID })
      let otherGot = 0
      other.on('wire', () => otherGot++)
      const got = waitFor<Wire>(t, 'wire', 15000)
      await lt.connect(ih, pool.port)
      const [wire] = await got
      expect(wire.type).toBe(kind + 'Incoming')
      expect(wire.infoHash).toBe(ih)
      expect(wire.hasExtended).toBe(true)
      expect(await extendedFrom(wire)).toMatch(/libtorrent/)
      const info = await ltSeesUs(lt, ih, pool.port)
      expect(info.utp).toBe(kind === 'utp')
      expect(info.outgoing).toBe(true)
      expect(otherGot).toBe(0)
      expect(pool.stats().closes).toEqual({})
    })

    it(`we dial libtorrent over ${kind}: handshakes complete, extended handshake names libtorrent`, async () => {
      // With TCP off in libtorrent our TCP dial is refused and the pool falls back to uTP.
      const { lt, ih } = await seeder(kind === 'utp' ? { tcp: false } : { utp: false })
      const pool = await ourPool()
      const t = pool.addTorrent(ih, { peerId: OUR_ID })
      const got = waitFor<Wire>(t, 'wire', 15000)
      expect(t.addPeer(`127.0.0.1:${lt.port}`)).toBe(true)
      const [wire] = await got
      expect(wire.type).toBe(kind + 'Outgoing')
      expect(wire.peerId).toMatch(/^[0-9a-f]{40}$/)
      expect(wire.hasFast).toBe(true)
      expect(await extendedFrom(wire)).toMatch(/libtorrent/)
      const info = await ltSeesUs(lt, ih, null)
      expect(info.utp).toBe(kind === 'utp')
      expect(info.outgoing).toBe(false)
      expect(t.peer(`127.0.0.1:${lt.port}`)).toMatchObject({ state: 'connected', transport: kind })
      expect(pool.stats().dialFailures).toEqual({})
    })
  }

  it('uTP preferred: we dial a libtorrent that has both over uTP first', async () => {
    const { lt, ih } = await seeder({})
    const pool = await ourPool({ preferUtp: true })
    const t = pool.addTorrent(ih, { peerId: OUR_ID })
    const got = waitFor<Wire>(t, 'wire', 15000)
    t.addPeer(`127.0.0.1:${lt.port}`)
    const [wire] = await got
    expect(wire.type).toBe('utpOutgoing')
    expect((await ltSeesUs(lt, ih, null)).utp).toBe(true)
  })

  it('libtorrent dialing us for a torrent we do not have is refused with ERR_POOL_UNKNOWN_INFO_HASH', async () => {
    const { lt, ih } = await seeder({ utp: false })
    const pool = await ourPool()
    pool.addTorrent(OTHER_IH, { peerId: OUR_ID })
    const closed = waitFor<unknown>(pool, 'wireClose', 15000)
    await lt.connect(ih, pool.port)
    const [, reason] = await closed
    expect((reason as { code?: string }).code).toBe('ERR_POOL_UNKNOWN_INFO_HASH')
    const st = await lt.status(ih)
    expect(st.peers.some(p => p.pid === OUR_ID)).toBe(false)
  })
})
