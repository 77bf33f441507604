/**
 * One peer-discovery stream per torrent. Sources: `manual` (addPeer, a magnet's x.pe, the `peers` option),
 * `tracker` (a TrackerClient), `dht` (the client's DHT node), `pex` (the wires' ut_pex messages) and `lsd`
 * (attached from outside: `discovery.addPeer(addr, 'lsd')` or `discovery.addSource('lsd', emitter)`).
 * Every address comes out once as `('peer', 'host:port', source)`, for the torrent to hand to the pool:
 *
 *  - normal form: 'host:port' / '[v6]:port' (transport/address.ts), so '::ffff:1.2.3.4' and '1.2.3.4' agree;
 *  - de-duplicated: an address offered again within `reofferAfter` (5 min) of its last offer is dropped
 *    silently (a DHT lookup every 15 s or a tracker answer does not re-offer the swarm each time). After that
 *    it is offered again, so an address the pool gave up on (6 failed attempts, about 2 minutes) is retried when
 *    a source still lists it. The pool itself ignores offers of addresses it is busy with. Manual offers bypass
 *    the time window (the user asked). At most `maxRemembered` (10,000) addresses are remembered (oldest out);
 *  - filtered by the blocklist: a blocked address is reported once per window (manual: every time) as
 *    ('blockedPeer', addr, source) and never emitted as a peer (the pool's own blocklist hook covers incoming connections and host names
 *    resolved at dial time);
 *  - private torrents (BEP 27, discoveryAllowed()): only tracker and manual peers; DHT, PEX and LSD peers are
 *    ignored, the DHT is never asked, no `port` message is sent or acted upon.
 *
 * Schedules (defaults): DHT announce (get_peers + announce_peer) when started and every `dhtAnnounceInterval`
 * (15 min, plus up to 20% jitter: webtorrent/torrent-discovery's interval; libtorrent's dht_announce_interval
 * is 15 min too); between announces, while the torrent wants peers (`wantPeers()`), DHT lookups after
 * 15 s, 30 s, 1 min, 2 min, then every 5 min; trackers on their own announce intervals (TrackerClient).
 * `noPeers(source)` every `noPeersInterval` (30 s, webtorrent's default) for each active source (tracker, dht)
 * that has not produced a single peer yet.
 */
import { Emitter } from '../util/emitter.js'
import { WasmTorrentError } from '../errors.js'
import { ipToBytes } from '../util/ip.js'
import { parseAddress } from '../transport/address.js'
import { TrackerClient, discoveryAllowed, type TrackerClientOptions, type TrackerUpdateEvent } from '../tracker/index.js'
import type { Wire } from '../wire/index.js'
import type { UtPexExtension } from '../wire/extensions/index.js'
import type { DhtLike } from '../dht/dht.js'

export type PeerSource = 'manual' | 'tracker' | 'dht' | 'pex' | 'lsd'
export const PEER_SOURCES: readonly PeerSource[] = ['manual', 'tracker', 'dht', 'pex', 'lsd']

export const DEFAULT_REOFFER_AFTER = 5 * 60_000
export const DEFAULT_MAX_REMEMBERED = 10_000
export const DEFAULT_DHT_ANNOUNCE_INTERVAL = 15 * 60_000
export const DEFAULT_DHT_LOOKUP_BACKOFF: readonly number[] = [15_000, 30_000, 60_000, 120_000, 300_000]
export const DEFAULT_NO_PEERS_INTERVAL = 30_000

/** Tracker settings for one torrent: the final announce list (the torrent applies BEP 27) and shared sockets. */
export type DiscoveryTrackerOptions = Omit<TrackerClientOptions, 'infoHash' | 'peerId' | 'port'>

export interface DiscoveryOptions {
  /** 40 hex characters. */
  infoHash: string
  /** Our peer id (hex), for trackers. */
  peerId: string
  /** BEP 27: trackers and manual peers only (can change later: setPrivate). */
  private?: boolean
  /** true = never connect to this IP. */
  blocklist?: ((ip: string) => boolean) | null
  /** null / an empty announce list: no trackers. A function is called once, at start(). */
  tracker?: DiscoveryTrackerOptions | null | (() => DiscoveryTrackerOptions | null)
  /** The client's DHT node; null: no DHT. */
  dht?: DhtLike | null
  /** True while the torrent would use more peers (drives DHT lookups between announces). Default: always. */
  wantPeers?: () => boolean
  dhtAnnounceInterval?: number
  dhtLookupBackoff?: readonly number[]
  reofferAfter?: number
  maxRemembered?: number
  /** ms; 0 disables the noPeers event. */
  noPeersInterval?: number
  /** TrackerClient factory (tests). */
  createTracker?: (opts: TrackerClientOptions) => TrackerClient
  /** Clock (ms). */
  now?: () => number
}

export interface DiscoveryEvents {
  [event: string]: (...args: any[]) => void // eslint-disable-line @typescript-eslint/no-explicit-any
  peer: (address: string, source: PeerSource) => void
  blockedPeer: (address: string, source: PeerSource) => void
  invalidPeer: (address: unknown, source: PeerSource) => void
  /** A tracker answered (webtorrent's trackerAnnounce; ours carries the answer). */
  trackerAnnounce: (info: TrackerUpdateEvent) => void
  /** A DHT announce finished (webtorrent's dhtAnnounce). */
  dhtAnnounce: () => void
  /** A source has given no peer at all so far (webtorrent's noPeers). */
  noPeers: (source: PeerSource) => void
  warning: (err: Error) => void
}

export interface DiscoveryStats {
  /** Addresses emitted, by source. */
  offered: Record<PeerSource, number>
  /** Offers dropped as repeats within reofferAfter. */
  repeats: number
  blocked: number
  invalid: number
  /** Offers ignored because the source is not allowed (private torrent). */
  refused: number
  dhtAnnounces: number
  dhtLookups: number
}

interface PeerEmitter {
  on (event: 'peer', fn: (peer: string | { host: string, port: number }) => void): unknown
  off?: (event: 'peer', fn: (peer: string | { host: string, port: number }) => void) => unknown
  removeListener?: (event: 'peer', fn: (peer: string | { host: string, port: number }) => void) => unknown
}

export class Discovery extends Emitter<DiscoveryEvents> {
  readonly infoHash: string
  private: boolean
  started = false
  destroyed = false
  /** Our torrent port given to start(). */
  port = 0
  tracker: TrackerClient | null = null
  private readonly opts: DiscoveryOptions
  private readonly dht: DhtLike | null
  private readonly now: () => number
  private readonly reofferAfter: number
  private readonly maxRemembered: number
  /** address key -> last offer time (insertion order = age order). */
  private readonly seen = new Map<string, number>()
  private readonly counters: DiscoveryStats = {
    offered: { manual: 0, tracker: 0, dht: 0, pex: 0, lsd: 0 },
    repeats: 0,
    blocked: 0,
    invalid: 0,
    refused: 0,
    dhtAnnounces: 0,
    dhtLookups: 0
  }

  private dhtOff: (() => void) | null = null
  private dhtBusy = false
  private announceTimer: ReturnType<typeof setTimeout> | null = null
  private lookupTimer: ReturnType<typeof setTimeout> | null = null
  private lookupStep = 0
  private noPeersTimer: ReturnType<typeof setInterval> | null = null
  private readonly detach: Array<() => void> = []

  constructor (opts: DiscoveryOptions) {
    super()
    if (!/^[0-9a-fA-F]{40}$/.test(opts.infoHash)) throw new WasmTorrentError('ERR_DISCOVERY_OPTIONS', 'infoHash must be 40 hex characters')
    this.opts = opts
    this.infoHash = opts.infoHash.toLowerCase()
    this.private = opts.private === true
    this.dht = opts.dht ?? null
    this.now = opts.now ?? Date.now
    this.reofferAfter = opts.reofferAfter ?? DEFAULT_REOFFER_AFTER
    this.maxRemembered = opts.maxRemembered ?? DEFAULT_MAX_REMEMBERED
  }

  /** May `source` give peers to this torrent (BEP 27)? */
  allowed (source: PeerSource): boolean {
    if (source === 'manual') return true
    const f = discoveryAllowed({ private: this.private })
    return source === 'tracker' ? f.trackers : source === 'dht' ? f.dht : source === 'pex' ? f.pex : f.lsd
  }

  /** True when this torrent uses the DHT now (not private, a DHT node is there). */
  get usesDht (): boolean {
    return this.dht !== null && this.allowed('dht')
  }

  stats (): DiscoveryStats {
    return { ...this.counters, offered: { ...this.counters.offered } }
  }

  // ------------------------------------------------------------------ intake

  /**
   * Offers an address from `source`. Returns true when it was emitted as a 'peer'; false when invalid,
   * blocked, a repeat within the window, from a source not allowed for this torrent, or after destroy().
   */
  addPeer (address: string | { host: string, port: number }, source: PeerSource = 'manual'): boolean {
    if (this.destroyed) return false
    if (!this.allowed(source)) {
      this.counters.refused++
      return false
    }
    const a = parseAddress(address)
    if (a === null) {
      this.counters.invalid++
      this.emit('invalidPeer', address, source)
      return false
    }
    const now = this.now()
    const last = this.seen.get(a.key)
    const repeat = last !== undefined && now - last < this.reofferAfter
    if (repeat && source !== 'manual') {
      this.counters.repeats++
      return false
    }
    this.remember(a.key, now)
    if (this.isBlocked(a.host)) {
      this.counters.blocked++
      if (!repeat || source === 'manual') this.emit('blockedPeer', a.key, source)
      return false
    }
    this.counters.offered[source]++
    this.emit('peer', a.key, source)
    return true
  }

  private remember (key: string, now: number): void {
    this.seen.delete(key)
    this.seen.set(key, now)
    while (this.seen.size > this.maxRemembered) this.seen.delete(this.seen.keys().next().value!)
  }

  private isBlocked (host: string): boolean {
    const bl = this.opts.blocklist
    if (bl === null || bl === undefined || ipToBytes(host) === null) return false
    try {
      return bl(host) === true
    } catch {
      return false
    }
  }

  /** Forgets an address, so its next offer from any source goes through at once (e.g. after removePeer). */
  forget (address: string | { host: string, port: number }): void {
    const a = parseAddress(address)
    if (a !== null) this.seen.delete(a.key)
  }

  /**
   * Attaches an emitter of 'peer' events ('host:port' or {host, port}) as `source` — the hook for LSD.
   * Returns a function that detaches it (also done by destroy()).
   */
  addSource (source: PeerSource, emitter: PeerEmitter): () => void {
    const fn = (p: string | { host: string, port: number }): void => { this.addPeer(p, source) }
    emitter.on('peer', fn)
    let done = false
    const off = (): void => {
      if (done) return
      done = true
      if (typeof emitter.off === 'function') emitter.off('peer', fn)
      else emitter.removeListener?.('peer', fn)
    }
    this.detach.push(off)
    return off
  }

  /**
   * A wire whose handshakes are done: its ut_pex peers become 'pex' offers; BEP 5 `port` messages go both
   * ways when we run a DHT (we send ours if the peer set the DHT bit; theirs adds its node to our DHT).
   */
  addWire (wire: Wire): void {
    if (this.destroyed) return
    const pex = wire.extensions.ut_pex as UtPexExtension | undefined
    if (pex !== undefined) pex.on('peer', (p: { host: string, port: number }) => { this.addPeer(p, 'pex') })
    if (this.dht === null) return
    wire.on('port', (port: number) => {
      if (this.destroyed || this.private || this.dht === null || !wire.remoteAddress) return
      this.dht.addNode(wire.remoteAddress, port)
    })
    if (this.private || !wire.peerExtensions.dht) return
    const dht = this.dht
    if (dht.port > 0) wire.port(dht.port)
    else {
      // Our DHT is still binding its socket (a peer given at start can connect within milliseconds).
      dht.whenListening?.().then(port => {
        if (port > 0 && !wire.destroyed && !this.destroyed && !this.private) wire.port(port)
      }, () => {})
    }
  }

  // ------------------------------------------------------------------ lifecycle

  /** Starts the trackers and the DHT with our listening port (0: no announces, lookups only). */
  start (port: number): void {
    if (this.started || this.destroyed) return
    this.started = true
    this.port = port
    this.startTracker()
    if (this.usesDht) this.startDht()
    const every = this.opts.noPeersInterval ?? DEFAULT_NO_PEERS_INTERVAL
    if (every > 0) {
      this.noPeersTimer = setInterval(() => this.checkNoPeers(), every)
      unref(this.noPeersTimer)
    }
  }

  /** The torrent turned out private (metadata) — or not. Stops or starts the DHT accordingly. */
  setPrivate (value: boolean): void {
    if (this.private === value || this.destroyed) return
    this.private = value
    if (value) this.stopDht()
    else if (this.started && this.usesDht) this.startDht()
  }

  /** The download finished: trackers get `completed`. */
  complete (): void {
    this.tracker?.complete()
  }

  /** Asks the DHT for peers now (no-op for private torrents, without a DHT, or while one is in flight). */
  lookup (): void {
    if (!this.started || !this.usesDht || this.dhtBusy || this.destroyed) return
    this.dhtBusy = true
    this.counters.dhtLookups++
    this.dht!.lookup(this.infoHash).catch(err => this.dhtWarning('lookup', err)).finally(() => { this.dhtBusy = false })
  }

  /** Stops everything; trackers get `stopped` (in the background, at most their stop timeout). */
  destroy (): Promise<void> {
    if (this.destroyed) return Promise.resolve()
    this.destroyed = true
    this.stopDht()
    if (this.noPeersTimer !== null) clearInterval(this.noPeersTimer)
    this.noPeersTimer = null
    for (const off of this.detach.splice(0)) off()
    this.seen.clear()
    const tracker = this.tracker
    if (tracker === null) return Promise.resolve()
    return tracker.stop().catch(() => {}).finally(() => tracker.destroy())
  }

  // ------------------------------------------------------------------ trackers

  private startTracker (): void {
    const cfg = typeof this.opts.tracker === 'function' ? this.opts.tracker() : this.opts.tracker
    const announce = cfg?.announce
    const count = announce === undefined ? 0 : typeof announce === 'string' ? 1 : announce.length
    if (cfg === null || cfg === undefined || count === 0 || this.port === 0) return
    const create = this.opts.createTracker ?? ((o: TrackerClientOptions) => new TrackerClient(o))
    const tracker = create({ ...cfg, infoHash: this.infoHash, peerId: this.opts.peerId, port: this.port })
    this.tracker = tracker
    tracker.on('peer', (p: { host: string, port: number }) => { this.addPeer(p, 'tracker') })
    tracker.on('update', (info: TrackerUpdateEvent) => this.emit('trackerAnnounce', info))
    tracker.on('warning', (err: Error) => this.emit('warning', err))
    tracker.start()
  }

  // ------------------------------------------------------------------ DHT

  private startDht (): void {
    if (this.dhtOff !== null || this.dht === null) return
    this.dhtOff = this.dht.subscribe(this.infoHash, peer => { this.addPeer(peer, 'dht') })
    this.lookupStep = 0
    this.dhtAnnounce()
  }

  private stopDht (): void {
    this.dhtOff?.()
    this.dhtOff = null
    if (this.announceTimer !== null) clearTimeout(this.announceTimer)
    if (this.lookupTimer !== null) clearTimeout(this.lookupTimer)
    this.announceTimer = null
    this.lookupTimer = null
  }

  private dhtAnnounce (): void {
    if (!this.usesDht || this.destroyed || this.dhtOff === null) return
    if (this.announceTimer !== null) clearTimeout(this.announceTimer)
    this.announceTimer = null
    this.dhtBusy = true
    this.counters.dhtAnnounces++
    // Without a listening port (browsers never get here: no DHT) we can only look up.
    const op = this.port > 0 ? this.dht!.announce(this.infoHash, this.port) : this.dht!.lookup(this.infoHash)
    op.then(() => {
      if (!this.destroyed) this.emit('dhtAnnounce')
    }, err => this.dhtWarning('announce', err)).finally(() => {
      this.dhtBusy = false
      if (this.destroyed || this.dhtOff === null) return
      const base = this.opts.dhtAnnounceInterval ?? DEFAULT_DHT_ANNOUNCE_INTERVAL
      this.announceTimer = setTimeout(() => this.dhtAnnounce(), base + Math.floor(Math.random() * base / 5))
      unref(this.announceTimer)
      this.scheduleLookup()
    })
  }

  private scheduleLookup (): void {
    if (this.lookupTimer !== null || this.destroyed || this.dhtOff === null) return
    const steps = this.opts.dhtLookupBackoff ?? DEFAULT_DHT_LOOKUP_BACKOFF
    if (steps.length === 0) return
    const delay = steps[Math.min(this.lookupStep, steps.length - 1)]
    this.lookupTimer = setTimeout(() => {
      this.lookupTimer = null
      if (this.destroyed || this.dhtOff === null) return
      const want = this.opts.wantPeers?.() ?? true
      if (want) {
        this.lookupStep++
        this.lookup()
      } else {
        this.lookupStep = 0
      }
      this.scheduleLookup()
    }, delay)
    unref(this.lookupTimer)
  }

  private dhtWarning (what: string, err: unknown): void {
    if (this.destroyed) return
    const e = err as Error & { code?: string }
    if (e?.code === 'ERR_DHT_DESTROYED') return
    this.emit('warning', new WasmTorrentError('ERR_DHT_' + what.toUpperCase(), `DHT ${what} failed: ${e?.message ?? String(err)}`, { cause: err }))
  }

  private checkNoPeers (): void {
    if (this.destroyed) return
    if (this.tracker !== null && this.counters.offered.tracker === 0) this.emit('noPeers', 'tracker')
    if (this.usesDht && this.counters.offered.dht === 0) this.emit('noPeers', 'dht')
  }
}

function unref (t: unknown): void {
  (t as { unref?: () => void }).unref?.()
}
