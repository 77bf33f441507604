/**
 * A fixed-size bitfield in kernel (WASM) memory, in BEP 3 layout: piece i is bit (7 - i % 8) of byte
 * i / 8, so piece 0 is the high bit of byte 0. Spare bits past the last piece are always clear: every
 * writer here keeps them so, and `Bitfield.from` rejects input that sets them.
 *
 * Because the bits live in WASM memory, the rarity and picker kernels read them in place (`ptr`). Single
 * bits are read and written from JS through the shared memory view; bulk operations (and/or/count/first)
 * run as one kernel call.
 *
 * get(i) / set(i, value) behave like the npm `bitfield` package's for indexes inside the field, so it can
 * replace `wire.peerPieces` / `torrent.bitfield`. Differences: the size is fixed (no `grow`), set() outside
 * [0, length) throws instead of being ignored, and setAll() sets every bit (npm's copies an array).
 *
 * Call destroy() when done: it frees the memory now. A FinalizationRegistry frees forgotten bitfields
 * eventually, but only after a garbage collection.
 */
import { WasmTorrentError, WireProtocolError } from '../errors.js'
import { wasm, u8 } from '../wasm/index.js'
import { allocTracked, destroyedError, freeTracked } from './memory.js'

/**
 * Largest bitfield, in bits. 2^26 pieces is 32x libtorrent's torrent limit (0x200000 pieces) and keeps
 * bit indexes, `(n + 7) >> 3` and 4-byte-per-piece availability counts far inside the kernels' i32 math
 * and WASM32 memory.
 */
export const MAX_BITS = 1 << 26

export function checkBitCount (nbits: number, what = 'bitfield'): void {
  if (!Number.isInteger(nbits) || nbits < 0 || nbits > MAX_BITS) {
    throw new WasmTorrentError('ERR_BITFIELD_SIZE', `${what} size must be an integer in [0, ${MAX_BITS}], got ${nbits}`)
  }
}

function indexError (i: number, n: number): WasmTorrentError {
  return new WasmTorrentError('ERR_BITFIELD_INDEX', `bit index ${i} outside [0, ${n})`)
}

function mismatchError (a: number, b: number): WasmTorrentError {
  return new WasmTorrentError('ERR_BITFIELD_SIZE_MISMATCH', `bitfields differ in size (${a} and ${b} bits)`)
}

export class Bitfield {
  /** Number of bits (pieces). */
  readonly length: number
  /** ceil(length / 8): the size of the wire message payload. */
  readonly byteLength: number
  private _ptr: number

  constructor (nbits: number) {
    checkBitCount(nbits)
    this.length = nbits
    this.byteLength = (nbits + 7) >>> 3
    this._ptr = allocTracked(this, this.byteLength)
  }

  /**
   * A bitfield holding a copy of `bytes` (for example a peer's bitfield message). Throws WireProtocolError
   * ERR_BITFIELD_LENGTH unless bytes.length is ceil(nbits / 8), and ERR_BITFIELD_SPARE_BITS if any bit past
   * the last piece is set (BEP 3: both are grounds to disconnect).
   */
  static from (bytes: Uint8Array, nbits: number): Bitfield {
    checkBitCount(nbits)
    const n = (nbits + 7) >>> 3
    if (bytes.length !== n) {
      throw new WireProtocolError('ERR_BITFIELD_LENGTH',
        `bitfield is ${bytes.length} bytes, expected ${n} for ${nbits} pieces`)
    }
    const rest = nbits & 7
    if (rest !== 0 && (bytes[n - 1] & (0xff >> rest)) !== 0) {
      throw new WireProtocolError('ERR_BITFIELD_SPARE_BITS', 'bitfield has bits set past the last piece')
    }
    const bf = new Bitfield(nbits)
    u8().set(bytes, bf._ptr)
    return bf
  }

  /** Address of the bytes in kernel memory, for kernels. Valid until destroy(). */
  get ptr (): number {
    if (this._ptr === 0) throw destroyedError('Bitfield')
    return this._ptr
  }

  get destroyed (): boolean {
    return this._ptr === 0
  }

  /** Whether bit i is set; false outside [0, length) (like npm `bitfield`). */
  get (i: number): boolean {
    const p = this._ptr
    if (p === 0) throw destroyedError('Bitfield')
    // `i >>> 0 === i` accepts exactly the integers in [0, 2^32).
    if ((i >>> 0) !== i || i >= this.length) return false
    return (u8()[p + (i >>> 3)] & (0x80 >>> (i & 7))) !== 0
  }

  /** Sets bit i (or clears it when value is false). Throws ERR_BITFIELD_INDEX outside [0, length). */
  set (i: number, value = true): void {
    const p = this._ptr
    if (p === 0) throw destroyedError('Bitfield')
    if ((i >>> 0) !== i || i >= this.length) throw indexError(i, this.length)
    const mem = u8()
    const at = p + (i >>> 3)
    if (value) mem[at] |= 0x80 >>> (i & 7)
    else mem[at] &= ~(0x80 >>> (i & 7))
  }

  /** Clears bit i. Throws ERR_BITFIELD_INDEX outside [0, length). */
  clear (i: number): void {
    this.set(i, false)
  }

  /** Sets every bit (spare bits stay clear). */
  setAll (): this {
    wasm().bfSetAll(this.ptr, this.length)
    return this
  }

  /** Clears every bit. */
  clearAll (): this {
    const p = this.ptr
    u8().fill(0, p, p + this.byteLength)
    return this
  }

  /** Number of set bits. */
  count (): number {
    return wasm().bfPopcount(this.ptr, this.length)
  }

  isEmpty (): boolean {
    return this.count() === 0
  }

  /** Whether every bit is set. */
  isFull (): boolean {
    return this.count() === this.length
  }

  /** A copy of the bytes (the wire's bitfield payload). */
  toBytes (): Uint8Array {
    const p = this.ptr
    return u8().slice(p, p + this.byteLength)
  }

  /** A new bitfield with the same bits. */
  clone (): Bitfield {
    const src = this.ptr
    const copy = new Bitfield(this.length)
    // The allocation above may have grown memory: fetch the view after it.
    u8().copyWithin(copy._ptr, src, src + this.byteLength)
    return copy
  }

  /** Copies the bits of `other` (same length) into this one. */
  copyFrom (other: Bitfield): this {
    const [p, o] = this.pair(other)
    u8().copyWithin(p, o, o + this.byteLength)
    return this
  }

  /** this &= other. */
  and (other: Bitfield): this {
    const [p, o] = this.pair(other)
    wasm().bfAnd(p, p, o, this.byteLength)
    return this
  }

  /** this &= ~other (for example: wanted pieces minus the ones we have). */
  andNot (other: Bitfield): this {
    const [p, o] = this.pair(other)
    wasm().bfAndNot(p, p, o, this.byteLength)
    return this
  }

  /** this |= other. */
  or (other: Bitfield): this {
    const [p, o] = this.pair(other)
    wasm().bfOr(p, p, o, this.byteLength)
    return this
  }

  /** The lowest index set in both (for example "a piece this peer has that we want"), or -1. */
  firstAnd (other: Bitfield): number {
    const [p, o] = this.pair(other)
    return wasm().bfFirstAnd(p, o, this.byteLength)
  }

  /** Number of indexes set in both. */
  countAnd (other: Bitfield): number {
    const [p, o] = this.pair(other)
    return wasm().bfCountAnd(p, o, this.byteLength)
  }

  /** Frees the memory. Further use throws ERR_BITFIELD_DESTROYED; calling destroy() again does nothing. */
  destroy (): void {
    if (this._ptr === 0) return
    const p = this._ptr
    this._ptr = 0
    freeTracked(this, [p])
  }

  private pair (other: Bitfield): [number, number] {
    if (other.length !== this.length) throw mismatchError(this.length, other.length)
    return [this.ptr, other.ptr]
  }
}
