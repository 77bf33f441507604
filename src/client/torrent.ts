/**
 * A torrent in a client (webtorrent's Torrent): from a torrent id to peers, metadata, storage, the download
 * engine and stats, with webtorrent's property, method and event names.
 *
 * Lifecycle: parse the id -> 'infoHash' -> register with the connection pool and dial known peers -> metadata
 * (from the .torrent, or fetched from peers with ut_metadata) -> 'metadata' -> open the store and find what is
 * already there (resume) -> the Swarm downloads and uploads -> 'ready' -> ... -> 'done'.
 * A fatal error destroys the torrent and is emitted as 'error' (or on the client when nobody listens here).
 */
import { Emitter } from '../util/emitter.js'
import { WasmTorrentError } from '../errors.js'
import { hasMetadata, parseTorrent } from '../metainfo/parse-torrent.js'
import { toMagnetURI } from '../metainfo/magnet.js'
import { decodeInfoDict, encodeTorrentFile } from '../metainfo/torrent-file.js'
import type { MagnetTorrent, ParsedTorrent, TorrentId } from '../metainfo/types.js'
import { Swarm } from '../engine/swarm.js'
import type { SwarmPeer } from '../engine/types.js'
import { createVerifier } from '#piece-verifier'
import type { PoolTorrent } from '../transport/index.js'
import type { Wire } from '../wire/index.js'
import { utMetadata, utPex, LtDonthave, type UtMetadataClass, type UtPexClass } from '../wire/extensions/index.js'
import type { ChunkStore } from '../storage/index.js'
import { SpeedMeter } from '../wire/speed.js'
import { MetadataFetcher } from './metadata.js'
import { checkExisting, type ResumeData } from './resume.js'
import { File } from './file.js'
import { openStore, type StoreFactory } from './store.js'
import { PexAnnouncer } from './pex.js'
import { WebSeedSet, type WebSeed } from '../webseed/index.js'
import { Discovery, type DiscoveryTrackerOptions, type PeerSource } from '../discovery/index.js'
import type { TrackerUpdateEvent } from '../tracker/index.js'
import type { ClientHost, PreparedTorrent, TorrentEvents, TorrentOptions } from './types.js'

// webtorrent's priority for critical() pieces: above every select() tier used in practice.
const CRITICAL_PRIORITY = 7
/** Below this many connected peers a downloading torrent asks the DHT for more between announces. */
const FEW_PEERS = 10

export class Torrent extends Emitter<TorrentEvents> {
  infoHash = ''
  name = ''
  announce: string[] = []
  urlList: string[] = []
  files: File[] = []
  length = 0
  pieceLength = 0
  lastPieceLength = 0
  pieceCount = 0
  private = false
  created: Date | undefined
  createdBy: string | undefined
  comment: string | undefined
  /** The .torrent file bytes, once the metadata is known. */
  torrentFile: Uint8Array | null = null
  ready = false
  done = false
  paused = false
  destroyed = false

  private readonly client: ClientHost
  private opts: TorrentOptions
  private readonly UtMetadata: UtMetadataClass
  private readonly UtPex: UtPexClass
  private pool: PoolTorrent | null = null
  private fetcher: MetadataFetcher | null = null
  private swarm: Swarm | null = null
  private store: ChunkStore | null = null
  private parsed: MagnetTorrent | ParsedTorrent | null = null
  private readonly pendingWires: Wire[] = []
  private readonly pendingPeers: string[] = []
  private readonly downloadMeter = new SpeedMeter()
  private readonly uploadMeter = new SpeedMeter()
  private filePriority: number[] = []
  private pex: PexAnnouncer | null = null
  /** Peers from every source (manual, tracker, DHT, PEX, LSD), de-duplicated and blocklist-filtered. */
  discovery: Discovery | null = null
  private webSeedSet: WebSeedSet | null = null
  private readonly pendingWebSeeds: string[] = []
  /** The pool's answer to the last address discovery emitted (for addPeer's return value). */
  private lastPoolAdd = false

  /**
   * `source` is a torrent id, or (for seeding) a promise of one with options that are only known once the
   * input has been hashed (where the data lives).
   */
  constructor (client: ClientHost, source: TorrentId | Promise<PreparedTorrent>, opts: TorrentOptions = {}) {
    super()
    this.client = client
    this.opts = opts
    this.paused = opts.paused === true
    this.UtMetadata = utMetadata()
    this.UtPex = utPex({ private: opts.private === true })
    queueMicrotask(() => { this.start(source).catch(err => this.fatal(err)) })
  }

  /** Download directory (Node file-system store). */
  get path (): string | undefined {
    return this.opts.path
  }

  // ------------------------------------------------------------------ lifecycle

  private async start (source: TorrentId | Promise<PreparedTorrent>): Promise<void> {
    let torrentId = source as TorrentId
    if (source instanceof Promise) {
      const prepared = await source
      this.opts = { ...this.opts, ...prepared.opts }
      torrentId = prepared.torrentId
    }
    const parsed = await parseTorrent(torrentId)
    if (this.destroyed) return
    this.parsed = parsed
    this.infoHash = parsed.infoHash
    this.name = parsed.name ?? this.infoHash
    this.announce = [...new Set([...parsed.announce, ...(this.opts.announce ?? [])])]
    this.urlList = parsed.urlList
    if (hasMetadata(parsed) && parsed.private === true) this.private = true
    this.emit('infoHash', this.infoHash)
    if (this.destroyed) return // the client refused a duplicate
    await this.client.whenBlocklistReady() // no address may reach the pool before the blocklist is known
    if (this.destroyed) return

    this.pool = this.client.pool.addTorrent(this.infoHash, {
      peerId: this.client.peerId,
      maxConns: this.opts.maxConns,
      pieces: hasMetadata(parsed) ? parsed.pieceHashes.length / 20 : undefined,
      // BEP 5: the DHT bit in our handshake when we run a DHT for this torrent (never for private ones).
      handshakeFlags: { dht: this.client.dht !== null && !this.private && this.opts.private !== true },
      onWire: wire => this.onWire(wire),
      onReady: wire => this.onReady(wire)
    })
    this.pool.on('blockedPeer', (addr: string) => this.emit('blockedPeer', addr))
    this.pool.on('invalidPeer', (addr: unknown) => this.emit('invalidPeer', addr))
    this.discovery = this.createDiscovery()
    for (const a of [...parsed.peerAddresses, ...(this.opts.peers ?? []), ...this.pendingPeers.splice(0)]) this.addPeer(a)
    this.startDiscovery().catch(err => this.emit('warning', err as Error))

    if (hasMetadata(parsed)) {
      await this.onMetadata(parsed)
      return
    }
    this.fetcher = new MetadataFetcher(this.UtMetadata)
    for (const w of this.pendingWires) this.fetcher.addWire(w)
    const info = await this.fetcher.promise
    if (this.destroyed) return
    const full = await decodeInfoDict(info)
    full.announce = this.announce
    full.urlList = parsed.urlList
    full.peerAddresses = parsed.peerAddresses
    if (parsed.so) full.so = parsed.so
    await this.onMetadata(full)
  }

  private async onMetadata (t: ParsedTorrent): Promise<void> {
    if (this.destroyed) return
    this.parsed = t
    this.name = t.name
    this.length = t.length
    this.pieceLength = t.pieceLength
    this.lastPieceLength = t.lastPieceLength
    this.pieceCount = t.pieceHashes.length / 20
    this.private = t.private === true
    this.created = t.created
    this.createdBy = t.createdBy
    this.comment = t.comment
    this.announce = [...new Set([...t.announce, ...this.announce])]
    this.torrentFile = encodeTorrentFile({ ...t, announce: this.announce })
    this.discovery?.setPrivate(this.private || this.opts.private === true)
    this.UtMetadata.setMetadata(t.infoBuffer)
    this.pool?.setPieces(this.pieceCount)
    this.files = t.files.map(f => new File(this, f))
    this.emit('metadata')

    const factory: StoreFactory | undefined = this.opts.store
    this.store = await openStore(t, { path: this.opts.path, factory, preloaded: this.opts.preloadedData })
    if (this.destroyed) { await this.store.close(); return }
    const verifier = createVerifier()
    let bitfield: Uint8Array | undefined
    if (this.opts.skipVerify === true) {
      bitfield = fullBitfield(this.pieceCount)
    } else {
      const resume: ResumeData | undefined = this.opts.bitfield === undefined
        ? undefined
        : this.opts.bitfield instanceof Uint8Array ? { bitfield: this.opts.bitfield } : this.opts.bitfield
      bitfield = (await checkExisting({ ...t, infoHash: this.infoHash }, this.store, verifier, resume)).bitfield
    }
    if (this.destroyed) { await this.store.close(); return }

    const swarm = new Swarm({
      pieceLength: t.pieceLength,
      length: t.length,
      pieceHashes: t.pieceHashes,
      store: this.store,
      verifier,
      strategy: this.opts.strategy ?? 'rarest',
      bitfield,
      uploads: this.opts.uploads,
      deselect: true,
      downloadLimit: this.opts.downloadLimit,
      uploadLimit: this.opts.uploadLimit,
      downloadParent: this.client.downloadLimiter,
      uploadParent: this.client.uploadLimiter
    })
    this.swarm = swarm
    swarm.on('verified', (i: number) => this.emit('verified', i))
    swarm.on('download', (n: number) => { this.downloadMeter.add(n); this.emit('download', n) })
    swarm.on('upload', (n: number) => { this.uploadMeter.add(n); this.emit('upload', n) })
    swarm.on('warning', (err: Error) => this.emit('warning', err))
    swarm.on('hashfail', (i: number) => this.emit('warning', new WasmTorrentError('ERR_PIECE_HASH', `piece ${i} failed its hash check`)))
    swarm.on('ban', (wire: SwarmPeer, reason: string) => this.emit('warning', new WasmTorrentError('ERR_PEER_BANNED', `peer ${wire.remoteAddress}:${wire.remotePort} banned: ${reason}`)))
    swarm.on('hotswap', (from: SwarmPeer, to: SwarmPeer, i: number) => this.emit('hotswap', from as Wire | WebSeed, to as Wire | WebSeed, i))
    swarm.on('done', () => this.onDone())
    this.initialSelection(t)
    if (this.paused) swarm.pause()
    for (const w of this.pendingWires.splice(0)) swarm.addWire(w)
    this.startWebSeeds(t, swarm)
    if (!this.private) this.pex = new PexAnnouncer(() => this.wires)
    this.ready = true
    this.emit('ready')
    if (swarm.done) this.onDone()
  }

  private initialSelection (t: ParsedTorrent): void {
    const chosen = this.opts.select ?? t.so
    this.filePriority = this.files.map((_, i) => this.opts.deselect === true ? 0 : chosen === undefined || chosen.includes(i) ? 1 : 0)
    this.applyFilePriorities(0, this.pieceCount - 1)
  }

  private onDone (): void {
    if (this.done || this.destroyed) return
    this.done = true
    this.discovery?.complete()
    this.emit('done')
  }

  /**
   * The torrent's peer sources (see src/discovery): manual peers, trackers (the torrent's own, plus the
   * client's extra ones unless private), the client's DHT and PEX (not for private torrents), and LSD when
   * attached. Each address it emits goes to the connection pool.
   */
  private createDiscovery (): Discovery {
    const d = new Discovery({
      infoHash: this.infoHash,
      peerId: this.client.peerId,
      private: this.private || this.opts.private === true,
      blocklist: ip => this.client.blocklist(ip),
      dht: this.client.dht,
      tracker: () => this.trackerOptions(),
      wantPeers: () => !this.done && !this.paused && this.numPeers < FEW_PEERS
    })
    d.on('peer', (addr: string, source: PeerSource) => {
      this.lastPoolAdd = this.pool?.addPeer(addr) ?? false
      if (this.lastPoolAdd) this.emit('peer', addr, source)
    })
    d.on('blockedPeer', (addr: string, source: PeerSource) => this.emit('blockedPeer', addr, source))
    d.on('invalidPeer', (addr: unknown) => this.emit('invalidPeer', addr))
    d.on('trackerAnnounce', (info: TrackerUpdateEvent) => this.emit('trackerAnnounce', info))
    d.on('dhtAnnounce', () => this.emit('dhtAnnounce'))
    d.on('noPeers', (source: PeerSource) => this.emit('noPeers', source))
    d.on('warning', (err: Error) => this.emit('warning', err))
    return d
  }

  /** Trackers to announce to once we listen: the torrent's, plus the client's extra ones unless private. */
  private trackerOptions (): DiscoveryTrackerOptions | null {
    const cfg = this.client.trackerOptions
    if (!cfg.enabled) return null
    const announce = this.private ? this.announce : [...new Set([...this.announce, ...cfg.announce])]
    if (announce.length === 0) return null
    const { udp, ws } = this.client.trackerSockets()
    return {
      announce,
      udp,
      ws,
      getStats: () => ({ uploaded: this.uploaded, downloaded: this.received, left: this.swarm ? this.swarm.missingBytes : null })
    }
  }

  /** Starts trackers and the DHT with our port once we listen. */
  private async startDiscovery (): Promise<void> {
    await this.client.whenListening()
    const d = this.discovery
    if (this.destroyed || d === null) return
    d.start(this.client.torrentPort)
    this.client.services.announce(this, this.client.torrentPort)
    if (this.done) d.complete()
  }

  private fatal (err: unknown): void {
    const e = err instanceof Error ? err : new Error(String(err))
    if (this.destroyed) return
    this.destroy()
    if (this.listenerCount('error') > 0) this.emit('error', e)
    else this.client.onTorrentError(this, e)
  }

  // ------------------------------------------------------------------ wires and peers

  private onWire (wire: Wire): void {
    wire.use(this.UtMetadata)
    if (!this.private) wire.use(this.UtPex)
    wire.use(LtDonthave)
  }

  private onReady (wire: Wire): void {
    if (this.destroyed) return
    this.discovery?.addWire(wire) // PEX peers; BEP 5 port messages both ways
    this.emit('wire', wire, `${wire.remoteAddress}:${wire.remotePort}`)
    if (this.swarm) this.swarm.addWire(wire)
    else {
      this.pendingWires.push(wire)
      this.fetcher?.addWire(wire)
      wire.once('close', () => {
        const i = this.pendingWires.indexOf(wire)
        if (i >= 0) this.pendingWires.splice(i, 1)
      })
    }
  }

  /**
   * Adds a peer address ('host:port'); dialed through the client's connection pool unless blocklisted.
   * True when the pool took it (or it waits for the torrent to start).
   */
  addPeer (address: string): boolean {
    if (this.destroyed) return false
    if (this.discovery === null) {
      this.pendingPeers.push(address)
      return true
    }
    this.lastPoolAdd = false
    return this.discovery.addPeer(address, 'manual') && this.lastPoolAdd
  }

  removePeer (address: string): void {
    this.pool?.removePeer(address)
    this.discovery?.forget(address)
  }

  /** BitTorrent peer connections (web seeds are in `webSeeds`). */
  get wires (): Wire[] {
    return this.pool?.wires ?? []
  }

  /** Web seeds (BEP 19) in use. */
  get webSeeds (): WebSeed[] {
    return this.webSeedSet?.webSeeds ?? []
  }

  /** Connected peers, web seeds included (as webtorrent counts them). */
  get numPeers (): number {
    return this.wires.length + this.webSeeds.length
  }

  /** Adds a web seed (BEP 19) URL; before the metadata is known it waits for it. */
  addWebSeed (url: string): void {
    if (this.destroyed) return
    if (this.webSeedSet) this.webSeedSet.add(url)
    else this.pendingWebSeeds.push(url)
  }

  private startWebSeeds (t: ParsedTorrent, swarm: Swarm): void {
    const set = new WebSeedSet(t, { maxWebConns: this.opts.maxWebConns ?? 4 })
    this.webSeedSet = set
    set.on('webSeed', (ws: WebSeed) => { swarm.addWire(ws); this.emit('webSeed', ws) })
    set.on('warning', (err: Error) => this.emit('warning', err))
    const urls = this.client.webSeedsEnabled ? [...t.urlList, ...(this.opts.urlList ?? [])] : []
    set.addAll([...urls, ...this.pendingWebSeeds.splice(0)])
  }

  // ------------------------------------------------------------------ selection

  hasPiece (index: number): boolean {
    return this.swarm?.have.get(index) ?? false
  }

  /** Piece priority range [from, to] (inclusive, webtorrent's select). */
  select (from: number, to: number, priority = 1): void {
    this.swarm?.select(from, to, Math.max(1, priority))
  }

  deselect (from: number, to: number): void {
    this.swarm?.deselect(from, to)
  }

  /** Pieces needed first (streaming). */
  critical (from: number, to: number): void {
    this.swarm?.select(from, to, CRITICAL_PRIORITY)
  }

  setFilePriority (file: File, priority: number): void {
    const i = this.files.indexOf(file)
    if (i < 0 || file.length === 0) return
    this.filePriority[i] = priority
    this.applyFilePriorities(file.startPiece, file.endPiece)
  }

  /** Piece priority = the highest priority of the files covering it. */
  private applyFilePriorities (from: number, to: number): void {
    if (!this.swarm || from > to) return
    const prio = new Uint8Array(to - from + 1)
    this.files.forEach((f, i) => {
      const p = this.filePriority[i]
      if (p === 0 || f.length === 0 || f.endPiece < from || f.startPiece > to) return
      for (let k = Math.max(from, f.startPiece); k <= Math.min(to, f.endPiece); k++) prio[k - from] = Math.max(prio[k - from], p)
    })
    let k = 0
    while (k < prio.length) {
      let j = k
      while (j + 1 < prio.length && prio[j + 1] === prio[k]) j++
      this.swarm.select(from + k, from + j, prio[k])
      k = j + 1
    }
    if (!this.swarm.done) this.done = false
  }

  pause (): void {
    this.paused = true
    this.swarm?.pause()
  }

  resume (): void {
    this.paused = false
    this.swarm?.resume()
  }

  // ------------------------------------------------------------------ stats

  get magnetURI (): string {
    return this.parsed ? toMagnetURI({ ...this.parsed, announce: this.announce }) : ''
  }

  /** Verified bytes (webtorrent's downloaded, including data found on disk at start). */
  get downloaded (): number {
    const s = this.swarm
    if (!s) return 0
    let n = s.have.count() * this.pieceLength
    if (s.have.get(this.pieceCount - 1)) n -= this.pieceLength - this.lastPieceLength
    return n
  }

  /** Bytes received from peers, including data thrown away. */
  get received (): number {
    return (this.swarm?.downloaded ?? 0) + (this.swarm?.wasted ?? 0)
  }

  get uploaded (): number {
    return this.swarm?.uploaded ?? 0
  }

  get downloadSpeed (): number {
    return this.downloadMeter.rate()
  }

  get uploadSpeed (): number {
    return this.uploadMeter.rate()
  }

  get progress (): number {
    return this.length > 0 ? this.downloaded / this.length : 0
  }

  get ratio (): number {
    return this.uploaded / (this.received || this.length || 1)
  }

  /** ms until done at the current speed (Infinity when stalled, 0 when done). */
  get timeRemaining (): number {
    if (this.done) return 0
    const speed = this.downloadSpeed
    if (speed === 0) return Infinity
    return ((this.swarm?.missingBytes ?? this.length) / speed) * 1000
  }

  /** The engine, for the CLI and tests. */
  get engine (): Swarm | null {
    return this.swarm
  }

  setDownloadLimit (rate: number): void {
    this.swarm?.downloadLimiter.setRate(rate)
  }

  setUploadLimit (rate: number): void {
    this.swarm?.uploadLimiter.setRate(rate)
  }

  // ------------------------------------------------------------------ teardown

  /** Stops the torrent and closes its connections; `destroyStore` deletes the downloaded data. */
  async destroy (opts: { destroyStore?: boolean } = {}): Promise<void> {
    if (this.destroyed) return
    this.destroyed = true
    this.fetcher?.stop()
    this.pex?.destroy()
    this.webSeedSet?.destroy()
    if (this.infoHash) this.client.services.remove(this.infoHash)
    // 'stopped' to the trackers in the background (it waits for answers at most a few seconds).
    this.discovery?.destroy().catch(() => {})
    this.swarm?.destroy()
    // Only our own registration: a refused duplicate never registered and must not unregister the original.
    this.pool?.destroy()
    const store = this.store
    this.store = null
    try {
      if (store) await (opts.destroyStore === true || this.opts.destroyStoreOnDestroy === true ? store.destroy() : store.close())
    } finally {
      this.client.onTorrentClosed(this)
      this.emit('close')
    }
  }
}

function fullBitfield (n: number): Uint8Array {
  const b = new Uint8Array(Math.ceil(n / 8)).fill(0xff)
  if (n & 7) b[b.length - 1] = 0xff00 >> (n & 7) & 0xff
  return b
}
