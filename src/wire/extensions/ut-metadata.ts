/**
 * ut_metadata (BEP 9): fetching a torrent's info dictionary from peers (magnet links) and serving it.
 *
 * Usage: one class per torrent, shared by all of that torrent's wires:
 *
 *     const UtMetadata = utMetadata({ metadata })      // metadata: the raw info dict, if the torrent has it
 *     const ext = wire.use(UtMetadata) as UtMetadata    // on each wire, before the handshakes complete
 *     const info = await ext.fetch()                    // magnet: the coordinator picks which wires fetch
 *     UtMetadata.setMetadata(info)                      // (done automatically by a successful fetch)
 *
 * The class returned by the factory shares the torrent's metadata between its wires: once one wire's fetch has
 * verified it (or the torrent sets it), every wire of that class serves it, and fetches still running on other
 * wires resolve with it at once. Use a separate `utMetadata()` class per torrent (as a guard, a class's
 * metadata is served and returned only on wires whose info-hash is its SHA-1).
 *
 * Fetching on one wire: fetch() waits for the peer's extended handshake, takes `metadata_size` from it
 * (0, negative, not an integer, missing, or above `maxSize` -> not a metadata source: ERR_METADATA_SIZE, case 10),
 * requests the 16 KiB pieces with at most MAX_OUTSTANDING in flight, assembles them and checks their SHA-1
 * against the wire's info-hash. A wire never runs two fetches: a second fetch() returns the running one.
 *
 * Bad input (case 11), per kind:
 *  - a message over 17 KiB, an undecodable payload, not a dict, or `msg_type`/`piece` missing or not integers:
 *    the wire is closed with a WireProtocolError (ERR_METADATA_MESSAGE_TOO_LARGE / ERR_METADATA_INVALID_MESSAGE),
 *    as libtorrent does;
 *  - a data or reject message for a piece we have not requested (out of range, duplicate, late): dropped;
 *  - unknown msg_type: ignored (BEP 9);
 *  - a data message whose total_size disagrees with metadata_size (ERR_METADATA_TOTAL_SIZE) or whose length is
 *    wrong for its piece, e.g. a short non-last piece (ERR_METADATA_PIECE_LENGTH): the piece is discarded and
 *    the fetch fails with that WireProtocolError; the wire stays open (the peer can still trade pieces once the
 *    metadata comes from elsewhere) but is marked `badSource`;
 *  - assembled bytes that fail the hash (case 12): discarded, ERR_METADATA_HASH, `badSource`.
 * Every fetch failure is also emitted as 'warning'. A `badSource` wire's later fetch() calls fail at once with
 * the same error, so the coordinator moves on to other peers. A reject from the peer (ERR_METADATA_REJECTED)
 * or a timeout (ERR_METADATA_TIMEOUT) does not mark it: it may have the metadata later.
 *
 * Serving (case 13): a request before we have the metadata, or for a piece out of range, gets a reject
 * (msg_type 2). Our extended handshake carries `metadata_size` when the metadata is known before it is sent.
 */
import { Emitter } from '../../util/emitter.js'
import { WasmTorrentError, WireProtocolError } from '../../errors.js'
import { bencode } from '../../bencode/index.js'
import { sha1 } from '../../sha1/index.js'
import type { Wire } from '../wire.js'
import type { ExtendedHandshake, WireExtension, WireExtensionClass } from '../extension.js'

/** BEP 9: the metadata is sent in pieces of 16 KiB (the last one may be shorter). */
export const METADATA_PIECE_SIZE = 16 * 1024
/** libtorrent's max_metadata_size default (3 * 1024 * 10240 bytes = 30 MiB): larger claims are not sources. */
export const DEFAULT_MAX_METADATA_SIZE = 30 * 1024 * 1024
/** libtorrent disconnects a peer whose ut_metadata message is over 17 KiB (a 16 KiB piece plus its dict). */
export const MAX_METADATA_MESSAGE = 17 * 1024
// Requests in flight per wire while fetching. libtorrent keeps 2; 4 halves the round trips and stays far
// below what servers queue (libtorrent queues 1024 requests, we serve bursts of SERVE_BURST at once).
const MAX_OUTSTANDING = 4
// A fetch fails with ERR_METADATA_TIMEOUT after this long without progress (waiting for the peer's extended
// handshake, or for a requested piece).
const DEFAULT_FETCH_TIMEOUT = 30_000
// Serving limits per peer: a token bucket of SERVE_BURST pieces (1 MiB) refilled at SERVE_RATE pieces a second
// (1 MiB/s). Metadata is rarely over 1 MiB, so a normal fetch is served at once; a larger one proceeds at
// 1 MiB/s. Requests beyond the bucket wait in a queue of SERVE_QUEUE; past that they are rejected, as
// libtorrent rejects past its queue. This caps what a peer re-requesting the same piece forever can cost.
const SERVE_BURST = 64
const SERVE_RATE = 64
const SERVE_QUEUE = 64

const MSG_REQUEST = 0
const MSG_DATA = 1
const MSG_REJECT = 2

export interface UtMetadataOptions {
  /** The raw info dictionary, when the torrent has it (served to peers, advertised as metadata_size). */
  metadata?: Uint8Array
  /** Largest metadata_size accepted from a peer (default 30 MiB, libtorrent's max_metadata_size). */
  maxSize?: number
  /** ms without progress before a fetch fails with ERR_METADATA_TIMEOUT (default 30 s). */
  timeout?: number
}

// A type alias, not an interface: Emitter needs the implicit index signature.
export type UtMetadataEvents = {
  /** This wire's fetch assembled and verified the metadata (raw info dict bytes). */
  metadata: (metadata: Uint8Array) => void
  /** A fetch failed (typed error); the wire may still be open. */
  warning: (err: WasmTorrentError) => void
}

/** The class utMetadata() returns: a WireExtensionClass with the torrent-wide metadata on it. */
export interface UtMetadataClass extends WireExtensionClass {
  new (wire: Wire): UtMetadata
  prototype: UtMetadata
  /** The torrent's metadata, once known. */
  readonly metadata: Uint8Array | null
  /**
   * Gives the torrent's metadata (raw info dict bytes, already verified by the caller) to every wire using
   * this class: they serve it, and their running fetches resolve with it.
   */
  setMetadata (metadata: Uint8Array): void
}

interface Shared {
  metadata: Uint8Array | null
  /** SHA-1 (hex) of `metadata`: it is used only on wires with this info-hash. */
  hash: string | null
  readonly maxSize: number
  readonly timeout: number
  readonly instances: Set<UtMetadata>
}

interface FetchState {
  /** metadata_size and piece count, set when the fetch starts (after the peer's extended handshake). */
  size: number
  count: number
  pieces: Array<Uint8Array | undefined>
  received: number
  next: number
  readonly outstanding: Set<number>
  timer: ReturnType<typeof setTimeout> | null
  started: boolean
  readonly promise: Promise<Uint8Array>
  resolve: (m: Uint8Array) => void
  reject: (e: WasmTorrentError) => void
}

/** Returns a ut_metadata extension class for one torrent (see the module comment). */
export function utMetadata (opts: UtMetadataOptions = {}): UtMetadataClass {
  const maxSize = opts.maxSize ?? DEFAULT_MAX_METADATA_SIZE
  if (!Number.isInteger(maxSize) || maxSize <= 0) {
    throw new WasmTorrentError('ERR_METADATA_OPTIONS', 'maxSize must be a positive integer')
  }
  const shared: Shared = {
    metadata: null,
    hash: null,
    maxSize,
    timeout: opts.timeout ?? DEFAULT_FETCH_TIMEOUT,
    instances: new Set()
  }
  if (opts.metadata !== undefined) setShared(shared, checkMetadata(opts.metadata))

  class TorrentUtMetadata extends UtMetadata {
    constructor (wire: Wire) {
      super(wire, shared)
    }

    static get metadata (): Uint8Array | null {
      return shared.metadata
    }

    static setMetadata (metadata: Uint8Array): void {
      setShared(shared, checkMetadata(metadata))
    }
  }
  return TorrentUtMetadata
}

function checkMetadata (m: Uint8Array): Uint8Array {
  if (!(m instanceof Uint8Array) || m.length === 0) {
    throw new WasmTorrentError('ERR_METADATA_INVALID', 'metadata must be a non-empty Uint8Array')
  }
  return m
}

function setShared (shared: Shared, metadata: Uint8Array): void {
  if (shared.metadata !== null) return
  shared.metadata = metadata
  shared.hash = sha1.hex(metadata)
  for (const ext of shared.instances) ext.onSharedMetadata(metadata)
}

/**
 * One wire's ut_metadata extension. Create it through `wire.use(utMetadata(...))`, never directly.
 * `wire.extensions.ut_metadata` is this object.
 */
export class UtMetadata extends Emitter<UtMetadataEvents> implements WireExtension {
  declare name: string
  readonly wire: Wire
  /** The peer's metadata_size when it is a valid one (so the peer can be a metadata source), else null. */
  peerMetadataSize: number | null = null
  /** The peer sent bad metadata (hash mismatch, inconsistent sizes): fetch() on this wire fails at once. */
  badSource: WasmTorrentError | null = null
  /** Pieces served to the peer. */
  served = 0

  private readonly shared: Shared
  private peerHandshakeSeen = false
  private peerUnsupported = false
  private peerSizeError: string | null = null
  private fetchState: FetchState | null = null
  // serving
  private tokens = SERVE_BURST
  private tokensAt = Date.now()
  private readonly serveQueue: number[] = []
  private serveTimer: ReturnType<typeof setTimeout> | null = null

  /** @internal */
  constructor (wire: Wire, shared: Shared) {
    super()
    if (shared === undefined) {
      throw new WasmTorrentError('ERR_METADATA_USE', 'make the extension class with utMetadata(), one per torrent')
    }
    this.wire = wire
    this.shared = shared
    shared.instances.add(this)
    if (shared.metadata !== null) wire.extendedHandshake.metadata_size = shared.metadata.length
    wire.on('ready', () => {
      if (!wire.hasExtended) this.markUnsupported()
    })
    wire.on('extended', (name: string) => {
      // Our onExtendedHandshake runs before this event only when the peer announces ut_metadata.
      if (name === 'handshake' && !this.wire.peerExtendedMapping.ut_metadata) this.markUnsupported()
    })
  }

  /**
   * The torrent's metadata (raw info dict), once known. A class used (wrongly) for several torrents has its
   * metadata only on wires of the torrent it belongs to: it is never served or returned for another info-hash.
   */
  get metadata (): Uint8Array | null {
    return this.shared.hash !== null && this.shared.hash === this.wire.infoHash ? this.shared.metadata : null
  }

  /** True while a fetch runs on this wire. */
  get fetching (): boolean {
    return this.fetchState !== null
  }

  /**
   * Fetches the metadata from this peer; resolves with the verified raw info dict. Rejects with a
   * WasmTorrentError: ERR_METADATA_UNSUPPORTED, ERR_METADATA_SIZE, ERR_METADATA_REJECTED, ERR_METADATA_TIMEOUT,
   * ERR_METADATA_HASH, ERR_METADATA_TOTAL_SIZE, ERR_METADATA_PIECE_LENGTH, ERR_METADATA_CANCELLED, or the
   * wire's close reason (ERR_WIRE_CLOSED for a clean close). Resolves at once if the metadata is known.
   */
  fetch (): Promise<Uint8Array> {
    if (this.metadata !== null) return Promise.resolve(this.metadata)
    if (this.fetchState !== null) return this.fetchState.promise
    if (this.wire.destroyed) return Promise.reject(this.closedError())
    if (this.badSource !== null) return Promise.reject(this.badSource)
    let resolve!: (m: Uint8Array) => void
    let reject!: (e: WasmTorrentError) => void
    const promise = new Promise<Uint8Array>((res, rej) => { resolve = res; reject = rej })
    // Failures are also emitted as 'warning': a caller that drops the promise must not get an unhandled
    // rejection (which would end a Node process). Awaiting it still throws.
    promise.catch(() => {})
    this.fetchState = {
      size: 0, count: 0, pieces: [], received: 0, next: 0, outstanding: new Set(), timer: null, started: false,
      promise, resolve, reject
    }
    this.armTimer()
    if (this.peerUnsupported) {
      this.failFetch(new WasmTorrentError('ERR_METADATA_UNSUPPORTED', 'the peer does not support ut_metadata'))
    } else if (this.peerHandshakeSeen) {
      this.startFetch()
    }
    return promise
  }

  /** Stops a running fetch (it rejects with ERR_METADATA_CANCELLED); late pieces are dropped. */
  cancel (): void {
    if (this.fetchState !== null) this.failFetch(new WasmTorrentError('ERR_METADATA_CANCELLED', 'fetch cancelled'), false, false)
  }

  /**
   * Sets the torrent's metadata from this wire (for every wire of this class, see UtMetadataClass). Checks it
   * against the wire's info-hash when known: a mismatch throws ERR_METADATA_HASH.
   */
  setMetadata (metadata: Uint8Array): void {
    checkMetadata(metadata)
    if (this.wire.infoHash !== null && sha1.hex(metadata) !== this.wire.infoHash) {
      throw new WasmTorrentError('ERR_METADATA_HASH', 'metadata does not match the info-hash')
    }
    setShared(this.shared, metadata)
  }

  // ------------------------------------------------------------------ WireExtension hooks

  onExtendedHandshake (hs: ExtendedHandshake): void {
    this.peerHandshakeSeen = true
    this.peerUnsupported = false
    const size: unknown = hs.metadata_size
    this.peerMetadataSize = null
    if (size === undefined) this.peerSizeError = 'the peer does not announce metadata_size'
    else if (typeof size !== 'number' || !Number.isInteger(size)) this.peerSizeError = 'metadata_size is not an integer'
    else if (size <= 0) this.peerSizeError = `metadata_size ${size} is not positive`
    else if (size > this.shared.maxSize) this.peerSizeError = `metadata_size ${size} is over the ${this.shared.maxSize}-byte limit`
    else {
      this.peerSizeError = null
      this.peerMetadataSize = size
    }
    const st = this.fetchState
    if (st !== null && !st.started) this.startFetch()
  }

  onMessage (payload: Uint8Array): void {
    if (payload.length > MAX_METADATA_MESSAGE) {
      // Thrown inside the wire's message handler: the wire closes with this error (nothing escapes it).
      throw new WireProtocolError('ERR_METADATA_MESSAGE_TOO_LARGE', `ut_metadata message of ${payload.length} bytes`)
    }
    let dict: Record<string, unknown>
    let used: number
    try {
      const res = bencode.decodePrefix(payload, { maxDepth: 4, maxTokens: 200 })
      if (typeof res.value !== 'object' || res.value === null || Array.isArray(res.value) || res.value instanceof Uint8Array) {
        throw new Error('not a dictionary')
      }
      dict = res.value as Record<string, unknown>
      used = res.used
    } catch (err) {
      throw new WireProtocolError('ERR_METADATA_INVALID_MESSAGE', 'undecodable ut_metadata message: ' + (err as Error).message)
    }
    const type = dict.msg_type
    const piece = dict.piece
    if (typeof type !== 'number' || typeof piece !== 'number' || !Number.isInteger(type) || !Number.isInteger(piece)) {
      throw new WireProtocolError('ERR_METADATA_INVALID_MESSAGE', 'ut_metadata message without integer msg_type and piece')
    }
    if (type === MSG_REQUEST) this.onRequest(piece)
    else if (type === MSG_DATA) this.onData(piece, dict.total_size, payload.subarray(used))
    else if (type === MSG_REJECT) this.onReject(piece)
    // other msg_type values: ignored (BEP 9)
  }

  onClose (): void {
    this.shared.instances.delete(this)
    if (this.serveTimer !== null) clearTimeout(this.serveTimer)
    this.serveTimer = null
    this.serveQueue.length = 0
    if (this.fetchState !== null) this.failFetch(this.closedError(), false, false)
  }

  /** @internal the torrent's metadata became known (from this or another wire, or the caller). */
  onSharedMetadata (metadata: Uint8Array): void {
    if (!this.wire.destroyed) this.wire.extendedHandshake.metadata_size ??= metadata.length
    const st = this.fetchState
    if (st === null || this.metadata !== metadata) return
    this.endFetch(st)
    st.resolve(metadata)
  }

  // ------------------------------------------------------------------ fetching

  private markUnsupported (): void {
    if (this.peerHandshakeSeen) return
    this.peerUnsupported = true
    if (this.fetchState !== null) {
      this.failFetch(new WasmTorrentError('ERR_METADATA_UNSUPPORTED', 'the peer does not support ut_metadata'))
    }
  }

  private startFetch (): void {
    const st = this.fetchState!
    if (this.peerMetadataSize === null) {
      this.failFetch(new WasmTorrentError('ERR_METADATA_SIZE', 'not a metadata source: ' + this.peerSizeError))
      return
    }
    st.size = this.peerMetadataSize
    st.count = Math.ceil(st.size / METADATA_PIECE_SIZE)
    st.pieces = new Array(st.count)
    st.started = true
    this.armTimer()
    this.requestMore(st)
  }

  private requestMore (st: FetchState): void {
    while (st.outstanding.size < MAX_OUTSTANDING && st.next < st.count) {
      const piece = st.next++
      st.outstanding.add(piece)
      this.wire.extended('ut_metadata', { msg_type: MSG_REQUEST, piece })
    }
  }

  private onData (piece: number, totalSize: unknown, data: Uint8Array): void {
    const st = this.fetchState
    if (st === null || !st.started || !st.outstanding.has(piece)) return // unrequested, out of range or late: drop
    if (totalSize !== st.size) {
      this.failFetch(new WireProtocolError('ERR_METADATA_TOTAL_SIZE',
        `total_size ${String(totalSize)} disagrees with metadata_size ${st.size}`), true)
      return
    }
    const expected = piece === st.count - 1 ? st.size - piece * METADATA_PIECE_SIZE : METADATA_PIECE_SIZE
    if (data.length !== expected) {
      this.failFetch(new WireProtocolError('ERR_METADATA_PIECE_LENGTH',
        `metadata piece ${piece} has ${data.length} bytes, expected ${expected}`), true)
      return
    }
    st.outstanding.delete(piece)
    st.pieces[piece] = data.slice()
    st.received++
    this.armTimer()
    if (st.received < st.count) {
      this.requestMore(st)
      return
    }
    const metadata = new Uint8Array(st.size)
    for (let i = 0; i < st.count; i++) metadata.set(st.pieces[i]!, i * METADATA_PIECE_SIZE)
    if (sha1.hex(metadata) !== this.wire.infoHash) {
      this.failFetch(new WasmTorrentError('ERR_METADATA_HASH', 'the metadata from this peer does not match the info-hash'), true)
      return
    }
    this.endFetch(st)
    this.emit('metadata', metadata)
    setShared(this.shared, metadata)
    st.resolve(metadata)
  }

  private onReject (piece: number): void {
    const st = this.fetchState
    if (st === null || !st.started || !st.outstanding.has(piece)) return
    this.failFetch(new WasmTorrentError('ERR_METADATA_REJECTED', `the peer rejected metadata piece ${piece}`))
  }

  private armTimer (): void {
    const st = this.fetchState
    if (st === null) return
    if (st.timer !== null) clearTimeout(st.timer)
    st.timer = setTimeout(() => {
      if (this.fetchState === st) this.failFetch(new WasmTorrentError('ERR_METADATA_TIMEOUT', 'no metadata from the peer in time'))
    }, this.shared.timeout)
  }

  private endFetch (st: FetchState): void {
    if (st.timer !== null) clearTimeout(st.timer)
    st.timer = null
    st.outstanding.clear()
    if (this.fetchState === st) this.fetchState = null
  }

  private failFetch (err: WasmTorrentError, bad = false, warn = true): void {
    const st = this.fetchState
    if (st === null) return
    this.endFetch(st)
    if (bad) this.badSource = err
    if (warn) this.emit('warning', err)
    st.reject(err)
  }

  private closedError (): WasmTorrentError {
    const reason = this.wire.closeReason
    return reason instanceof WasmTorrentError ? reason : new WasmTorrentError('ERR_WIRE_CLOSED', 'wire closed')
  }

  // ------------------------------------------------------------------ serving

  private onRequest (piece: number): void {
    const md = this.metadata
    if (md === null || piece < 0 || piece >= Math.ceil(md.length / METADATA_PIECE_SIZE)) {
      this.sendReject(piece)
      return
    }
    this.refill()
    if (this.tokens >= 1 && this.serveQueue.length === 0) {
      this.tokens--
      this.sendPiece(piece)
    } else if (this.serveQueue.length < SERVE_QUEUE) {
      this.serveQueue.push(piece)
      this.scheduleServe()
    } else {
      this.sendReject(piece)
    }
  }

  private refill (): void {
    const now = Date.now()
    this.tokens = Math.min(SERVE_BURST, this.tokens + (now - this.tokensAt) * SERVE_RATE / 1000)
    this.tokensAt = now
  }

  private scheduleServe (): void {
    if (this.serveTimer !== null) return
    const wait = Math.max(1, Math.ceil((1 - this.tokens) * 1000 / SERVE_RATE))
    this.serveTimer = setTimeout(() => {
      this.serveTimer = null
      if (this.wire.destroyed) return
      this.refill()
      while (this.tokens >= 1 && this.serveQueue.length > 0) {
        this.tokens--
        this.sendPiece(this.serveQueue.shift()!)
      }
      if (this.serveQueue.length > 0) this.scheduleServe()
    }, wait)
  }

  private sendPiece (piece: number): void {
    const md = this.metadata!
    const data = md.subarray(piece * METADATA_PIECE_SIZE, Math.min(md.length, (piece + 1) * METADATA_PIECE_SIZE))
    const head = bencode.encode({ msg_type: MSG_DATA, piece, total_size: md.length })
    const msg = new Uint8Array(head.length + data.length)
    msg.set(head)
    msg.set(data, head.length)
    if (this.wire.extended('ut_metadata', msg)) this.served++
  }

  private sendReject (piece: number): void {
    this.wire.extended('ut_metadata', { msg_type: MSG_REJECT, piece })
  }
}
UtMetadata.prototype.name = 'ut_metadata'
