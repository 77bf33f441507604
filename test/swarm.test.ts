import { afterEach, describe, expect, it } from 'vitest'
import { createHash } from 'node:crypto'
import { Swarm } from '../src/engine/swarm.js'
import type { PieceStore } from '../src/engine/types.js'
import { Wire } from '../src/wire/index.js'
import { socketPair, waitFor } from './helpers/sockets.js'
import { rng, randomBytes } from './helpers/random.js'

const IH = 'cd'.repeat(20)
let peerSeq = 0
const peerId = () => '2d5757303030302d' + (++peerSeq).toString(16).padStart(24, '0')

/** A minimal in-memory store for engine tests (src/storage has the real ones). */
class MapStore implements PieceStore {
  readonly pieces = new Map<number, Uint8Array>()
  corrupt?: (index: number, offset: number, data: Uint8Array) => Uint8Array
  constructor (readonly pieceLength: number, data?: Uint8Array) {
    if (data) for (let i = 0; i * pieceLength < data.length; i++) this.pieces.set(i, data.slice(i * pieceLength, (i + 1) * pieceLength))
  }

  async put (index: number, data: Uint8Array): Promise<void> { this.pieces.set(index, data.slice()) }
  async get (index: number, opts: { offset?: number, length?: number } = {}): Promise<Uint8Array> {
    const p = this.pieces.get(index)!
    const off = opts.offset ?? 0
    const out = p.slice(off, off + (opts.length ?? p.length - off))
    return this.corrupt ? this.corrupt(index, off, out) : out
  }

  concat (n: number): Uint8Array {
    const parts = Array.from({ length: n }, (_, i) => this.pieces.get(i)!)
    const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0))
    let o = 0
    for (const p of parts) { out.set(p, o); o += p.length }
    return out
  }
}

function makeTorrent (length: number, pieceLength: number, seed = 1) {
  const data = randomBytes(rng(seed), length)
  const n = Math.ceil(length / pieceLength)
  const hashes = new Uint8Array(n * 20)
  for (let i = 0; i < n; i++) hashes.set(createHash('sha1').update(data.subarray(i * pieceLength, (i + 1) * pieceLength)).digest(), i * 20)
  const full = new Uint8Array(Math.ceil(n / 8))
  for (let i = 0; i < n; i++) full[i >> 3] |= 0x80 >> (i & 7)
  return { data, hashes, n, full }
}

const swarms: Swarm[] = []
afterEach(() => { for (const s of swarms.splice(0)) s.destroy() })

function newSwarm (t: ReturnType<typeof makeTorrent>, pieceLength: number, store: MapStore, seeding: boolean, extra: Partial<ConstructorParameters<typeof Swarm>[0]> = {}): Swarm {
  const s = new Swarm({ pieceLength, length: t.data.length, pieceHashes: t.hashes, store, bitfield: seeding ? t.full : undefined, ...extra })
  swarms.push(s)
  return s
}

/** Connects two swarms with a pair of wires over loopback TCP. */
async function connect (a: Swarm, b: Swarm): Promise<[Wire, Wire]> {
  const [sa, sb] = await socketPair()
  const wa = new Wire(sa)
  const wb = new Wire(sb)
  a.addWire(wa)
  b.addWire(wb)
  wb.once('handshake', () => wb.handshake(IH, peerId()))
  wa.handshake(IH, peerId())
  return [wa, wb]
}

describe('Swarm: downloads between our own peers over loopback TCP', () => {
  it('a leecher downloads everything from a seeder, byte-identical, odd last piece', async () => {
    const PL = 256 * 1024
    const t = makeTorrent(3 * 1024 * 1024 + 12345, PL)
    const seeder = newSwarm(t, PL, new MapStore(PL, t.data), true)
    const store = new MapStore(PL)
    const leecher = newSwarm(t, PL, store, false)
    const verified: number[] = []
    leecher.on('verified', i => verified.push(i))
    const done = waitFor(leecher, 'done', 20000)
    await connect(seeder, leecher)
    await done
    expect(verified.sort((a, b) => a - b)).toEqual(Array.from({ length: t.n }, (_, i) => i))
    expect(Buffer.from(store.concat(t.n)).equals(Buffer.from(t.data))).toBe(true)
    expect(leecher.downloaded).toBe(t.data.length)
    expect(seeder.uploaded).toBeGreaterThanOrEqual(t.data.length)
    expect(leecher.have.isFull()).toBe(true)
  })

  it('one seeder and three leechers that also trade with each other all complete', async () => {
    const PL = 64 * 1024
    const t = makeTorrent(2 * 1024 * 1024 - 999, PL, 2)
    const seeder = newSwarm(t, PL, new MapStore(PL, t.data), true)
    const stores = [0, 1, 2].map(() => new MapStore(PL))
    const leechers = stores.map(s => newSwarm(t, PL, s, false))
    const dones = leechers.map(l => waitFor(l, 'done', 30000))
    for (const l of leechers) await connect(seeder, l)
    await connect(leechers[0], leechers[1])
    await connect(leechers[1], leechers[2])
    await connect(leechers[0], leechers[2])
    await Promise.all(dones)
    for (const s of stores) expect(Buffer.from(s.concat(t.n)).equals(Buffer.from(t.data))).toBe(true)
  })

  it('case 29: a peer sending corrupt blocks is banned while the download completes from a good peer', async () => {
    const PL = 64 * 1024
    const t = makeTorrent(1024 * 1024, PL, 3)
    const badStore = new MapStore(PL, t.data)
    badStore.corrupt = (index, offset, block) => {
      if (offset === 16384) block[7] ^= 0xff // one bad block in every piece
      return block
    }
    const bad = newSwarm(t, PL, badStore, true)
    const good = newSwarm(t, PL, new MapStore(PL, t.data), true)
    const store = new MapStore(PL)
    const leecher = newSwarm(t, PL, store, false)
    const bans: Wire[] = []
    let hashfails = 0
    leecher.on('ban', w => bans.push(w))
    leecher.on('hashfail', () => hashfails++)
    const done = waitFor(leecher, 'done', 30000)
    const [, wireToBad] = await connect(bad, leecher)
    await new Promise(resolve => setTimeout(resolve, 300)) // let the bad peer deliver first
    await connect(good, leecher)
    await done
    expect(hashfails).toBeGreaterThan(0)
    expect(bans).toContain(wireToBad)
    expect(wireToBad.destroyed).toBe(true)
    expect(Buffer.from(store.concat(t.n)).equals(Buffer.from(t.data))).toBe(true)
  })

  it('sequential strategy verifies pieces in order from a single peer', async () => {
    const PL = 32 * 1024
    const t = makeTorrent(40 * PL, PL, 4)
    const seeder = newSwarm(t, PL, new MapStore(PL, t.data), true)
    const leecher = newSwarm(t, PL, new MapStore(PL), false, { strategy: 'sequential' })
    const order: number[] = []
    leecher.on('verified', i => order.push(i))
    const done = waitFor(leecher, 'done', 20000)
    await connect(seeder, leecher)
    await done
    // Verification is asynchronous, so neighbours may swap; the order must still be nearly sorted.
    const inversions = order.reduce((n, v, i) => n + order.slice(i + 1).filter(w => w < v).length, 0)
    expect(order.length).toBe(40)
    expect(inversions).toBeLessThan(40)
    expect(order[0]).toBeLessThan(4)
  })

  it('deselected pieces are never requested', async () => {
    const PL = 32 * 1024
    const t = makeTorrent(20 * PL, PL, 5)
    const seeder = newSwarm(t, PL, new MapStore(PL, t.data), true)
    const leecher = newSwarm(t, PL, new MapStore(PL), false, { deselect: true })
    leecher.select(5, 9)
    const requested = new Set<number>()
    const done = waitFor(leecher, 'done', 20000)
    const [wSeed] = await connect(seeder, leecher)
    wSeed.on('request', (i: number) => requested.add(i))
    await done
    expect([...requested].sort((a, b) => a - b)).toEqual([5, 6, 7, 8, 9])
    expect(leecher.have.count()).toBe(5)
  })

  it('download and upload limits are honoured, 0 blocks transfer, and limits change at runtime', async () => {
    const PL = 64 * 1024
    const t = makeTorrent(1024 * 1024, PL, 6)
    const seeder = newSwarm(t, PL, new MapStore(PL, t.data), true, { uploadLimit: 0 })
    const leecher = newSwarm(t, PL, new MapStore(PL), false, { downloadLimit: 256 * 1024 })
    const done = waitFor(leecher, 'done', 30000)
    const start = Date.now()
    await connect(seeder, leecher)
    await new Promise(resolve => setTimeout(resolve, 800))
    expect(leecher.downloaded).toBe(0) // the seeder's upload limit 0 blocks everything
    seeder.uploadLimiter.setRate(-1)
    await done
    // The leecher's 256 KiB/s limit: 1 MiB minus the one-second burst takes at least 3 s from the start
    // (a lower bound only, so a slow machine cannot fail it).
    expect(Date.now() - start).toBeGreaterThanOrEqual(2900)
    expect(leecher.have.isFull()).toBe(true)
  })
})
