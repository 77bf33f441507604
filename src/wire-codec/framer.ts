/**
 * Framer: incremental decoder of the length-prefixed peer wire message stream (everything after the 68-byte
 * BEP 3 handshake, see handshake.ts). Pure: bytes in, handler calls out; no sockets, no timers.
 *
 * How it works: pushed bytes are copied into a receive buffer in kernel memory (one per Framer, grown on
 * demand, consumed bytes compacted away lazily), the frameScan kernel (assembly/framing.ts) walks it and
 * writes one record per message with the fixed fields already decoded, and the records are dispatched to the
 * handler's typed methods in one pass: no per-message kernel call and no re-parsing in JS.
 * Piece blocks (nearly all the bytes of a download) never enter kernel memory: the kernel reports a piece as
 * soon as its 13-byte header is buffered (a "split" piece) and the block is taken straight from the pushed
 * chunk(s). To find those headers without copying the blocks, bytes are copied in small windows after a
 * block (doubling while no block turns up, so a stream of small messages still goes in a few large copies) and
 * exactly as many as an incomplete message needs otherwise.
 *
 * Payloads handed out (piece blocks, bitfields, extended and unknown payloads) are never views of kernel memory
 * and the framer never writes to them again, so they stay valid after the next push:
 *  - `copy: false` (default): a payload that lies inside the chunk passed to the current push() is a view of
 *    that chunk (zero copy, as bittorrent-protocol's `buffer.subarray`); one that spans chunks is a copy. It is
 *    valid as long as the caller does not modify that chunk: socket reads (net.Socket 'data', WebRTC data
 *    channels) are fresh buffers. A kept block keeps its whole chunk alive.
 *  - `copy: true`: every payload is a copy, whatever the caller does with its chunks later (required when
 *    pushing from a reused read buffer, e.g. net.Socket's `onread.buffer`). This costs an allocation and a copy
 *    of every block: about 3x slower on a download stream.
 * Copies are carved from shared 64 KiB slabs (see alloc), so `payload.buffer` is larger than the payload:
 * use byteOffset/byteLength, as with Node Buffers.
 *
 * Errors (WireProtocolError): ERR_WIRE_MESSAGE_TOO_LARGE as soon as the 4 prefix bytes of an over-limit
 * message are present (nothing of its body is buffered); a prefix >= 2^31 is always over the limit, never a
 * keep-alive. ERR_WIRE_BAD_LENGTH for a known id with an impossible payload length (have with 3 bytes,
 * choke with a payload, ...). Messages before the bad one are delivered first, whatever the chunking. After an
 * error, or after a handler threw, the framer stays failed: push() rethrows that error (no resync: the stream
 * position is unknown, the wire layer disconnects). Unknown ids go to onUnknown (defined behaviour).
 */
import { WireProtocolError } from '../errors.js'
import { wasm, u8, i32 } from '../wasm/index.js'
import { DEFAULT_MAX_MESSAGE_LENGTH, MAX_MESSAGE_LENGTH_LIMIT, bitfieldMessageLength } from './messages.js'

// Message ids (messages.ts), repeated as module-local constants for the dispatch switch: imported bindings
// can compile to property reads through getters (tsx, CommonJS output), which cost 15% of a parse.
const MSG_CHOKE = 0
const MSG_UNCHOKE = 1
const MSG_INTERESTED = 2
const MSG_NOT_INTERESTED = 3
const MSG_HAVE = 4
const MSG_BITFIELD = 5
const MSG_REQUEST = 6
const MSG_PIECE = 7
const MSG_CANCEL = 8
const MSG_PORT = 9
const MSG_SUGGEST = 13
const MSG_HAVE_ALL = 14
const MSG_HAVE_NONE = 15
const MSG_REJECT = 16
const MSG_ALLOWED_FAST = 17
const MSG_EXTENDED = 20

/**
 * Receives decoded messages. Every method is optional; payload-less handlers cost nothing and a payload is
 * only copied if its method exists. u32 fields (index, begin, length) are non-negative numbers.
 */
export interface FrameHandler {
  onKeepAlive? (): void
  onChoke? (): void
  onUnchoke? (): void
  onInterested? (): void
  onNotInterested? (): void
  onHave? (index: number): void
  onBitfield? (bytes: Uint8Array): void
  onRequest? (index: number, begin: number, length: number): void
  onPiece? (index: number, begin: number, block: Uint8Array): void
  onCancel? (index: number, begin: number, length: number): void
  onPort? (port: number): void
  onSuggest? (index: number): void
  onHaveAll? (): void
  onHaveNone? (): void
  onReject? (index: number, begin: number, length: number): void
  onAllowedFast? (index: number): void
  /** BEP 10: extId 0 is the extended handshake; `payload` excludes the extId byte. */
  onExtended? (extId: number, payload: Uint8Array): void
  /** An id this codec does not know; `payload` excludes the id byte. */
  onUnknown? (id: number, payload: Uint8Array): void
  /**
   * Where to put the block of a piece message whose 13-byte header just arrived (blocks of at least 1 KiB):
   * a buffer of exactly `length` bytes, or null for the default (a view or a copy, see the module comment).
   * The framer writes the block into it as its bytes arrive, then calls onPiece with that same buffer; if the
   * stream ends or fails first, onPiece is not called (the buffer may hold part of the block).
   * This is how a download lands straight in its piece buffer: no intermediate copy, no allocation.
   */
  pieceTarget? (index: number, begin: number, length: number): Uint8Array | null
}

export interface FramerOptions {
  /** Largest accepted length prefix in bytes (default DEFAULT_MAX_MESSAGE_LENGTH, 1 MiB). */
  maxMessageLength?: number
  /** Piece count when known: the limit is raised to at least the largest legal bitfield message. */
  pieces?: number
  /**
   * false (default): payloads inside a pushed chunk are views of it (do not modify a chunk after pushing it);
   * true: all payloads are copies. See the module comment.
   */
  copy?: boolean
  /** Receive buffer size in bytes (default 128 KiB); it grows for larger messages and shrinks back when idle. */
  bufferSize?: number
}

// 6 x i32 per record (see assembly/framing.ts). 256 records (6 KiB) per kernel call: a 64 KiB socket read holds
// at most ~16 KiB of keep-alives (4 B each), so typical reads are scanned in one or a few calls.
const RECORD_INTS = 6
const RECORD_CAP = 256
const E_TOO_LARGE = -1
const E_BAD_LENGTH = -2
// Two 64 KiB socket reads: a read plus the partial message left from the previous one fit without compaction.
const DEFAULT_BUFFER_SIZE = 128 * 1024
const MIN_BUFFER_SIZE = 16
// Copies share 64 KiB slabs (see copyOut). Not larger: glibc serves allocations of 128 KiB and more with mmap,
// and a fresh mapping per slab (page faults, munmap at GC) made a parse 10x slower.
const SLAB_SIZE = 64 * 1024
// Record id of a split piece (assembly/framing.ts REC_PIECE_HEAD).
const REC_PIECE_HEAD = -2
// Blocks of at least 1 KiB bypass kernel memory; below that the extra kernel call costs more than the copy.
const SPLIT_MIN = 1024
// First copy window after a block: the next block's header plus the few small messages usually before it.
const WINDOW_MIN = 64

function roundUp16 (n: number): number {
  return Math.ceil(n / 16) * 16
}

/** Kernel memory of one framer; freed by dispose(), or by the registry if a framer is dropped undisposed. */
interface Memory { buf: number, rec: number }
const registry = new FinalizationRegistry<Memory>(freeMemory)

function freeMemory (m: Memory): void {
  const k = wasm()
  if (m.buf !== 0) k.free(m.buf)
  if (m.rec !== 0) k.free(m.rec)
  m.buf = 0
  m.rec = 0
}

function checkLimit (n: number, what: string): number {
  if (!Number.isInteger(n) || n < 0 || n > MAX_MESSAGE_LENGTH_LIMIT) {
    throw new WireProtocolError('ERR_WIRE_OPTIONS', `${what} must be an integer between 0 and ${MAX_MESSAGE_LENGTH_LIMIT}`)
  }
  return n
}

export class Framer {
  private readonly handler: FrameHandler
  private readonly copy: boolean
  private readonly bufferSize: number
  private readonly mem: Memory = { buf: 0, rec: 0 }
  private readonly records = new Int32Array(RECORD_CAP * RECORD_INTS)
  private maxLength: number
  private pieceCount: number
  private limit: number
  private cap = 0
  /** Receive buffer window [start, end): bytes received but not yet consumed. */
  private start = 0
  private end = 0
  /** Bytes (from `start`) the first incomplete message needs before the scan can go on; 0 if unknown. */
  private need = 0
  /** Bytes to copy next when `need` is unknown (see the module comment). */
  private window = WINDOW_MIN
  /** Buffer position of byte 0 of the chunk being pushed (may be negative); positions >= base are from it. */
  private base = 0
  /** Stream offset of buffer position `end`, for error messages. */
  private streamEnd = 0
  /** A split piece whose block spans pushes: the block being assembled and the bytes it still lacks. */
  private blockRest = 0
  private block: Uint8Array | null = null
  private blockFilled = 0
  private blockIndex = 0
  private blockBegin = 0
  /** Copies are carved from this slab (see copyOut); the framer never writes a byte it has handed out. */
  private slab = new Uint8Array(0)
  private slabPos = SLAB_SIZE
  private busy = false
  private failure: unknown = null
  private disposed = false

  constructor (handler: FrameHandler, opts: FramerOptions = {}) {
    this.handler = handler
    this.copy = opts.copy ?? false
    this.bufferSize = roundUp16(Math.max(MIN_BUFFER_SIZE, checkLimit(opts.bufferSize ?? DEFAULT_BUFFER_SIZE, 'bufferSize')))
    this.maxLength = checkLimit(opts.maxMessageLength ?? DEFAULT_MAX_MESSAGE_LENGTH, 'maxMessageLength')
    this.pieceCount = opts.pieces ?? 0
    this.limit = this.computeLimit()
    registry.register(this, this.mem, this)
  }

  /** The length prefix limit in force: max(maxMessageLength, largest legal bitfield message). */
  get maxMessageLength (): number {
    return this.limit
  }

  /** Sets the piece count once known (e.g. after ut_metadata): raises the limit for the bitfield if needed. */
  setPieces (pieces: number): void {
    this.pieceCount = pieces
    this.limit = this.computeLimit()
  }

  /** Bytes received but not yet delivered (the start of an incomplete message). */
  get buffered (): number {
    return this.end - this.start + (this.blockRest > 0 ? this.blockFilled : 0)
  }

  /** The error that failed the framer, or null. */
  get error (): unknown {
    return this.failure
  }

  /**
   * Decodes as many messages as `chunk` completes, calling the handler for each in stream order.
   * Throws WireProtocolError on a protocol violation (then stays failed), or what a handler threw.
   */
  push (chunk: Uint8Array): void {
    if (this.failure !== null) throw this.failure
    if (this.busy) {
      throw new WireProtocolError('ERR_WIRE_REENTRANT_PUSH', 'Framer.push() called from inside one of its handlers')
    }
    this.busy = true
    try {
      const n = chunk.length
      let off = 0
      // A handler may dispose the framer: it then stops at once (failure is set).
      while (off < n && this.failure === null) {
        off = this.blockRest > 0 ? this.feedBlock(chunk, off) : this.scan(chunk, this.fill(chunk, off))
      }
      if (this.start === this.end && this.cap > this.bufferSize && !this.disposed) this.release()
    } catch (err) {
      if (!this.disposed) this.failure = err
      throw err
    } finally {
      this.busy = false
      if (this.disposed) this.dispose()
    }
  }

  /** Frees the kernel memory; push() throws ERR_WIRE_FRAMER_DISPOSED afterwards. Handlers may call it too. */
  dispose (): void {
    if (!this.disposed) {
      this.disposed = true
      this.failure = new WireProtocolError('ERR_WIRE_FRAMER_DISPOSED', 'the framer was disposed')
    }
    if (this.busy) return // called from a handler: push() frees the memory as it returns
    registry.unregister(this)
    freeMemory(this.mem)
    this.cap = 0
    this.start = this.end = 0
    this.block = null
    this.blockRest = 0
  }

  private computeLimit (): number {
    const p = this.pieceCount
    if (!Number.isInteger(p) || p < 0) throw new WireProtocolError('ERR_WIRE_OPTIONS', 'pieces must be a non-negative integer')
    return Math.max(this.maxLength, Math.min(MAX_MESSAGE_LENGTH_LIMIT, bitfieldMessageLength(p)))
  }

  /** Copies the next part of chunk[off..] into the receive buffer; returns the new offset. */
  private fill (chunk: Uint8Array, off: number): number {
    if (this.mem.rec === 0) this.mem.rec = wasm().alloc(RECORD_CAP * RECORD_INTS * 4)
    if (this.start === this.end) this.start = this.end = 0
    const buffered = this.end - this.start
    const want = Math.min(chunk.length - off, this.need > 0 ? this.need - buffered : this.window)
    if (this.cap === 0) this.resize(Math.max(this.bufferSize, this.need))
    else if (this.need > this.cap) this.resize(this.need)
    else if (this.cap - this.end < want && this.start > 0) this.compact()
    const k = Math.min(want, this.cap - this.end)
    // Cannot happen (an incomplete message always fits the buffer after compaction or resize); guards the loop.
    if (k <= 0) throw new WireProtocolError('ERR_WIRE_FRAMING', 'receive buffer made no progress')
    const dst = this.mem.buf + this.end
    if (k <= 16) {
      const m = u8()
      for (let i = 0; i < k; i++) m[dst + i] = chunk[off + i]
    } else {
      u8().set(k === chunk.length ? chunk : chunk.subarray(off, off + k), dst)
    }
    this.base = this.end - off
    this.end += k
    this.streamEnd += k
    return off + k
  }

  /**
   * Runs the kernel over the buffered bytes until no complete message is left, dispatching each batch;
   * takes over a split piece's block. `off` is the chunk offset after the buffered bytes; returns the new one.
   */
  private scan (chunk: Uint8Array, off: number): number {
    const k = wasm()
    const R = this.records
    const recIndex = this.mem.rec >>> 2
    for (;;) {
      const at = this.start
      const r = k.frameScan(this.mem.buf + at, this.end - at, this.limit, this.mem.rec, RECORD_CAP, SPLIT_MIN)
      // Read the kernel's state before any handler runs: a handler may drive another framer's kernel call.
      const count = r >= 0 ? r : k.frameCount()
      const used = k.frameConsumed()
      const errorPos = r >= 0 ? 0 : k.frameErrorPos()
      this.need = r >= 0 ? k.frameNeed() : 0
      // Records leave kernel memory before dispatch: a handler may allocate (detaching views) or scan elsewhere.
      const ints = count * RECORD_INTS
      if (ints > 48) {
        R.set(i32().subarray(recIndex, recIndex + ints))
      } else {
        const I = i32()
        for (let i = 0; i < ints; i++) R[i] = I[recIndex + i]
      }
      this.start = at + used
      const split = count > 0 && R[(count - 1) * RECORD_INTS] === REC_PIECE_HEAD
      if (count > (split ? 1 : 0)) this.dispatch(split ? count - 1 : count, at, chunk)
      if (this.failure !== null) return chunk.length // disposed by a handler
      if (r < 0) throw this.violation(r, at + errorPos)
      if (split) return this.splitBlock(chunk, off, (count - 1) * RECORD_INTS)
      if (r < RECORD_CAP) {
        if (this.need === 0) this.window = Math.min(this.window * 2, this.cap)
        return off
      }
    }
  }

  /**
   * A split piece: its header ends at `start`, the block bytes already buffered are [start, end), the rest
   * follows in the chunk at `off`. Delivers the block if this chunk holds all of it, else starts assembling it.
   */
  private splitBlock (chunk: Uint8Array, off: number, o: number): number {
    const R = this.records
    const index = R[o + 3] >>> 0
    const begin = R[o + 4] >>> 0
    const len = R[o + 5]
    const head = this.start
    const inBuf = this.end - head
    const rest = len - inBuf
    this.start = this.end // the buffered block bytes are taken below (or were in the chunk anyway)
    this.window = WINDOW_MIN
    const h = this.handler
    let target = h.onPiece !== undefined && h.pieceTarget !== undefined ? h.pieceTarget(index, begin, len) : null
    if (target !== null && target.length !== len) target = null
    if (head >= this.base && rest <= chunk.length - off) {
      this.streamEnd += rest
      if (h.onPiece !== undefined) {
        const s = head - this.base
        const view = chunk.subarray(s, s + len)
        if (target !== null) target.set(view)
        h.onPiece(index, begin, target ?? (this.copy ? this.copyOut(view) : view))
      }
      return off + rest
    }
    this.blockIndex = index
    this.blockBegin = begin
    this.blockRest = len
    this.blockFilled = 0
    this.block = null
    if (h.onPiece !== undefined) {
      this.block = target ?? this.alloc(len)
      const p = this.mem.buf + head
      this.block.set(u8().subarray(p, p + inBuf))
    }
    this.blockFilled = inBuf
    this.blockRest = rest
    return this.feedBlock(chunk, off)
  }

  /** Adds chunk bytes to the block being assembled; delivers it when complete. Returns the new offset. */
  private feedBlock (chunk: Uint8Array, off: number): number {
    const take = Math.min(this.blockRest, chunk.length - off)
    if (this.block !== null) this.block.set(chunk.subarray(off, off + take), this.blockFilled)
    this.blockFilled += take
    this.blockRest -= take
    this.streamEnd += take
    if (this.blockRest === 0) {
      const block = this.block
      this.block = null
      if (block !== null) this.handler.onPiece?.(this.blockIndex, this.blockBegin, block)
    }
    return off + take
  }

  private dispatch (count: number, at: number, chunk: Uint8Array): void {
    const h = this.handler
    const R = this.records
    for (let i = 0, o = 0; i < count && this.failure === null; i++, o += RECORD_INTS) {
      switch (R[o]) {
        case -1: h.onKeepAlive?.(); break
        case MSG_CHOKE: h.onChoke?.(); break
        case MSG_UNCHOKE: h.onUnchoke?.(); break
        case MSG_INTERESTED: h.onInterested?.(); break
        case MSG_NOT_INTERESTED: h.onNotInterested?.(); break
        case MSG_HAVE: h.onHave?.(R[o + 3] >>> 0); break
        case MSG_BITFIELD:
          if (h.onBitfield !== undefined) h.onBitfield(this.bytes(at + R[o + 1], R[o + 2], chunk))
          break
        case MSG_REQUEST: h.onRequest?.(R[o + 3] >>> 0, R[o + 4] >>> 0, R[o + 5] >>> 0); break
        case MSG_PIECE:
          // A whole piece message in the buffer (a small block, or one that came with a large copy).
          this.window = WINDOW_MIN
          if (h.onPiece !== undefined) h.onPiece(R[o + 3] >>> 0, R[o + 4] >>> 0, this.bytes(at + R[o + 1] + 8, R[o + 5], chunk))
          break
        case MSG_CANCEL: h.onCancel?.(R[o + 3] >>> 0, R[o + 4] >>> 0, R[o + 5] >>> 0); break
        case MSG_PORT: h.onPort?.(R[o + 3]); break
        case MSG_SUGGEST: h.onSuggest?.(R[o + 3] >>> 0); break
        case MSG_HAVE_ALL: h.onHaveAll?.(); break
        case MSG_HAVE_NONE: h.onHaveNone?.(); break
        case MSG_REJECT: h.onReject?.(R[o + 3] >>> 0, R[o + 4] >>> 0, R[o + 5] >>> 0); break
        case MSG_ALLOWED_FAST: h.onAllowedFast?.(R[o + 3] >>> 0); break
        case MSG_EXTENDED:
          if (h.onExtended !== undefined) h.onExtended(R[o + 3], this.bytes(at + R[o + 1] + 1, R[o + 2] - 1, chunk))
          break
        default:
          if (h.onUnknown !== undefined) h.onUnknown(R[o], this.bytes(at + R[o + 1], R[o + 2], chunk))
      }
    }
  }

  /** Payload bytes at buffer position `pos`: a view of the pushed chunk (copy: false, inside it) or a copy. */
  private bytes (pos: number, len: number, chunk: Uint8Array): Uint8Array {
    if (!this.copy && pos >= this.base) {
      const s = pos - this.base
      return chunk.subarray(s, s + len)
    }
    const p = this.mem.buf + pos
    return this.copyOut(u8().subarray(p, p + len))
  }

  /** A copy of `src` (see alloc). */
  private copyOut (src: Uint8Array): Uint8Array {
    const out = this.alloc(src.length)
    out.set(src)
    return out
  }

  /**
   * `len` fresh bytes for a copy, carved from the current slab. Allocating an ArrayBuffer per 16 KiB block costs
   * more than copying it (backing store allocation and external-memory GC pressure, ~3.5 us per block: half of
   * a whole parse), so copies share slabs; large payloads get their own buffer. A kept copy keeps its slab.
   */
  private alloc (len: number): Uint8Array {
    if (len > SLAB_SIZE >>> 2) return new Uint8Array(len)
    if (this.slabPos + len > SLAB_SIZE) {
      this.slab = new Uint8Array(SLAB_SIZE)
      this.slabPos = 0
    }
    const out = this.slab.subarray(this.slabPos, this.slabPos + len)
    // Keep copies 8-byte aligned so callers can take Float64Array / BigUint64Array views of them.
    this.slabPos += (len + 7) & ~7
    return out
  }

  private violation (code: number, pos: number): WireProtocolError {
    const m = u8()
    const p = this.mem.buf + pos
    const prefix = ((m[p] << 24) | (m[p + 1] << 16) | (m[p + 2] << 8) | m[p + 3]) >>> 0
    const where = `at stream offset ${this.streamEnd - (this.end - pos)}`
    if (code === E_TOO_LARGE) {
      return new WireProtocolError('ERR_WIRE_MESSAGE_TOO_LARGE',
        `message length ${prefix} exceeds the limit of ${this.limit} bytes ${where}`)
    }
    if (code === E_BAD_LENGTH) {
      return new WireProtocolError('ERR_WIRE_BAD_LENGTH',
        `message id ${m[p + 4]} cannot have a ${prefix - 1}-byte payload ${where}`)
    }
    return new WireProtocolError('ERR_WIRE_FRAMING', `framing failed (${code}) ${where}`)
  }

  /** Moves the unconsumed window to the start of the buffer. */
  private compact (): void {
    const len = this.end - this.start
    const b = this.mem.buf
    u8().copyWithin(b, b + this.start, b + this.end)
    this.start = 0
    this.end = len
  }

  /** Reallocates the buffer to hold at least `size` bytes, keeping the window (moved to position 0). */
  private resize (size: number): void {
    const k = wasm()
    const cap = roundUp16(size)
    const next = k.alloc(cap)
    const len = this.end - this.start
    if (len > 0) u8().copyWithin(next, this.mem.buf + this.start, this.mem.buf + this.end)
    if (this.mem.buf !== 0) k.free(this.mem.buf)
    this.mem.buf = next
    this.cap = cap
    this.start = 0
    this.end = len
  }

  /** Drops a buffer that grew for a large message once it is empty; the next push allocates the default. */
  private release (): void {
    wasm().free(this.mem.buf)
    this.mem.buf = 0
    this.cap = 0
    this.start = this.end = 0
  }
}
