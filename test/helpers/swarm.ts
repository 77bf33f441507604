/** Swarm test scaffolding: torrents of random data, a map store, swarms wired over loopback TCP. */
import { createHash } from 'node:crypto'
import { Swarm } from '../../src/engine/swarm.js'
import type { PieceStore } from '../../src/engine/types.js'
import { Wire } from '../../src/wire/index.js'
import { socketPair } from './sockets.js'
import { rng, randomBytes } from './random.js'

const IH = 'cd'.repeat(20)
let peerSeq = 0
const peerId = () => '2d5757303030302d' + (++peerSeq).toString(16).padStart(24, '0')

/** A minimal in-memory store for engine tests (src/storage has the real ones). */
export class MapStore implements PieceStore {
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

export function makeTorrent (length: number, pieceLength: number, seed = 1) {
  const data = randomBytes(rng(seed), length)
  const n = Math.ceil(length / pieceLength)
  const hashes = new Uint8Array(n * 20)
  for (let i = 0; i < n; i++) hashes.set(createHash('sha1').update(data.subarray(i * pieceLength, (i + 1) * pieceLength)).digest(), i * 20)
  const full = new Uint8Array(Math.ceil(n / 8))
  for (let i = 0; i < n; i++) full[i >> 3] |= 0x80 >> (i & 7)
  return { data, hashes, n, full }
}

const swarms: Swarm[] = []
export function destroySwarms (): void { for (const s of swarms.splice(0)) s.destroy() }

export function newSwarm (t: ReturnType<typeof makeTorrent>, pieceLength: number, store: PieceStore, seeding: boolean, extra: Partial<ConstructorParameters<typeof Swarm>[0]> = {}): Swarm {
  const s = new Swarm({ pieceLength, length: t.data.length, pieceHashes: t.hashes, store, bitfield: seeding ? t.full : undefined, ...extra })
  swarms.push(s)
  return s
}

/** Connects two swarms with a pair of wires over loopback TCP. */
export async function connect (a: Swarm, b: Swarm): Promise<[Wire, Wire]> {
  const [sa, sb] = await socketPair()
  const wa = new Wire(sa)
  const wb = new Wire(sb)
  a.addWire(wa)
  b.addWire(wb)
  wb.once('handshake', () => wb.handshake(IH, peerId()))
  wa.handshake(IH, peerId())
  return [wa, wb]
}

