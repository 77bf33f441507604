/**
 * The download/upload engine of one torrent whose metadata is known, over the wires a transport hands it.
 *
 * - Availability and priorities live in WASM memory (bitfield/availability.ts); picks are kernel calls.
 * - Requests: 16 KiB blocks; a wire keeps a pipeline of outstanding requests sized from its measured rate
 *   (libtorrent's request_queue_time idea), capped by its `reqq`. Blocks come first from pieces this wire is
 *   already on, then from a new piece (rarest-first or sequential), then from pieces others started, then,
 *   once every missing block is requested (endgame), as duplicates, cancelled when the first copy arrives.
 * - Complete pieces are verified off the main thread (verifier seam), then written to the store; the
 *   senders of every block are kept so that a piece that fails and later passes bans the peers whose blocks
 *   differed (smart ban, bad-input case 29).
 * - Choking is done by choker.ts.
 */
import { Emitter } from '../util/emitter.js'
import { WasmTorrentError } from '../errors.js'
import { Bitfield, Availability } from '../bitfield/index.js'
import { ActivePiece, BLOCK_LENGTH, BLOCK_FREE, BLOCK_REQUESTED } from './piece-table.js'
import { Choker } from './choker.js'
import { SmartBan } from './smart-ban.js'
import { findHotswap, HOTSWAP_MIN_TAKER_SPEED } from './hotswap.js'
import { RateLimiter } from './throttle.js'
import { isUploadOnlyError } from '../storage/index.js'
import type { PieceVerifier } from './verifier.js'
import { checkPiece } from './piece-check.js'
import { PieceBuffers } from './piece-buffers.js'
import type { PieceStore, SwarmEvents, SwarmOptions, SwarmPeer } from './types.js'
import { createVerifier } from '#piece-verifier'

// Seconds of transfer a pipeline should cover at the peer's measured rate (libtorrent's request_queue_time).
const REQUEST_QUEUE_SECONDS = 3
// Pipeline bounds: at least enough to fill a fast link's first round trips; at most libtorrent's
// max_out_request_queue (500) and never more than the peer's reqq.
const MIN_PIPELINE = 16
const MAX_PIPELINE = 500
// Peers that do not send `reqq` are assumed to take 250 (libtorrent's default assumption).
const DEFAULT_PEER_REQQ = 250
// In endgame a block is requested from at most this many peers at once.
const ENDGAME_MAX_REQUESTERS = 2
// Bytes of complete pieces waiting for verification or the store before no new piece is started: memory stays
// bounded when the disk or the hashing threads are slower than the network (libtorrent's max_queued_disk_bytes).
const MAX_QUEUED_PIECE_BYTES = 16 * 1024 * 1024
// After a write fails for lack of space or permission, stay upload-only this long, then try again (case 30).
const WRITE_RETRY_MS = 30_000

interface PeerState {
  /** This wire's bitfield/have-all was added to availability. */
  counted: boolean
  haveAll: boolean
  /** A request timed out: keep one request in flight until a block arrives. */
  snubbed: boolean
}

export class Swarm extends Emitter<SwarmEvents> {
  readonly pieceCount: number
  readonly pieceLength: number
  readonly lastPieceLength: number
  readonly length: number
  /** Verified pieces. */
  readonly have: Bitfield
  readonly availability: Availability
  strategy: 'rarest' | 'sequential'
  /** Sequential cursor: the first piece the stream or sequential download still needs. */
  cursor = 0
  readonly wires = new Set<SwarmPeer>()
  downloaded = 0
  uploaded = 0
  /** Bytes received that were thrown away (hash failures, duplicates). */
  wasted = 0
  destroyed = false
  paused = false
  /** A write failed (full disk, no permission): downloading stops, uploading goes on, retried later. */
  uploadOnly: Error | null = null
  private uploadOnlyTimer: ReturnType<typeof setTimeout> | null = null

  private readonly hashes: Uint8Array
  private readonly store: PieceStore
  private readonly verifier: PieceVerifier
  /** Missing and selected: what we need. */
  private readonly needed: Bitfield
  /** Needed and not active: pieces a new request may start. */
  private readonly want: Bitfield
  private readonly active = new Map<number, ActivePiece>()
  private readonly peers = new Map<SwarmPeer, PeerState>()
  private readonly choker: Choker
  private readonly smartBan = new SmartBan()
  private readonly banned = new WeakSet<SwarmPeer>()
  private readonly buffers: PieceBuffers
  private fillScheduled = false
  private throttledFill = false
  /** Paces our requests (download) and our blocks sent (upload); children of the client's limiters. */
  readonly downloadLimiter: RateLimiter
  readonly uploadLimiter: RateLimiter
  private verifying = 0
  /** A priority above normal was ever set (critical / streaming): only then can a piece be urgent. */
  private urgentSet = false
  private wasDone = false

  constructor (opts: SwarmOptions) {
    super()
    this.pieceLength = opts.pieceLength
    this.buffers = new PieceBuffers(opts.pieceLength)
    this.length = opts.length
    this.pieceCount = Math.ceil(opts.length / opts.pieceLength)
    this.lastPieceLength = opts.length - (this.pieceCount - 1) * opts.pieceLength
    if (opts.pieceHashes.length !== this.pieceCount * 20) {
      throw new WasmTorrentError('ERR_SWARM_HASHES', `expected ${this.pieceCount} piece hashes`)
    }
    this.hashes = opts.pieceHashes
    this.store = opts.store
    this.verifier = opts.verifier ?? createVerifier()
    this.strategy = opts.strategy ?? 'rarest'
    this.have = opts.bitfield ? Bitfield.from(opts.bitfield, this.pieceCount) : new Bitfield(this.pieceCount)
    this.availability = new Availability(this.pieceCount)
    this.needed = new Bitfield(this.pieceCount)
    this.want = new Bitfield(this.pieceCount)
    if (opts.deselect === true) this.availability.setPriority(0, this.pieceCount, 0)
    this.recomputeNeeded()
    this.choker = new Choker(this, opts.uploads ?? 10)
    this.downloadLimiter = new RateLimiter(opts.downloadLimit ?? -1, opts.downloadParent ?? null)
    this.uploadLimiter = new RateLimiter(opts.uploadLimit ?? -1, opts.uploadParent ?? null)
    this.wasDone = this.needed.isEmpty()
    if (!this.wasDone) this.verifier.warm?.()
  }

  pieceLengthOf (index: number): number {
    return index === this.pieceCount - 1 ? this.lastPieceLength : this.pieceLength
  }

  /** Bytes of selected pieces still missing. */
  get missingBytes (): number {
    let n = this.needed.count() * this.pieceLength
    if (this.needed.get(this.pieceCount - 1)) n -= this.pieceLength - this.lastPieceLength
    return n
  }

  get done (): boolean {
    return this.needed.isEmpty()
  }

  // ------------------------------------------------------------------ selection

  /** Sets the priority of pieces [from, to] (inclusive, like webtorrent); 0 deselects. */
  select (from: number, to: number, priority = 1): void {
    if (priority > 1) this.urgentSet = true
    this.availability.setPriority(Math.max(0, from), Math.min(this.pieceCount, to + 1), Math.max(0, Math.min(255, priority)))
    this.recomputeNeeded()
    this.scheduleFill()
  }

  deselect (from: number, to: number): void {
    this.select(from, to, 0)
  }

  private recomputeNeeded (): void {
    for (let i = 0; i < this.pieceCount; i++) {
      const need = !this.have.get(i) && this.availability.getPriority(i) > 0
      this.needed.set(i, need)
      this.want.set(i, need && !this.active.has(i))
    }
    if (this.needed.isEmpty()) this.checkDone()
    else this.wasDone = false
    for (const w of this.wires) this.updateInterest(w)
  }

  // ------------------------------------------------------------------ wires

  /** Takes a wire whose handshake is done or in progress. The swarm sets its piece count. */
  addWire (wire: SwarmPeer): void {
    if (this.destroyed || this.peers.has(wire)) return
    wire.setPieces(this.pieceCount)
    const st: PeerState = { counted: false, haveAll: false, snubbed: false }
    this.peers.set(wire, st)
    this.wires.add(wire)
    wire.on('bitfield', () => { this.countPeer(wire, st); this.updateInterest(wire) })
    wire.on('have', (i: number) => {
      if (st.counted && !st.haveAll) this.availability.have(i)
      else this.countPeer(wire, st)
      if (this.needed.get(i)) this.updateInterest(wire)
    })
    wire.on('have-all', () => { st.haveAll = true; this.countPeer(wire, st); this.updateInterest(wire) })
    wire.on('unchoke', () => this.fill(wire))
    wire.on('allowed-fast', () => this.fill(wire))
    wire.on('request', (index: number, begin: number, length: number, respond: (e: Error | null, b?: Uint8Array) => void) => {
      this.onPeerRequest(index, begin, length, respond)
    })
    wire.on('upload', (n: number) => { this.uploaded += n; this.emit('upload', n) })
    wire.on('interested', () => this.choker.onInterested(wire))
    wire.on('uninterested', () => this.choker.onUninterested(wire))
    wire.on('timeout', () => { st.snubbed = true })
    wire.once('close', () => this.removeWire(wire))
    // Blocks from this wire land straight in their piece buffers (no intermediate copy or allocation).
    if ('blockSink' in wire) {
      wire.blockSink = {
        target: (index, begin, length) => this.active.get(index)?.writeTarget(wire, begin, length) ?? null,
        landed: (index, begin, data) => {
          const piece = this.active.get(index)
          if (piece !== undefined && piece.writers[begin / BLOCK_LENGTH] === wire) this.onBlock(wire, piece, begin / BLOCK_LENGTH, data)
        }
      }
    }
    const start = (): void => {
      if (wire.destroyed) return
      this.sendAvailability(wire)
      if (wire.peerPieces && !wire.peerPieces.isEmpty()) this.countPeer(wire, st)
      this.updateInterest(wire)
      this.choker.onWire(wire)
    }
    if (wire.hasExtended || wire.hasFast || wire.peerId !== null) start()
    else wire.once('ready', start)
    this.emit('wire', wire)
  }

  private countPeer (wire: SwarmPeer, st: PeerState): void {
    if (st.counted || wire.peerPieces === null) return
    st.counted = true
    if (st.haveAll) this.availability.haveAll()
    else this.availability.addPeer(wire.peerPieces)
  }

  private sendAvailability (wire: SwarmPeer): void {
    if (wire.hasFast && this.have.isEmpty()) wire.haveNone()
    else if (wire.hasFast && this.have.isFull()) wire.haveAll()
    else if (!this.have.isEmpty()) wire.bitfield(this.have)
  }

  private removeWire (wire: SwarmPeer): void {
    const st = this.peers.get(wire)
    if (!st) return
    this.peers.delete(wire)
    this.wires.delete(wire)
    if (st.counted && !this.destroyed) {
      if (st.haveAll) this.availability.removeHaveAll()
      else if (wire.peerPieces) this.availability.removePeer(wire.peerPieces)
    }
    for (const piece of this.active.values()) {
      for (let b = 0; b < piece.blockCount; b++) piece.unrequest(b, wire)
      piece.dropWriter(wire)
    }
    if ('blockSink' in wire) wire.blockSink = null
    this.choker.onClose(wire)
    this.scheduleFill()
  }

  /** Interested exactly when the peer has a piece we need. */
  private updateInterest (wire: SwarmPeer): void {
    if (wire.destroyed || wire.peerPieces === null || this.uploadOnly) return
    const has = this.peers.get(wire)?.haveAll === true ? !this.needed.isEmpty() : wire.peerPieces.firstAnd(this.needed) >= 0
    if (has && !wire.amInterested) wire.interested()
    else if (!has && wire.amInterested) wire.uninterested()
    if (has) this.fill(wire)
  }

  // ------------------------------------------------------------------ requesting

  private scheduleFill (): void {
    if (this.fillScheduled || this.destroyed) return
    this.fillScheduled = true
    queueMicrotask(() => {
      this.fillScheduled = false
      for (const w of this.wires) this.fill(w)
    })
  }

  private pipelineDepth (wire: SwarmPeer): number {
    if (this.peers.get(wire)?.snubbed) return 1
    const reqq = Number(wire.peerExtendedHandshake.reqq)
    const cap = Math.min(MAX_PIPELINE, reqq > 0 ? reqq : DEFAULT_PEER_REQQ)
    const byRate = Math.ceil(wire.downloadSpeed() * REQUEST_QUEUE_SECONDS / BLOCK_LENGTH)
    return Math.max(Math.min(MIN_PIPELINE, cap), Math.min(byRate, cap))
  }

  /** Tops up `wire`'s request pipeline. */
  fill (wire: SwarmPeer): void {
    if (this.destroyed || this.paused || this.uploadOnly || wire.destroyed || !wire.amInterested || wire.peerPieces === null) return
    if (wire.peerChoking && wire.peerAllowedFast.size === 0) return
    const target = this.pipelineDepth(wire)
    const peer = wire.peerPieces
    let guard = 0
    while (wire.requestCount < target && guard++ < 10_000) {
      const room = target - wire.requestCount
      if (this.requestFromActive(wire, room, true) > 0) continue
      // In order-sensitive modes a slow peer's earlier piece is taken before a new (later) piece is started.
      if (this.hotswap(wire, room, true) > 0) continue
      const queueFull = this.verifying * this.pieceLength > Math.max(MAX_QUEUED_PIECE_BYTES, 4 * this.pieceLength)
      const idx = queueFull ? -1 : this.pickNew(wire)
      if (idx >= 0) {
        this.requestBlocks(wire, this.activate(idx), room)
        continue
      }
      if (this.requestFromActive(wire, room, false) > 0) continue
      // Waiting for verification to catch up is not the end of the download: no hotswap, no endgame duplicates.
      if (queueFull) break
      if (this.hotswap(wire, room, false) > 0) continue
      if (this.endgame(wire, room) > 0) continue
      break
    }
    if (wire.requestCount === 0 && peer.firstAnd(this.needed) < 0 && wire.amInterested) wire.uninterested()
  }

  /** Requests up to `room` free blocks from active pieces the peer has (only those `wire` is on if `own`). */
  private requestFromActive (wire: SwarmPeer, room: number, own: boolean): number {
    let sent = 0
    for (const piece of this.active.values()) {
      if (sent >= room) break
      if (piece.free === 0 || !this.peerHas(wire, piece.index)) continue
      if (own !== piece.isRequestedBy(wire)) continue
      if (this.smartBan.suspects(piece.index, wire) && this.someoneElseHas(wire, piece.index)) continue
      if (wire.peerChoking && !wire.peerAllowedFast.has(piece.index)) continue
      const n = this.requestBlocks(wire, piece, room - sent)
      if (n < 0) return sent
      sent += n
    }
    return sent
  }

  /** Requests up to `room` free blocks of `piece` from `wire`; -1 if the wire refused a request. */
  private requestBlocks (wire: SwarmPeer, piece: ActivePiece, room: number): number {
    let sent = 0
    for (let b = piece.firstFree(); b >= 0 && b < piece.blockCount && sent < room; b++) {
      if (piece.state[b] !== BLOCK_FREE) continue
      if (!this.sendRequest(wire, piece, b)) return sent > 0 ? sent : -1
      sent++
    }
    return sent
  }

  /**
   * Moves a slow (or snubbed) peer's outstanding requests in one piece `wire` has to `wire`, when `wire` is at
   * least twice as fast. With `urgentOnly`, only pieces that matter for order: every piece in sequential mode, and
   * pieces above the normal priority (critical / streaming) otherwise. Returns the requests sent.
   */
  private hotswap (wire: SwarmPeer, room: number, urgentOnly: boolean): number {
    if (wire.peerChoking) return 0
    const ordered = this.strategy === 'sequential'
    if (urgentOnly && !ordered && (!this.urgentSet || !this.hasUrgentActive)) return 0
    const speed = wire.downloadSpeed()
    if (speed < HOTSWAP_MIN_TAKER_SPEED) return 0 // before allocating the closures below (a per-fill path)
    const choice = findHotswap(wire, speed, this.active.values(), piece =>
      this.peerHas(wire, piece.index) && !this.smartBan.suspects(piece.index, wire) &&
      (!urgentOnly || ordered || this.availability.getPriority(piece.index) > 1),
    peer => this.peers.get(peer)?.snubbed === true)
    if (choice === null) return 0
    const { piece: best, victim } = choice
    for (const r of [...victim.requests]) {
      // cancel() answers the request's callback with ERR_WIRE_CANCELLED, which frees the block in the piece.
      if (r.index === best.index) victim.cancel(r.index, r.begin, r.length)
    }
    this.emit('hotswap', victim, wire, best.index)
    const n = this.requestBlocks(wire, best, room)
    return n > 0 ? n : 0
  }

  /** Some active piece has a priority above normal (critical / streaming). */
  private get hasUrgentActive (): boolean {
    for (const i of this.active.keys()) if (this.availability.getPriority(i) > 1) return true
    return false
  }

  private endgame (wire: SwarmPeer, room: number): number {
    let sent = 0
    for (const piece of this.active.values()) {
      if (sent >= room) break
      if (piece.free > 0 || !this.peerHas(wire, piece.index)) continue
      for (let b = 0; b < piece.blockCount && sent < room; b++) {
        if (piece.state[b] !== BLOCK_REQUESTED) continue
        const reqs = piece.requesters[b]
        if (reqs && (reqs.length >= ENDGAME_MAX_REQUESTERS || reqs.includes(wire))) continue
        if (!this.sendRequest(wire, piece, b)) return sent
        sent++
      }
    }
    return sent
  }

  private peerHas (wire: SwarmPeer, index: number): boolean {
    return this.peers.get(wire)?.haveAll === true || wire.peerPieces!.get(index)
  }

  private someoneElseHas (wire: SwarmPeer, index: number): boolean {
    for (const w of this.wires) if (w !== wire && !w.peerChoking && this.peerHas(w, index)) return true
    return false
  }

  private pickNew (wire: SwarmPeer): number {
    const peerBf = this.peers.get(wire)?.haveAll === true ? null : wire.peerPieces
    if (wire.peerChoking) {
      for (const i of wire.peerAllowedFast) if (this.want.get(i)) return i
      return -1
    }
    if (this.strategy === 'sequential') {
      while (this.cursor < this.pieceCount && !this.needed.get(this.cursor)) this.cursor++
      return this.availability.pickSequential(peerBf, this.want, this.cursor)
    }
    return this.availability.pickRarest(peerBf, this.want)
  }

  private activate (index: number): ActivePiece {
    const len = this.pieceLengthOf(index)
    const piece = new ActivePiece(index, len, this.buffers.take(len))
    this.active.set(index, piece)
    this.want.clear(index)
    return piece
  }

  private sendRequest (wire: SwarmPeer, piece: ActivePiece, block: number): boolean {
    const len = piece.blockLength(block)
    const begin = block * BLOCK_LENGTH
    if (!this.downloadLimiter.tryTake(len)) {
      if (!this.throttledFill) {
        this.throttledFill = true
        this.downloadLimiter.whenAvailable(BLOCK_LENGTH, () => { this.throttledFill = false; this.scheduleFill() })
      }
      return false
    }
    const ok = wire.request(piece.index, begin, len, (err, data) => {
      if (err !== null || data === undefined) {
        piece.unrequest(block, wire)
        this.scheduleFill()
        return
      }
      this.onBlock(wire, piece, block, data)
    })
    if (ok) piece.request(block, wire)
    return ok
  }

  private onBlock (wire: SwarmPeer, piece: ActivePiece, block: number, data: Uint8Array): void {
    const st = this.peers.get(wire)
    if (st) st.snubbed = false
    if (this.active.get(piece.index) !== piece) {
      this.wasted += data.length // the piece finished or was reset meanwhile
      return
    }
    const others = piece.receive(block, data, wire)
    if (others === null) {
      this.wasted += data.length
    } else {
      this.downloaded += data.length
      this.emit('download', data.length)
      const begin = block * BLOCK_LENGTH
      for (const o of others) o.cancel(piece.index, begin, data.length)
      if (piece.complete) this.verify(piece)
    }
    this.refill(wire)
  }

  /**
   * After a block: tops up the pipeline only once a quarter of it has drained, so requests leave in batches.
   * Refilling after every block sent one small socket write per read (~4 blocks), each waking the peer; at
   * 250 MB/s that was about a fifth of the main thread's time (profile of bench:e2e).
   */
  private refill (wire: SwarmPeer): void {
    const target = this.pipelineDepth(wire)
    if (wire.requestCount > target - Math.max(1, target >> 2)) return
    this.fill(wire)
  }

  // ------------------------------------------------------------------ verification and storage

  private verify (piece: ActivePiece): void {
    this.verifying++
    const index = piece.index
    const expected = this.hashes.subarray(index * 20, index * 20 + 20)
    const blockDigests = this.smartBan.hasHistory(index) ? BLOCK_LENGTH : 0
    checkPiece(this.verifier, this.store, index, piece.buffer, expected, blockDigests).then(async r => {
      piece.buffer = r.data
      if (this.destroyed) return
      if (!r.passed) {
        this.onHashFail(piece, r.blocks ?? (await this.verifier.verify(r.data, BLOCK_LENGTH)).blocks!)
        return
      }
      if (r.blocks) for (const w of this.smartBan.onPass(index, r.blocks)) this.ban(w, 'sent a block that differs from the verified piece')
      if (r.storeError !== null) {
        this.dropPiece(piece, r.storeError)
        return
      }
      this.active.delete(index)
      this.buffers.give(r.data)
      this.have.set(index)
      this.needed.clear(index)
      for (const w of this.wires) w.have(index)
      this.emit('verified', index)
      this.checkDone()
    }, (err: Error) => {
      // The piece could not be checked at all (a worker died, the file could not be opened): downloaded again.
      if (!this.destroyed) this.dropPiece(piece, err)
    }).catch(err => this.emit('warning', err as Error)).finally(() => {
      this.verifying--
      this.scheduleFill()
    })
  }

  /** A complete piece is given up: it becomes wanted again and its buffer goes back to the pool. */
  private abandon (piece: ActivePiece): void {
    if (this.active.get(piece.index) === piece) {
      this.active.delete(piece.index)
      if (this.needed.get(piece.index)) this.want.set(piece.index)
    }
    this.buffers.give(piece.buffer)
  }

  /** A complete piece could not be stored (or checked); a full or read-only disk stops downloads. */
  private dropPiece (piece: ActivePiece, err: Error): void {
    this.abandon(piece)
    if (isUploadOnlyError(err)) this.enterUploadOnly(err)
    this.emit('warning', err)
  }

  private onHashFail (piece: ActivePiece, blockDigests: Uint8Array): void {
    this.wasted += piece.length
    this.abandon(piece)
    const culprit = this.smartBan.onFail(piece.index, piece.senders, blockDigests)
    this.emit('hashfail', piece.index)
    // A peer that sent every block of a failed piece is to blame without needing the good copy.
    if (culprit) this.ban(culprit, 'sent every block of a piece that failed its hash check')
  }

  private ban (wire: SwarmPeer, reason: string): void {
    // Several failed pieces usually blame the same peer: one ban (one event, one close reason) per peer.
    if (this.banned.has(wire)) return
    this.banned.add(wire)
    this.emit('ban', wire, reason)
    wire.destroy(new WasmTorrentError('ERR_PEER_BANNED', `banned: ${reason}`))
  }

  /** Stops downloading after a write error; uploads continue; downloading is retried after WRITE_RETRY_MS. */
  private enterUploadOnly (err: Error): void {
    this.uploadOnly = err
    for (const w of this.wires) {
      for (const r of [...w.requests]) w.cancel(r.index, r.begin, r.length)
      if (w.amInterested) w.uninterested()
    }
    if (this.uploadOnlyTimer !== null) clearTimeout(this.uploadOnlyTimer)
    this.uploadOnlyTimer = setTimeout(() => {
      this.uploadOnlyTimer = null
      this.uploadOnly = null
      for (const w of this.wires) this.updateInterest(w)
    }, WRITE_RETRY_MS)
    const t = this.uploadOnlyTimer as { unref?: () => void }
    if (typeof t.unref === 'function') t.unref()
  }

  private checkDone (): void {
    if (!this.needed.isEmpty() || this.wasDone) return
    this.wasDone = true
    for (const w of this.wires) if (w.amInterested) w.uninterested()
    this.emit('done')
  }

  // ------------------------------------------------------------------ uploading

  private onPeerRequest (index: number, begin: number, length: number, respond: (e: Error | null, b?: Uint8Array) => void): void {
    if (index >= this.pieceCount || !this.have.get(index) || begin + length > this.pieceLengthOf(index)) {
      respond(new WasmTorrentError('ERR_SWARM_BAD_REQUEST', 'request for data we do not have'))
      return
    }
    this.store.get(index, { offset: begin, length }).then(
      block => this.sendWhenAllowed(block, respond),
      err => { this.emit('warning', err as Error); respond(err as Error) }
    )
  }

  private sendWhenAllowed (block: Uint8Array, respond: (e: Error | null, b?: Uint8Array) => void): void {
    if (this.destroyed) return
    if (this.uploadLimiter.tryTake(block.length)) respond(null, block)
    else this.uploadLimiter.whenAvailable(block.length, () => this.sendWhenAllowed(block, respond))
  }

  /** Stops requesting (uploads continue). */
  pause (): void {
    this.paused = true
  }

  resume (): void {
    this.paused = false
    this.scheduleFill()
  }

  destroy (): void {
    if (this.destroyed) return
    this.destroyed = true
    this.choker.destroy()
    if (this.uploadOnlyTimer !== null) clearTimeout(this.uploadOnlyTimer)
    this.downloadLimiter.clear()
    this.uploadLimiter.clear()
    for (const w of [...this.wires]) w.destroy()
    this.availability.destroy()
    this.have.destroy()
    this.needed.destroy()
    this.want.destroy()
  }

  /** Active (in-progress) piece indexes, for stats and tests. */
  get activePieces (): number[] {
    return [...this.active.keys()]
  }
}
