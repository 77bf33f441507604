/**
 * One peer connection's BitTorrent protocol state machine (BEP 3 with BEP 6 fast extension and BEP 10
 * extension protocol) over any duplex byte stream: a TCP or uTP socket, later a WebRTC data channel.
 *
 * Names are symmetric: choke() sends, 'choke' is received, amChoking / peerChoking are the states.
 * Incoming bytes go through the WASM framer (wire-codec/framer.ts) in batches; outgoing messages produced in
 * one turn of the event loop are coalesced into one write, with runs of requests/cancels/rejects/haves
 * encoded by one kernel call each.
 *
 * Protocol violations (bad-input cases 14-22) destroy the wire with a WireProtocolError whose `code` says
 * why; it is emitted as 'close' (err), kept in `closeReason`, and never thrown into the event loop.
 */
import { Emitter } from '../util/emitter.js'
import { WasmTorrentError, WireProtocolError } from '../errors.js'
import { bencode } from '../bencode/index.js'
import { Bitfield } from '../bitfield/index.js'
import { toHex } from '../sha1/index.js'
import {
  Framer, decodeHandshake, decodeReserved, encodeHandshake, encodeReserved, HANDSHAKE_LENGTH,
  encodeKeepAlive, encodeChoke, encodeUnchoke, encodeInterested, encodeNotInterested, encodeBitfield,
  encodePieceHeader, encodePort, encodeSuggest, encodeHaveAll, encodeHaveNone, encodeAllowedFast,
  encodeExtended
} from '../wire-codec/index.js'
import { Outbox, RUN_CANCEL, RUN_HAVE, RUN_REJECT, RUN_REQUEST } from './outbox.js'
import type { ExtendedHandshake, WireExtension, WireExtensionClass } from './extension.js'
import { RequestTable, type PendingRequest, type RequestCallback } from './requests.js'
import { MAX_BAD_REQUESTS, PeerRequests } from './peer-requests.js'
import { SpeedMeter } from './speed.js'
import { addTickable, removeTickable } from './ticker.js'
import type { BlockSink, ByteStream, WireEvents, WireOptions, WireType } from './types.js'
import { fromHexOrBytes } from './util.js'
import { ipToBytes } from '../util/ip.js'

// libtorrent defaults: handshake_timeout 10 s, peer_timeout 120 s, request_timeout 60 s.
const DEFAULT_HANDSHAKE_TIMEOUT = 10_000
const DEFAULT_INACTIVITY_TIMEOUT = 120_000
const DEFAULT_REQUEST_TIMEOUT = 60_000
// Send a keep-alive after 60 s without sending anything (BEP 3: peers drop after ~2 minutes of silence).
const DEFAULT_KEEP_ALIVE_INTERVAL = 60_000
// libtorrent's max_allowed_in_request_queue: requests a peer may have outstanding with us.
const DEFAULT_MAX_PEER_REQUESTS = 500
// Largest block a peer may request. 16 KiB is the norm; some clients used 32-128 KiB blocks long ago.
const MAX_REQUEST_LENGTH = 128 * 1024
// Availability messages (haves, bitfield) kept while the piece count is unknown (magnet before metadata);
// BEP 3 puts at most one have per piece, so a peer that sends more than this is ignored past it.
const MAX_EARLY_HAVES = 65_536
export type { WireType, WireOptions, ByteStream } from './types.js'

export class Wire extends Emitter<WireEvents> {
  readonly type: WireType
  readonly remoteAddress: string | undefined
  readonly remotePort: number | undefined

  amChoking = true
  amInterested = false
  peerChoking = true
  peerInterested = false

  /** Hex info-hash once either side's handshake is known. */
  infoHash: string | null = null
  /** Hex peer id of the remote side, after its handshake. */
  peerId: string | null = null
  peerIdBytes: Uint8Array | null = null
  peerExtensions = { extended: false, fast: false, dht: false }
  /** Both sides announced BEP 6. */
  hasFast = false
  /** Both sides announced BEP 10. */
  hasExtended = false

  /** Our BEP 10 handshake, sent once both handshakes are done; extensions add fields in their constructors. */
  readonly extendedHandshake: ExtendedHandshake
  peerExtendedHandshake: ExtendedHandshake = {}
  /** Extension name -> the id the peer wants it sent with. */
  peerExtendedMapping: Record<string, number> = {}
  /** Our id -> extension name. */
  readonly extendedMapping: Record<number, string> = {}
  readonly extensions: Record<string, WireExtension> = {}

  /** What the peer has; null until the piece count is known (see setPieces). */
  peerPieces: Bitfield | null = null
  /** Piece indexes the peer lets us request while it chokes us (BEP 6). */
  readonly peerAllowedFast = new Set<number>()
  /** Piece indexes we let the peer request while we choke it. */
  readonly allowedFast = new Set<number>()

  /** Piece payload bytes received for our requests / sent for the peer's. */
  downloaded = 0
  uploaded = 0
  /** All bytes received / sent, protocol overhead included. */
  bytesReceived = 0
  get bytesSent (): number { return this.out.bytesSent }
  /**
   * Set by the owner of this wire's downloads (the engine) to receive blocks straight into its buffers (see
   * BlockSink). Then the blocks given to request callbacks and 'piece' listeners are views of its buffers,
   * valid during the call.
   */
  blockSink: BlockSink | null = null
  /** The buffer the sink gave for the block being received (see pieceTarget). */
  private sinkTarget: Uint8Array | null = null
  /** Why the wire closed (a WasmTorrentError with a code), or null while open or for a clean close. */
  closeReason: Error | null = null
  destroyed = false

  private readonly stream: ByteStream
  private readonly opts: Required<Pick<WireOptions, 'handshakeTimeout' | 'inactivityTimeout' | 'requestTimeout' |
    'keepAliveInterval' | 'maxPeerRequests'>>
  private readonly framer: Framer
  private readonly requestTable = new RequestTable()
  private readonly downloadMeter = new SpeedMeter()
  private readonly uploadMeter = new SpeedMeter()
  private pieces = -1
  private handshakeSent = false
  private peerHandshakeReceived = false
  private extendedHandshakeSent = false
  /** afterHandshakes ran ('ready' was emitted). */
  private handshakesDone = false
  /** Inside readHandshake: our handshake sent from a 'handshake' listener waits for the extensions' hooks. */
  private readingHandshake = false
  private ourFlags = { extended: true, fast: true, dht: false }
  private hsBuffer: Uint8Array | null = null
  private readonly created = Date.now()
  private lastReceived = Date.now()
  private nextExtId = 1
  private availabilitySeen = false
  private earlyBitfield: Uint8Array | null = null
  private earlyHaves: number[] = []
  private earlyHaveAll = false
  /** The peer's requests not answered yet (peer-requests.ts). */
  private readonly peerRequests = new PeerRequests()
  /** Outgoing messages, batched and coalesced per turn (outbox.ts). */
  private readonly out: Outbox

  constructor (stream: ByteStream, opts: WireOptions = {}) {
    super()
    this.stream = stream
    this.out = new Outbox(stream)
    this.type = opts.type ?? 'tcpOutgoing'
    this.remoteAddress = opts.remoteAddress ?? stream.remoteAddress
    this.remotePort = opts.remotePort ?? stream.remotePort
    this.opts = {
      handshakeTimeout: opts.handshakeTimeout ?? DEFAULT_HANDSHAKE_TIMEOUT,
      inactivityTimeout: opts.inactivityTimeout ?? DEFAULT_INACTIVITY_TIMEOUT,
      requestTimeout: opts.requestTimeout ?? DEFAULT_REQUEST_TIMEOUT,
      keepAliveInterval: opts.keepAliveInterval ?? DEFAULT_KEEP_ALIVE_INTERVAL,
      maxPeerRequests: opts.maxPeerRequests ?? DEFAULT_MAX_PEER_REQUESTS
    }
    this.extendedHandshake = { m: {}, v: opts.clientVersion ?? 'wasmtorrent', reqq: this.opts.maxPeerRequests }
    if (opts.listenPort) this.extendedHandshake.p = opts.listenPort
    const yourip = this.remoteAddress ? ipToBytes(this.remoteAddress) : null
    if (yourip) this.extendedHandshake.yourip = yourip
    // Blocks are views of the socket's read buffers when those are fresh per read (Node's default); a
    // stream that reuses one read buffer (transientChunks) needs them copied out.
    this.framer = new Framer(this, { copy: stream.transientChunks === true })
    if (opts.pieces !== undefined) this.setPieces(opts.pieces)
    stream.on('data', (chunk: Uint8Array) => this.onData(chunk))
    stream.on('drain', () => this.emit('drain'))
    stream.on('end', () => this.destroy())
    stream.on('close', () => this.destroy())
    stream.on('error', (err: Error) => this.destroy(new WasmTorrentError('ERR_WIRE_STREAM', err.message, { cause: err })))
    addTickable(this)
  }

  // ------------------------------------------------------------------ setup

  /** Installs a BEP 10 extension (see extension.ts). Call before the handshakes complete. */
  use (Ext: WireExtensionClass): WireExtension {
    const name = Ext.prototype.name
    if (typeof name !== 'string' || name === '') {
      throw new WasmTorrentError('ERR_WIRE_EXTENSION', 'an extension class needs a name on its prototype')
    }
    const id = this.nextExtId++
    this.extendedMapping[id] = name
    this.extendedHandshake.m![name] = id
    const ext = new Ext(this)
    this.extensions[name] = ext
    return ext
  }

  /**
   * Sets the piece count once known (at once for a .torrent, after metadata for a magnet). Builds peerPieces
   * from what the peer announced meanwhile, and validates it: a wrong-length bitfield or an out-of-range have
   * is a violation (cases 17, 18).
   */
  setPieces (n: number): void {
    if (this.pieces >= 0 || this.destroyed) return
    this.pieces = n
    this.framer.setPieces(n)
    try {
      const bf = this.earlyBitfield ? Bitfield.from(this.earlyBitfield, n) : new Bitfield(n)
      this.peerPieces = bf
      if (this.earlyHaveAll) bf.setAll()
      for (const i of this.earlyHaves) {
        if (i >= n) throw new WireProtocolError('ERR_WIRE_HAVE_INDEX', `have for piece ${i} of ${n}`)
        bf.set(i)
      }
    } catch (err) {
      this.destroy(err as Error)
    }
    this.earlyBitfield = null
    this.earlyHaves = []
  }

  get pieceCount (): number {
    return this.pieces
  }

  // ------------------------------------------------------------------ sending

  /** Sends our BitTorrent handshake. `flags` defaults to extension protocol and fast extension on. */
  handshake (infoHash: string | Uint8Array, peerId: string | Uint8Array, flags?: { extended?: boolean, fast?: boolean, dht?: boolean }): void {
    if (this.handshakeSent || this.destroyed) return
    const ih = fromHexOrBytes(infoHash, 'infoHash')
    const hex = toHex(ih)
    if (this.infoHash !== null && this.infoHash !== hex) {
      this.destroy(new WireProtocolError('ERR_WIRE_INFO_HASH', 'handshake for a different torrent'))
      return
    }
    this.infoHash = hex
    this.ourFlags = { extended: flags?.extended ?? true, fast: flags?.fast ?? true, dht: flags?.dht ?? false }
    this.handshakeSent = true
    this.push(encodeHandshake(ih, fromHexOrBytes(peerId, 'peerId'), encodeReserved(this.ourFlags)))
    if (this.peerHandshakeReceived && !this.readingHandshake) this.afterHandshakes()
  }

  choke (): void {
    if (this.amChoking || this.destroyed) return
    this.amChoking = true
    this.push(encodeChoke())
    // Without BEP 6 the peer drops its requests on a choke; with it we must reject each (except allowed fast).
    this.peerRequests.choke(this.allowedFast, (index, begin, length) => {
      if (this.hasFast) this.queueTriple(RUN_REJECT, index, begin, length)
    })
  }

  unchoke (): void {
    if (!this.amChoking || this.destroyed) return
    this.amChoking = false
    this.push(encodeUnchoke())
  }

  interested (): void {
    if (this.amInterested || this.destroyed) return
    this.amInterested = true
    this.push(encodeInterested())
  }

  uninterested (): void {
    if (!this.amInterested || this.destroyed) return
    this.amInterested = false
    this.push(encodeNotInterested())
  }

  have (index: number): void {
    this.queueTriple(RUN_HAVE, index, 0, 0)
  }

  /** Sends our bitfield (a Bitfield or its BEP 3 bytes). */
  bitfield (bf: Bitfield | Uint8Array): void {
    this.push(encodeBitfield(bf instanceof Uint8Array ? bf : bf.toBytes()))
  }

  haveAll (): void {
    if (this.requireFastToSend()) this.push(encodeHaveAll())
  }

  haveNone (): void {
    if (this.requireFastToSend()) this.push(encodeHaveNone())
  }

  /**
   * Requests a block. Returns false (nothing sent, callback not called) when the peer chokes us and the piece
   * is not allowed-fast, or the same block is already requested on this wire. The callback gets the block,
   * or an error with code ERR_WIRE_CHOKED / ERR_WIRE_REJECTED / ERR_WIRE_CANCELLED / ERR_WIRE_REQUEST_TIMEOUT /
   * ERR_WIRE_CLOSED.
   */
  request (index: number, begin: number, length: number, callback?: RequestCallback): boolean {
    if (this.destroyed) return false
    if (this.peerChoking && !(this.hasFast && this.peerAllowedFast.has(index))) return false
    if (!this.requestTable.add({ index, begin, length, time: Date.now(), callback })) return false
    this.queueTriple(RUN_REQUEST, index, begin, length)
    return true
  }

  /** Cancels a pending request: its callback gets ERR_WIRE_CANCELLED; a late block is dropped quietly. */
  cancel (index: number, begin: number, length: number): void {
    const req = this.requestTable.abandon(index, begin, Date.now())
    if (req === undefined) return
    this.queueTriple(RUN_CANCEL, index, begin, length)
    req.callback?.(new WasmTorrentError('ERR_WIRE_CANCELLED', 'request cancelled'))
  }

  /** Sends a block the peer requested (normally through the respond callback of a 'request' event). */
  piece (index: number, begin: number, block: Uint8Array): void {
    if (this.destroyed) return
    this.out.push(encodePieceHeader(index, begin, block.length), block)
    this.uploaded += block.length
    this.uploadMeter.add(block.length)
    this.emit('upload', block.length)
  }

  reject (index: number, begin: number, length: number): void {
    if (this.hasFast) this.queueTriple(RUN_REJECT, index, begin, length)
  }

  suggest (index: number): void {
    if (this.requireFastToSend()) this.push(encodeSuggest(index))
  }

  /** Lets the peer request `index` while we choke it (BEP 6). */
  allowFast (index: number): void {
    if (!this.requireFastToSend()) return
    this.allowedFast.add(index)
    this.push(encodeAllowedFast(index))
  }

  /** BEP 5: our DHT port. */
  port (port: number): void {
    this.push(encodePort(port))
  }

  keepAlive (): void {
    this.push(encodeKeepAlive())
  }

  /**
   * Sends an extended message to the extension `name` (or raw extended id). `payload` is bytes or a value to
   * bencode. Returns false when the peer does not support that extension.
   */
  extended (name: string | number, payload: Uint8Array | object): boolean {
    if (this.destroyed) return false
    const id = typeof name === 'number' ? name : this.peerExtendedMapping[name]
    if (id === undefined || (typeof name !== 'number' && id === 0)) return false
    const bytes = payload instanceof Uint8Array ? payload : bencode.encode(payload)
    this.push(encodeExtended(id, bytes))
    return true
  }

  /** Number of our requests awaiting an answer. */
  get requestCount (): number {
    return this.requestTable.size
  }

  /** Our pending requests, oldest first. */
  get requests (): IterableIterator<PendingRequest> {
    return this.requestTable.pending.values()
  }

  /** Number of the peer's requests we have not answered. */
  get peerRequestCount (): number {
    return this.peerRequests.size
  }

  downloadSpeed (): number {
    return this.downloadMeter.rate()
  }

  uploadSpeed (): number {
    return this.uploadMeter.rate()
  }

  /** Closes the connection. `err` (a coded WasmTorrentError) records why; omit it for a clean close. */
  destroy (err?: Error): void {
    if (this.destroyed) return
    this.destroyed = true
    this.closeReason = err ?? null
    removeTickable(this)
    this.requestTable.failAll(new WasmTorrentError('ERR_WIRE_CLOSED', 'wire closed'))
    this.peerRequests.clear()
    for (const name in this.extensions) this.extensions[name].onClose?.()
    try {
      this.out.flush()
    } catch {
      // the stream may already be gone
    }
    this.stream.destroy()
    // Listeners of 'close' may still read peerPieces (to subtract it from availability): free it after.
    try {
      this.emit('close', err)
    } finally {
      this.framer.dispose()
      this.peerPieces?.destroy()
    }
  }

  // ------------------------------------------------------------------ output coalescing

  private push (bytes: Uint8Array): void {
    if (!this.destroyed) this.out.push(bytes)
  }

  /** kind: RUN_HAVE, RUN_REQUEST, RUN_CANCEL or RUN_REJECT (outbox.ts). */
  private queueTriple (kind: number, a: number, b: number, c: number): void {
    if (!this.destroyed) this.out.queue(kind, a, b, c)
  }

  private requireFastToSend (): boolean {
    return this.hasFast && !this.destroyed
  }

  // ------------------------------------------------------------------ receiving

  private onData (chunk: Uint8Array): void {
    if (this.destroyed) return
    this.bytesReceived += chunk.length
    this.lastReceived = Date.now()
    try {
      if (!this.peerHandshakeReceived) {
        chunk = this.readHandshake(chunk)
        if (chunk.length === 0 || this.destroyed) return
      }
      this.framer.push(chunk)
    } catch (err) {
      this.destroy(err instanceof WasmTorrentError ? err : new WasmTorrentError('ERR_WIRE_HANDLER', String(err), { cause: err }))
    }
  }

  /** Consumes handshake bytes; returns what follows the handshake (empty while it is incomplete). */
  private readHandshake (chunk: Uint8Array): Uint8Array {
    let buf = chunk
    if (this.hsBuffer !== null) {
      buf = new Uint8Array(this.hsBuffer.length + chunk.length)
      buf.set(this.hsBuffer)
      buf.set(chunk, this.hsBuffer.length)
    }
    const res = decodeHandshake(buf)
    if (res === null) {
      this.hsBuffer = buf.slice()
      return new Uint8Array(0)
    }
    this.hsBuffer = null
    const { infoHash, peerId, reserved } = res.msg
    const ih = toHex(infoHash)
    if (this.infoHash !== null && ih !== this.infoHash) {
      throw new WireProtocolError('ERR_WIRE_INFO_HASH', 'peer handshake names a different torrent')
    }
    this.infoHash = ih
    this.peerIdBytes = peerId // a copy (decodeHandshake): the chunk may be a reused read buffer
    this.peerId = toHex(peerId)
    this.peerExtensions = decodeReserved(reserved)
    this.peerHandshakeReceived = true
    this.readingHandshake = true
    try {
      this.emit('handshake', ih, this.peerId, this.peerExtensions)
      for (const name in this.extensions) this.extensions[name].onHandshake?.(ih, this.peerId, this.peerExtensions)
    } finally {
      this.readingHandshake = false
    }
    if (this.handshakeSent && !this.destroyed) this.afterHandshakes()
    return buf.subarray(HANDSHAKE_LENGTH)
  }

  private afterHandshakes (): void {
    if (this.handshakesDone) return
    this.handshakesDone = true
    this.hasFast = this.ourFlags.fast && this.peerExtensions.fast
    this.hasExtended = this.ourFlags.extended && this.peerExtensions.extended
    if (this.hasExtended && !this.extendedHandshakeSent) {
      this.extendedHandshakeSent = true
      this.push(encodeExtended(0, bencode.encode(this.extendedHandshake)))
    }
    this.emit('ready')
  }

  private violation (code: string, message: string): never {
    throw new WireProtocolError(code, message)
  }

  private requireFast (what: string): void {
    if (!this.hasFast) this.violation('ERR_WIRE_FAST_NOT_NEGOTIATED', `${what} without the fast extension (BEP 6)`)
  }

  // FrameHandler: called by the framer, in stream order.

  onKeepAlive (): void {
    this.emit('keep-alive')
  }

  onChoke (): void {
    this.peerChoking = true
    if (!this.hasFast) {
      this.requestTable.failAll(new WasmTorrentError('ERR_WIRE_CHOKED', 'peer choked us'))
    }
    this.emit('choke')
  }

  onUnchoke (): void {
    this.peerChoking = false
    this.emit('unchoke')
  }

  onInterested (): void {
    this.peerInterested = true
    this.emit('interested')
  }

  onNotInterested (): void {
    this.peerInterested = false
    this.emit('uninterested')
  }

  onHave (index: number): void {
    this.availabilitySeen = true
    const bf = this.peerPieces
    if (bf === null) {
      if (this.earlyHaves.length < MAX_EARLY_HAVES) this.earlyHaves.push(index)
      return
    }
    if (index >= this.pieces) this.violation('ERR_WIRE_HAVE_INDEX', `have for piece ${index} of ${this.pieces}`)
    if (bf.get(index)) return
    bf.set(index)
    this.emit('have', index)
  }

  /*
   * A bitfield, have all or have none is meant to be the first message after the handshakes. aria2 1.36 sends
   * a bitfield (or a have all) later, in place of a run of haves, after its have none; libtorrent accepts a late
   * bitfield too. So a late bitfield / have all adds the pieces it names as haves ('have' events: pieces are
   * never taken back, only lt_donthave does that), and a late have none says nothing new.
   */

  onBitfield (bytes: Uint8Array): void {
    const late = this.availabilitySeen
    this.availabilitySeen = true
    if (this.pieces < 0) {
      if (!late || this.earlyBitfield === null) this.earlyBitfield = bytes.slice()
      else for (let i = 0; i < Math.min(bytes.length, this.earlyBitfield.length); i++) this.earlyBitfield[i] |= bytes[i]
      return
    }
    const bf = Bitfield.from(bytes, this.pieces) // wrong length or spare bits: a violation (case 17)
    if (late && this.peerPieces !== null) {
      bf.destroy()
      for (let i = 0; i < this.pieces; i++) if ((bytes[i >> 3] & (0x80 >> (i & 7))) !== 0) this.onHave(i)
      return
    }
    this.peerPieces?.destroy()
    this.peerPieces = bf
    this.emit('bitfield', bf)
  }

  onHaveAll (): void {
    this.requireFast('have all')
    const late = this.availabilitySeen
    this.availabilitySeen = true
    if (this.peerPieces === null) this.earlyHaveAll = true
    else if (late) {
      for (let i = 0; i < this.pieces; i++) this.onHave(i)
      return
    } else this.peerPieces.setAll()
    this.emit('have-all')
  }

  onHaveNone (): void {
    this.requireFast('have none')
    const late = this.availabilitySeen
    this.availabilitySeen = true
    if (!late) this.emit('have-none')
  }

  onRequest (index: number, begin: number, length: number): void {
    const bad = length === 0 || length > MAX_REQUEST_LENGTH || (this.pieces >= 0 && index >= this.pieces)
    if (bad) return this.badRequest(index, begin, length)
    const choked = this.amChoking && !this.allowedFast.has(index)
    if (choked || this.peerRequests.size >= this.opts.maxPeerRequests || this.peerRequests.has(index, begin)) {
      // A request racing our choke is normal; with BEP 6 it must be answered with a reject.
      if (this.hasFast) this.queueTriple(RUN_REJECT, index, begin, length)
      return
    }
    this.peerRequests.add(index, begin, length)
    this.emit('request', index, begin, length, (err: Error | null, block?: Uint8Array) => {
      this.respond(index, begin, length, err, block)
    })
  }

  private respond (index: number, begin: number, length: number, err: Error | null, block?: Uint8Array): void {
    if (this.destroyed) return
    const owed = this.peerRequests.settle(index, begin)
    if (owed === 'nothing') return // choked meanwhile
    if (owed === 'reject') { // the peer cancelled it
      if (this.hasFast) this.queueTriple(RUN_REJECT, index, begin, length)
      return
    }
    if (err !== null || block === undefined) {
      // The engine refused it (a piece we lack, out of range): reject, and count it towards a disconnect.
      this.badRequest(index, begin, length)
      return
    }
    if (block.length !== length) {
      this.destroy(new WasmTorrentError('ERR_WIRE_BLOCK_LENGTH', `respond() with ${block.length} bytes for a ${length}-byte request`))
      return
    }
    this.piece(index, begin, block)
  }

  private badRequest (index: number, begin: number, length: number): void {
    if (this.hasFast) this.queueTriple(RUN_REJECT, index, begin, length)
    if (this.peerRequests.countBad()) {
      this.destroy(new WireProtocolError('ERR_WIRE_BAD_REQUESTS', `more than ${MAX_BAD_REQUESTS} invalid requests`))
    }
  }

  onCancel (index: number, begin: number, length: number): void {
    this.peerRequests.cancel(index, begin)
    this.emit('cancel', index, begin, length)
  }

  /** FrameHandler: a piece header arrived; the sink may take the block into its own buffer. */
  pieceTarget (index: number, begin: number, length: number): Uint8Array | null {
    const sink = this.blockSink
    if (sink === null || this.destroyed) return null
    const req = this.requestTable.peek(index, begin)
    if (req === undefined || req.length !== length) return null
    const t = sink.target(index, begin, length)
    this.sinkTarget = t
    return t
  }

  onPiece (index: number, begin: number, block: Uint8Array): void {
    const fromSink = block === this.sinkTarget
    this.sinkTarget = null
    const req = this.requestTable.take(index, begin)
    if (req === undefined) {
      // The request went away while the block was arriving (cancel, timeout, reject): the sink's bytes landed.
      if (fromSink) this.blockSink?.landed(index, begin, block)
      if (this.requestTable.takeAbandoned(index, begin)) return // late answer to a cancel or timeout
      if (this.hasFast) this.violation('ERR_WIRE_UNREQUESTED_PIECE', `unrequested block ${index}:${begin}`)
      return // without BEP 6 a cancel can race a piece: drop it, not counted as downloaded
    }
    if (block.length !== req.length) {
      this.violation('ERR_WIRE_BLOCK_LENGTH', `block ${index}:${begin} has ${block.length} bytes, requested ${req.length}`)
    }
    this.downloaded += block.length
    this.downloadMeter.add(block.length)
    this.emit('download', block.length)
    this.emit('piece', index, begin, block)
    req.callback?.(null, block)
  }

  onReject (index: number, begin: number, length: number): void {
    this.requireFast('reject')
    // A block cancelled and requested again is owed two answers; a reject most likely answers the cancel.
    if (this.requestTable.takeAbandoned(index, begin)) return
    const req = this.requestTable.take(index, begin)
    if (req === undefined) {
      this.violation('ERR_WIRE_UNSOLICITED_REJECT', `reject for block ${index}:${begin} we did not request`)
    }
    this.emit('reject', index, begin, length)
    req.callback?.(new WasmTorrentError('ERR_WIRE_REJECTED', 'peer rejected the request'))
  }

  onSuggest (index: number): void {
    this.requireFast('suggest')
    this.emit('suggest', index)
  }

  onAllowedFast (index: number): void {
    this.requireFast('allowed fast')
    if (this.pieces >= 0 && index >= this.pieces) return // ignore, as BEP 6 allows
    this.peerAllowedFast.add(index)
    this.emit('allowed-fast', index)
  }

  onPort (port: number): void {
    this.emit('port', port)
  }

  onExtended (extId: number, payload: Uint8Array): void {
    if (!this.hasExtended) this.violation('ERR_WIRE_EXTENDED_NOT_NEGOTIATED', 'extended message without BEP 10')
    if (extId === 0) return this.onExtendedHandshake(payload)
    const name = this.extendedMapping[extId]
    if (name === undefined) return // an id we never announced: ignore
    this.extensions[name].onMessage?.(payload)
    this.emit('extended', name, payload)
  }

  private onExtendedHandshake (payload: Uint8Array): void {
    let hs: unknown
    try {
      // Small limits: a handshake is a flat dict of a few keys.
      hs = bencode.decode(payload, { maxDepth: 4, maxTokens: 1000, copy: true })
    } catch (err) {
      this.violation('ERR_WIRE_EXTENDED_HANDSHAKE', 'undecodable extended handshake: ' + (err as Error).message)
    }
    if (typeof hs !== 'object' || hs === null || Array.isArray(hs) || hs instanceof Uint8Array) {
      this.violation('ERR_WIRE_EXTENDED_HANDSHAKE', 'extended handshake is not a dictionary')
    }
    const dict = hs as ExtendedHandshake
    const m = dict.m
    if (m !== undefined && typeof m === 'object' && m !== null && !Array.isArray(m) && !(m instanceof Uint8Array)) {
      for (const [name, id] of Object.entries(m)) {
        if (typeof id === 'number' && Number.isInteger(id) && id >= 0 && id <= 255) this.peerExtendedMapping[name] = id
      }
    }
    this.peerExtendedHandshake = dict
    for (const name in this.extensions) {
      if (this.peerExtendedMapping[name]) this.extensions[name].onExtendedHandshake?.(dict)
    }
    this.emit('extended', 'handshake', dict)
  }

  onUnknown (id: number): void {
    this.violation('ERR_WIRE_UNKNOWN_MESSAGE', `unknown message id ${id}`)
  }

  // ------------------------------------------------------------------ timers

  /** Called once a second by the shared ticker. */
  tick (now: number): void {
    if (this.destroyed) return
    if (!this.peerHandshakeReceived) {
      if (now - this.created >= this.opts.handshakeTimeout) {
        this.destroy(new WasmTorrentError('ERR_WIRE_HANDSHAKE_TIMEOUT', 'no handshake from the peer'))
      }
      return
    }
    if (now - this.lastReceived >= this.opts.inactivityTimeout) {
      this.destroy(new WasmTorrentError('ERR_WIRE_INACTIVE', 'nothing received from the peer'))
      return
    }
    for (const req of this.requestTable.expired(now, this.opts.requestTimeout)) {
      this.requestTable.abandon(req.index, req.begin, now)
      this.queueTriple(RUN_CANCEL, req.index, req.begin, req.length)
      req.callback?.(new WasmTorrentError('ERR_WIRE_REQUEST_TIMEOUT', 'request timed out'))
      this.emit('timeout', req.index, req.begin, req.length)
    }
    this.requestTable.prune(now, this.opts.requestTimeout)
    if (this.handshakeSent && now - this.out.lastSent >= this.opts.keepAliveInterval) this.keepAlive()
  }
}
