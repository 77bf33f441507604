/**
 * Piece availability + piece picking at 200 peers x 20,000 pieces.
 *
 * Baseline: webtorrent 3.0.21's RarityMap (lib/rarity-map.js), reimplemented line for line below with the
 * same data structures: a JS Array of counts, recalculate() reading every wire's `peerPieces.get(i)` for
 * every piece on each new wire and each bitfield message, a decrement loop on close, a +1 per `have`, and
 * getRarestPiece(filter) scanning all pieces through a filter closure as torrent.js builds it (selection
 * range, peer has it, we do not). Peer bitfields are the npm `bitfield` package, as in bittorrent-protocol.
 *
 * Ours: Availability (incremental counts in WASM memory) with peer bitfields in WASM memory and the
 * pickRarest kernel.
 *
 * One op, the same for both (driven by the same seeded PRNG, so both see the same events): one peer
 * leaves, a new peer joins and sends its bitfield (~50% density), 20 `have` messages arrive from random
 * peers, and 10 random peers each ask for the rarest piece they can give us.
 */
import BitField from 'bitfield'
import { Availability, Bitfield } from '../src/bitfield/index.js'
import type { BenchGroup } from './lib.js'

const NPEERS = 200
const NPIECES = 20_000
const HAVES_PER_OP = 20
const PICKS_PER_OP = 10
// Distinct bitfield messages to draw joining peers from (generating one per op would time the generator).
const POOL_SIZE = 64
const BITFIELD_GROW = 400000 // bittorrent-protocol's initial peerPieces option

function mulberry32 (seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) | 0
    let t = Math.imul(a ^ (a >>> 15), 1 | a)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

function randomBytes (nbits: number, density: number, r: () => number): Uint8Array {
  const out = new Uint8Array((nbits + 7) >> 3)
  for (let i = 0; i < nbits; i++) if (r() < density) out[i >> 3] |= 0x80 >> (i & 7)
  return out
}

const setupRandom = mulberry32(42)
const pool: Uint8Array[] = []
for (let k = 0; k < POOL_SIZE; k++) pool.push(randomBytes(NPIECES, 0.4 + 0.2 * setupRandom(), setupRandom))
// We have ~25% of the pieces; everything is selected.
const ourBytes = randomBytes(NPIECES, 0.25, setupRandom)

let sink = 0

// ---------------------------------------------------------------- baseline: webtorrent's RarityMap

interface Wire { peerPieces: BitField }
interface Torrent { wires: Wire[], pieces: { length: number } }

class RarityMap {
  private readonly _torrent: Torrent
  private readonly _numPieces: number
  private readonly _pieces: number[]

  constructor (torrent: Torrent) {
    this._torrent = torrent
    this._numPieces = torrent.pieces.length
    this._pieces = new Array(this._numPieces)
    this.recalculate()
  }

  // torrent 'wire' event (the wire is already in torrent.wires)
  _onWire (): void {
    this.recalculate()
  }

  _onWireHave (index: number): void {
    this._pieces[index] += 1
  }

  _onWireBitfield (): void {
    this.recalculate()
  }

  // wire 'close'
  _onClose (wire: Wire): void {
    for (let i = 0; i < this._numPieces; ++i) {
      this._pieces[i] -= wire.peerPieces.get(i) as unknown as number
    }
  }

  getRarestPiece (pieceFilterFunc?: (i: number) => boolean): number {
    let candidates: number[] = []
    let min = Infinity

    for (let i = 0; i < this._numPieces; ++i) {
      if (pieceFilterFunc && !pieceFilterFunc(i)) continue

      const availability = this._pieces[i]
      if (availability === min) {
        candidates.push(i)
      } else if (availability < min) {
        candidates = [i]
        min = availability
      }
    }

    if (candidates.length) {
      return candidates[Math.random() * candidates.length | 0]
    } else {
      return -1
    }
  }

  recalculate (): void {
    this._pieces.fill(0)

    for (const wire of this._torrent.wires) {
      for (let i = 0; i < this._numPieces; ++i) {
        this._pieces[i] += wire.peerPieces.get(i) as unknown as number
      }
    }
  }
}

// unordered-array-remove, as webtorrent's torrent.js removes wires.
function arrayRemove<T> (arr: T[], i: number): void {
  const last = arr.pop()!
  if (i < arr.length) arr[i] = last
}

function makeBaseline (): () => number {
  const r = mulberry32(7)
  const torrent: Torrent = { wires: [], pieces: { length: NPIECES } }
  for (let p = 0; p < NPEERS; p++) torrent.wires.push({ peerPieces: new BitField(pool[p % POOL_SIZE].slice()) })
  const rarity = new RarityMap(torrent)
  const ourBitfield = new BitField(ourBytes.slice())
  const start = 0 // selection: the whole torrent (webtorrent's default select(0, pieces.length - 1))
  const end = NPIECES - 1
  let next = 0

  return () => {
    const wires = torrent.wires
    // A peer leaves.
    const gone = Math.floor(r() * wires.length)
    rarity._onClose(wires[gone])
    arrayRemove(wires, gone)
    // A peer joins (empty peerPieces), then its bitfield message arrives (a fresh buffer from the wire).
    const wire: Wire = { peerPieces: new BitField(0, { grow: BITFIELD_GROW }) }
    wires.push(wire)
    rarity._onWire()
    wire.peerPieces = new BitField(pool[next++ % POOL_SIZE].slice())
    rarity._onWireBitfield()
    // `have` messages (bittorrent-protocol's _onHave ignores pieces the peer already has).
    for (let k = 0; k < HAVES_PER_OP; k++) {
      const w = wires[Math.floor(r() * wires.length)]
      const index = Math.floor(r() * NPIECES)
      if (w.peerPieces.get(index)) continue
      w.peerPieces.set(index, true)
      rarity._onWireHave(index)
    }
    // Peers ask for work.
    let acc = 0
    for (let k = 0; k < PICKS_PER_OP; k++) {
      const w = wires[Math.floor(r() * wires.length)]
      const filter = (i: number): boolean => i >= start && i <= end && !ourBitfield.get(i) && w.peerPieces.get(i)
      acc += rarity.getRarestPiece(filter)
    }
    return acc
  }
}

// ---------------------------------------------------------------- ours: Availability + kernels

function makeOurs (): () => number {
  const r = mulberry32(7)
  const peers: Bitfield[] = []
  const avail = new Availability(NPIECES)
  for (let p = 0; p < NPEERS; p++) {
    const bf = Bitfield.from(pool[p % POOL_SIZE], NPIECES)
    avail.addPeer(bf)
    peers.push(bf)
  }
  const have = Bitfield.from(ourBytes, NPIECES)
  const want = new Bitfield(NPIECES).setAll().andNot(have)
  let next = 0

  return () => {
    const gone = Math.floor(r() * peers.length)
    avail.removePeer(peers[gone])
    peers[gone].destroy()
    arrayRemove(peers, gone)
    const bf = Bitfield.from(pool[next++ % POOL_SIZE], NPIECES)
    avail.addPeer(bf)
    peers.push(bf)
    for (let k = 0; k < HAVES_PER_OP; k++) {
      const p = peers[Math.floor(r() * peers.length)]
      const index = Math.floor(r() * NPIECES)
      if (p.get(index)) continue
      p.set(index)
      avail.have(index)
    }
    let acc = 0
    for (let k = 0; k < PICKS_PER_OP; k++) {
      acc += avail.pickRarest(peers[Math.floor(r() * peers.length)], want)
    }
    return acc
  }
}

// ---------------------------------------------------------------- sequential pick

/**
 * Streaming state: we have every piece before the cursor (webtorrent's selection offset: the first missing
 * piece), 90% of the next 2,000 (read-ahead already in flight or done) and 10% after. 10 random peers each
 * ask for the next piece in order. Baseline: torrent.js's sequential loop, `for (piece = from + offset;
 * piece <= to; piece++) { if (!wire.peerPieces.get(piece)) continue; ... }` with _request's "we already
 * have it" check.
 */
function makeSequential (): { baseline: () => number, ours: () => number } {
  const r = mulberry32(9)
  const cursor = NPIECES >> 1
  const haveBits = new Uint8Array((NPIECES + 7) >> 3)
  for (let i = 0; i < NPIECES; i++) {
    const p = i < cursor ? 1 : i < cursor + 2000 ? 0.9 : 0.1
    if (i !== cursor && r() < p) haveBits[i >> 3] |= 0x80 >> (i & 7)
  }
  const theirHave = new BitField(haveBits.slice())
  const theirPeers = pool.slice(0, 10).map(b => new BitField(b.slice()))
  const ourHave = Bitfield.from(haveBits, NPIECES)
  const want = new Bitfield(NPIECES).setAll().andNot(ourHave)
  const ourPeers = pool.slice(0, 10).map(b => Bitfield.from(b, NPIECES))
  const avail = new Availability(NPIECES)
  const to = NPIECES - 1

  const baseline = (): number => {
    let acc = 0
    for (const peerPieces of theirPeers) {
      let found = -1
      for (let piece = cursor; piece <= to; piece++) {
        if (!peerPieces.get(piece)) continue
        if (theirHave.get(piece)) continue
        found = piece
        break
      }
      acc += found
    }
    return acc
  }
  const ours = (): number => {
    let acc = 0
    for (const p of ourPeers) acc += avail.pickSequential(p, want, cursor)
    return acc
  }
  return { baseline, ours }
}

const rarestBaseline = makeBaseline()
const rarestOurs = makeOurs()
const seq = makeSequential()

export const groups: BenchGroup[] = [
  {
    name: `rarity: peer churn + 20 haves + 10 rarest picks (${NPEERS} peers x ${NPIECES} pieces)`,
    target: 10,
    time: 2000,
    cases: [
      { name: 'webtorrent RarityMap', baseline: true, fn: () => { sink += rarestBaseline() } },
      { name: 'wasmtorrent Availability', ours: true, fn: () => { sink += rarestOurs() } }
    ]
  },
  {
    name: `rarity: 10 sequential picks (${NPIECES} pieces, streaming cursor)`,
    cases: [
      { name: 'webtorrent sequential loop', baseline: true, fn: () => { sink += seq.baseline() } },
      { name: 'wasmtorrent pickSequential', ours: true, fn: () => { sink += seq.ours() } }
    ]
  }
]

export function benchSink (): number {
  return sink
}
