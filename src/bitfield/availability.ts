/**
 * Piece availability for one torrent (how many connected peers have each piece), per-piece priorities,
 * and the piece pickers over them (assembly/rarity.ts). Counts and priorities live in kernel memory, so an
 * update or a pick is one kernel call that reads the peers' bitfields in place.
 *
 * Counts are kept incrementally, unlike webtorrent's RarityMap which rescans every wire's bitfield on each
 * new wire and bitfield message:
 *  - addPeer(bf) when a peer's bitfield arrives, removePeer(bf) when it goes;
 *  - have(i) for a `have` message, after setting the bit in the peer's bitfield, so that removePeer
 *    subtracts exactly what was added;
 *  - haveAll()/removeHaveAll() for have-all peers and seeds: they are one shared number, since a uniform
 *    offset changes no rarity ordering (get() includes it).
 *
 * Priorities are a u8 per piece: 0 = never pick, higher tiers are picked first; all pieces start at 1.
 * `want` is the caller's bitfield of pieces it would start now (selected, missing, not fully requested).
 */
import { WasmTorrentError } from '../errors.js'
import { wasm, u8, u32 } from '../wasm/index.js'
import { Bitfield, checkBitCount } from './bitfield.js'
import { allocTracked, destroyedError, freeTracked } from './memory.js'

/** Priority every piece starts with: pickable, lowest tier. */
export const DEFAULT_PRIORITY = 1

// Seeds for the rarest-first kernel's tie-break. The kernel runs a xorshift32 from the seed; giving it a
// fresh seed per call from a well-mixed generator (splitmix32) keeps consecutive picks independent.
let seedState = initialSeed()

function initialSeed (): number {
  const c = (globalThis as { crypto?: { getRandomValues?: (a: Uint32Array) => Uint32Array } }).crypto
  if (c?.getRandomValues) return c.getRandomValues(new Uint32Array(1))[0]
  return (Math.random() * 0x100000000) >>> 0
}

function nextSeed (): number {
  seedState = (seedState + 0x9e3779b9) | 0
  let z = seedState
  z = Math.imul(z ^ (z >>> 16), 0x21f0aaad)
  z = Math.imul(z ^ (z >>> 15), 0x735a2d97)
  return (z ^ (z >>> 15)) >>> 0
}

function pieceIndexError (i: number, n: number): WasmTorrentError {
  return new WasmTorrentError('ERR_PIECE_INDEX', `piece index ${i} outside [0, ${n})`)
}

export class Availability {
  readonly npieces: number
  private _avail: number // u32 per piece, 16-byte aligned
  private _prio: number // u8 per piece
  private _haveAll = 0
  // An upper bound on the highest priority in use (exact unless _topDirty), so the sequential picker can
  // stop at the first candidate of the top tier instead of reading every piece.
  private _top = DEFAULT_PRIORITY
  private _topDirty = false

  constructor (npieces: number) {
    checkBitCount(npieces, 'availability')
    this.npieces = npieces
    this._avail = allocTracked(this, npieces * 4)
    this._prio = allocTracked(this, npieces)
    const p = this._prio
    u8().fill(DEFAULT_PRIORITY, p, p + npieces)
  }

  get destroyed (): boolean {
    return this._avail === 0
  }

  /** Number of have-all peers counted with haveAll(). */
  get haveAllCount (): number {
    return this._haveAll
  }

  /** Address of the u32 counts (have-all peers excluded), for kernels. */
  get availPtr (): number {
    this.live()
    return this._avail
  }

  /** Address of the u8 priorities, for kernels. */
  get priorityPtr (): number {
    this.live()
    return this._prio
  }

  /** Counts a peer's bitfield (call once, when its bitfield message arrives). */
  addPeer (bitfield: Bitfield): void {
    wasm().availAddBitfield(this.availPtr, this.check(bitfield), this.npieces, 1)
  }

  /** Uncounts a peer's bitfield as it is now (call when the peer goes). */
  removePeer (bitfield: Bitfield): void {
    wasm().availAddBitfield(this.availPtr, this.check(bitfield), this.npieces, -1)
  }

  /** One more peer has piece i (a `have` message for a piece not already in that peer's bitfield). */
  have (i: number): void {
    this.live()
    if ((i >>> 0) !== i || i >= this.npieces) throw pieceIndexError(i, this.npieces)
    u32()[(this._avail >>> 2) + i]++
  }

  /** A have-all peer (or a seed) joined. */
  haveAll (): void {
    this.live()
    this._haveAll++
  }

  /** A have-all peer left. */
  removeHaveAll (): void {
    this.live()
    if (this._haveAll === 0) {
      throw new WasmTorrentError('ERR_AVAILABILITY_UNDERFLOW', 'removeHaveAll() without a matching haveAll()')
    }
    this._haveAll--
  }

  /** How many peers have piece i (have-all peers included). */
  get (i: number): number {
    this.live()
    if ((i >>> 0) !== i || i >= this.npieces) throw pieceIndexError(i, this.npieces)
    return u32()[(this._avail >>> 2) + i] + this._haveAll
  }

  /** Sets the priority of pieces [from, to) (end excluded, like TypedArray.fill). 0 = never pick. */
  setPriority (from: number, to: number, priority: number): void {
    this.live()
    const n = this.npieces
    if (!Number.isInteger(from) || !Number.isInteger(to) || from < 0 || to > n || from > to) {
      throw new WasmTorrentError('ERR_PIECE_RANGE', `piece range [${from}, ${to}) is not inside [0, ${n})`)
    }
    if (!Number.isInteger(priority) || priority < 0 || priority > 255) {
      throw new WasmTorrentError('ERR_PIECE_PRIORITY', `priority must be an integer in [0, 255], got ${priority}`)
    }
    if (from === to) return
    u8().fill(priority, this._prio + from, this._prio + to)
    if (priority >= this._top) {
      this._top = priority
      this._topDirty = false
    } else {
      this._topDirty = true // maybe lowered the top tier: recount on the next sequential pick
    }
  }

  getPriority (i: number): number {
    this.live()
    if ((i >>> 0) !== i || i >= this.npieces) throw pieceIndexError(i, this.npieces)
    return u8()[this._prio + i]
  }

  /**
   * Rarest first: among pieces in `want` that `peer` has (null = a peer that has every piece) and whose
   * priority is not 0, the highest priority tier, then the fewest peers; ties broken uniformly at random.
   * Returns the piece index or -1.
   */
  pickRarest (peer: Bitfield | null, want: Bitfield): number {
    const peerPtr = peer === null ? 0 : this.check(peer)
    return wasm().pickRarest(peerPtr, this.check(want), this.priorityPtr, this.availPtr, this.npieces, nextSeed())
  }

  /**
   * Sequential: the first piece at or after `cursor`, wrapping to 0, that is in `want` and that `peer` has
   * (null = every piece), taking the highest priority tier first. A cursor outside [0, npieces) starts at
   * 0. Returns the piece index or -1.
   */
  pickSequential (peer: Bitfield | null, want: Bitfield, cursor = 0): number {
    const peerPtr = peer === null ? 0 : this.check(peer)
    const wantPtr = this.check(want)
    const c = Number.isInteger(cursor) && cursor >= 0 && cursor < this.npieces ? cursor : 0
    const top = this.topPriority()
    if (top === 0) return -1
    return wasm().pickSequential(peerPtr, wantPtr, this.priorityPtr, this.npieces, c, top)
  }

  /** The highest priority any piece has (0 when no piece may be picked). */
  topPriority (): number {
    this.live()
    if (this._topDirty) {
      const mem = u8()
      const end = this._prio + this.npieces
      let top = 0
      for (let p = this._prio; p < end && top < 255; p++) if (mem[p] > top) top = mem[p]
      this._top = top
      this._topDirty = false
    }
    return this.npieces === 0 ? 0 : this._top
  }

  /** Frees the memory. Further use throws ERR_BITFIELD_DESTROYED; calling destroy() again does nothing. */
  destroy (): void {
    if (this._avail === 0) return
    const ptrs = [this._avail, this._prio]
    this._avail = 0
    this._prio = 0
    freeTracked(this, ptrs)
  }

  private live (): void {
    if (this._avail === 0) throw destroyedError('Availability')
  }

  private check (bf: Bitfield): number {
    if (bf.length !== this.npieces) {
      throw new WasmTorrentError('ERR_BITFIELD_SIZE_MISMATCH',
        `bitfield has ${bf.length} bits, availability has ${this.npieces} pieces`)
    }
    return bf.ptr
  }
}
