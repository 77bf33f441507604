/**
 * The client (webtorrent's WebTorrent class): owns the connection pool (one listening port for TCP and uTP),
 * the client-wide rate limits, and the torrents.
 *
 *     const client = new WebTorrent({ torrentPort: 6881 })
 *     const torrent = client.add(magnetOrTorrent, { path: './downloads' })
 *     torrent.on('done', () => ...)
 *     client.seed('./my-folder', torrent => console.log(torrent.magnetURI))
 */
import { Emitter } from '../util/emitter.js'
import { WasmTorrentError } from '../errors.js'
import { ConnectionPool, UTP_SUPPORT } from '../transport/index.js'
import { UdpTrackerSocket, WsTrackerPool } from '../tracker/index.js'
import { RateLimiter } from '../engine/throttle.js'
import { createTorrent, type CreateTorrentOptions, type CreateTorrentInput } from '../metainfo/index.js'
import type { TorrentId } from '../metainfo/types.js'
import { parseTorrent } from '../metainfo/parse-torrent.js'
import { defaultDownloadPath } from '#client-platform'
import { Torrent } from './torrent.js'
import { randomPeerId } from './peer-id.js'
import { seedSource } from './seed-source.js'
import { loadBlocklist, type BlocklistInput, type BlocklistPredicate, type PeerSource } from '../discovery/index.js'
import { DhtNode, dhtSupported, type DhtOptions } from '../dht/index.js'
import type { ClientHost, PreparedTorrent, TorrentOptions } from './types.js'
import { LocalServices } from './local-services.js'

export const VERSION = '0.1.0'

export interface ClientOptions {
  /** Our peer id (40 hex chars); random "-WA0010-..." by default. */
  peerId?: string
  /** Listening port for TCP and uTP (default: any free port). */
  torrentPort?: number
  /** Listening address (default: all interfaces). */
  host?: string
  /** Connections per torrent (default 55). */
  maxConns?: number
  /** uTP on (default true where available). */
  utp?: boolean
  /** Bytes/s for all torrents together (-1 unlimited, 0 blocks). */
  downloadLimit?: number
  uploadLimit?: number
  /**
   * IPs never to connect to (dials and incoming connections): an array of ranges ('1.2.3.4',
   * '1.2.3.0-1.2.3.255', '10.0.0.0/8', IPv6 too, or P2P / eMule DAT lines), a predicate `(ip) => true to block`,
   * a file path (Node; P2P or eMule DAT format, gzip or not) or an http(s) URL. Nothing connects until it is
   * loaded; a list that cannot be loaded is a client 'error' (the client is destroyed, like webtorrent).
   */
  blocklist?: BlocklistInput
  /**
   * The DHT (BEP 5), one node shared by all torrents: true (the default, as in webtorrent: bittorrent-dht's
   * public bootstrap routers), false, or bittorrent-dht options, e.g. `{ bootstrap: ['127.0.0.1:6881'] }`
   * (`[]`: no bootstrap). Node only: ignored in browsers.
   */
  dht?: boolean | DhtOptions
  /** UDP port of the DHT (its own socket: the torrent port's UDP side is uTP's). Default: the saved one, else any. */
  dhtPort?: number
  /** Node: a file where the DHT routing table is saved (at destroy and every 10 min) and reloaded from. */
  dhtStateFile?: string
  /** Trackers: true (default), false (none), or { announce } to add trackers to every non-private torrent. */
  tracker?: boolean | { announce?: string[] }
  /** Local Service Discovery (BEP 14) multicast on the LAN (default true; never for private torrents). */
  lsd?: boolean
  /** Map the listening ports on the router with UPnP IGD (default true; 'permanent': fall back to permanent leases). */
  natUpnp?: boolean | 'permanent'
  /** Map the listening ports on the router with NAT-PMP (default true). */
  natPmp?: boolean
  /** Use the web seeds (BEP 19) torrents list (default true). */
  webSeeds?: boolean
  /**
   * MSE/PE protocol encryption, as webtorrent's `secure`: 0 (or false) our dials are plaintext; 1 (or true, the
   * default) our dials open with an encrypted handshake offering plaintext or RC4, redialing in plaintext once
   * when a peer drops it; 2 RC4 only, both ways (plaintext peers are refused). Encrypted handshakes from peers
   * are always answered. Node only (browsers connect over WebRTC).
   */
  secure?: 0 | 1 | 2 | boolean
}

type ClientEvents = {
  [event: string]: (...args: any[]) => void
  add: (t: Torrent) => void
  torrent: (t: Torrent) => void
  seed: (t: Torrent) => void
  remove: (t: Torrent) => void
  /** An address refused by the blocklist: found by a torrent's discovery, dialed, or connecting to us (torrent null). */
  blockedPeer: (address: string, torrent: Torrent | null, source: PeerSource | undefined) => void
  listening: () => void
  ready: () => void
  warning: (err: Error) => void
  error: (err: Error) => void
}

export class WebTorrent extends Emitter<ClientEvents> implements ClientHost {
  static readonly VERSION = VERSION
  static readonly WEBRTC_SUPPORT = false
  static readonly UTP_SUPPORT = UTP_SUPPORT

  readonly peerId: string
  readonly pool: ConnectionPool
  readonly downloadLimiter: RateLimiter
  readonly uploadLimiter: RateLimiter
  readonly torrents: Torrent[] = []
  listening = false
  ready = false
  destroyed = false
  private readonly listenPromise: Promise<void>
  readonly trackerOptions: { enabled: boolean, announce: string[] }
  private sockets: { udp: UdpTrackerSocket, ws: WsTrackerPool } | null = null
  /** The client's DHT node (null when off or unsupported). */
  readonly dht: DhtNode | null = null
  /** The loaded blocklist (null until loaded, or when none was given). */
  private blockedBy: BlocklistPredicate | null = null
  private readonly blocklistPromise: Promise<void>
  /** LSD and NAT traversal (null members when off or unsupported). */
  readonly services: LocalServices
  readonly webSeedsEnabled: boolean

  constructor (opts: ClientOptions = {}) {
    super()
    this.peerId = opts.peerId ?? randomPeerId()
    if (!/^[0-9a-f]{40}$/i.test(this.peerId)) throw new WasmTorrentError('ERR_CLIENT_OPTIONS', 'peerId must be 40 hex characters')
    this.trackerOptions = {
      enabled: opts.tracker !== false,
      announce: typeof opts.tracker === 'object' ? opts.tracker.announce ?? [] : []
    }
    this.downloadLimiter = new RateLimiter(opts.downloadLimit ?? -1)
    this.uploadLimiter = new RateLimiter(opts.uploadLimit ?? -1)
    const secure = Number(opts.secure ?? 1)
    if (secure !== 0 && secure !== 1 && secure !== 2) throw new WasmTorrentError('ERR_CLIENT_OPTIONS', 'secure must be 0, 1 or 2')
    this.pool = new ConnectionPool({
      host: opts.host, utp: opts.utp, maxConnsPerTorrent: opts.maxConns, blocklist: ip => this.blocklist(ip), secure
    })
    // Incoming blocked connections (no torrent yet); dial-time blocks are reported by the torrents.
    this.pool.on('blockedPeer', (addr: string, infoHash: string | null) => { if (infoHash === null) this.emit('blockedPeer', addr, null, undefined) })
    if (typeof opts.blocklist === 'function') this.blockedBy = opts.blocklist
    this.blocklistPromise = opts.blocklist === undefined || typeof opts.blocklist === 'function'
      ? Promise.resolve()
      : loadBlocklist(opts.blocklist).then(l => { this.blockedBy = l.contains }, (err: Error) => {
        // Fail closed: everything stays blocked while the client goes down with the error.
        this.blockedBy = () => true
        if (this.destroyed) return
        const e = new WasmTorrentError('ERR_CLIENT_BLOCKLIST', `failed to load the blocklist: ${err.message}`, { cause: err })
        if (this.listenerCount('error') > 0) this.emit('error', e)
        else console.error(`wasmtorrent: ${e.message}`)
        this.destroy().catch(() => {})
      })
    this.webSeedsEnabled = opts.webSeeds !== false
    this.services = new LocalServices(opts, p => {
      // An LSD peer for a torrent we have (the Lsd only reports announced, non-private ones).
      const t = this.torrents.find(x => x.infoHash === p.infoHash && !x.destroyed)
      t?.discovery?.addPeer(`${p.host}:${p.port}`, 'lsd')
    }, err => this.emit('warning', err))
    if (opts.dht !== false && dhtSupported) {
      const dht = new DhtNode(opts.dht === undefined || opts.dht === true ? {} : opts.dht, { port: opts.dhtPort, host: opts.host, stateFile: opts.dhtStateFile })
      dht.on('warning', (err: Error) => this.emit('warning', err))
      dht.on('error', (err: Error) => this.emit('warning', err)) // cannot listen: no DHT, the client goes on
      this.dht = dht
    }
    // Nothing listens (so nothing connects to us) before the blocklist is loaded.
    this.listenPromise = this.blocklistPromise.then(() => {
      if (this.destroyed) throw new WasmTorrentError('ERR_CLIENT_DESTROYED', 'the client is destroyed')
      return this.pool.listen(opts.torrentPort ?? 0)
    }).then(() => {
      if (this.destroyed) return
      this.listening = true
      this.services.onListening(this.pool.port, this.dht?.port ?? 0)
      this.emit('listening')
    }, (err: WasmTorrentError) => {
      if (this.destroyed) return
      if (err.code !== 'ERR_TRANSPORT_UNSUPPORTED') this.emit('error', err) // browsers cannot listen
    }).finally(() => {
      if (this.destroyed) return
      this.ready = true
      this.emit('ready')
    })
  }

  /** The listening port (0 until listening). */
  get torrentPort (): number {
    return this.pool.port
  }

  address (): { address: string, port: number } | null {
    return this.listening ? { address: '0.0.0.0', port: this.pool.port } : null
  }

  /** Resolves once the client listens (or knows it cannot). */
  whenListening (): Promise<void> {
    return this.listenPromise
  }

  /** The DHT's UDP port (0 without a DHT or until it listens). */
  get dhtPort (): number {
    return this.dht?.port ?? 0
  }

  /** True when `ip` is on the blocklist (false for everything until the list is loaded: nothing connects before). */
  blocklist (ip: string): boolean {
    return this.blockedBy !== null && this.blockedBy(ip) === true
  }

  /** Resolves once the blocklist option is loaded (at once without one). */
  whenBlocklistReady (): Promise<void> {
    return this.blocklistPromise
  }

  /** Adds a torrent by magnet, info-hash, .torrent bytes, parsed torrent, URL or file path. */
  add (torrentId: TorrentId, opts: TorrentOptions | ((t: Torrent) => void) = {}, ontorrent?: (t: Torrent) => void): Torrent {
    if (this.destroyed) throw new WasmTorrentError('ERR_CLIENT_DESTROYED', 'the client is destroyed')
    if (typeof opts === 'function') [opts, ontorrent] = [{}, opts]
    return this.addTorrent(torrentId, opts, ontorrent)
  }

  private addTorrent (source: TorrentId | Promise<PreparedTorrent>, opts: TorrentOptions, ontorrent?: (t: Torrent) => void): Torrent {
    const t = new Torrent(this, source, { ...opts, path: opts.path ?? defaultDownloadPath() })
    this.torrents.push(t)
    t.on('blockedPeer', (addr: string, src?: PeerSource) => this.emit('blockedPeer', addr, t, src))
    t.once('infoHash', () => {
      const dup = this.torrents.find(o => o !== t && o.infoHash === t.infoHash && !o.destroyed)
      if (dup) {
        t.emit('warning', new WasmTorrentError('ERR_CLIENT_DUPLICATE', `torrent ${t.infoHash} is already added`))
        t.destroy().catch(() => {})
        if (ontorrent) { if (dup.ready) ontorrent(dup); else dup.once('ready', () => ontorrent(dup)) }
      }
    })
    t.once('ready', () => {
      if (this.destroyed) return
      ontorrent?.(t)
      this.emit('torrent', t)
    })
    this.emit('add', t)
    return t
  }

  /**
   * Creates a torrent from a file or directory path (Node), Uint8Arrays or Blobs, and seeds it; `onseed` is
   * called once it is ready to upload. Data from paths is served from where it is; buffers from memory.
   */
  seed (input: CreateTorrentInput, opts: TorrentOptions & CreateTorrentOptions | ((t: Torrent) => void) = {}, onseed?: (t: Torrent) => void): Torrent {
    if (this.destroyed) throw new WasmTorrentError('ERR_CLIENT_DESTROYED', 'the client is destroyed')
    if (typeof opts === 'function') [opts, onseed] = [{}, opts]
    const o = opts
    const prepared: Promise<PreparedTorrent> = (async () => {
      const source = await seedSource(input)
      const torrentId = await createTorrent(input, o)
      // Data read from paths was just hashed: no recheck. Buffers are rechecked (cheap) after being stored.
      return { torrentId, opts: { path: source.path ?? o.path, preloadedData: source.data, skipVerify: source.path !== undefined } }
    })()
    const t = this.addTorrent(prepared, o)
    t.once('ready', () => {
      onseed?.(t)
      this.emit('seed', t)
    })
    return t
  }

  /** The torrent with this info-hash / id, or null. */
  async get (torrentId: TorrentId | Torrent): Promise<Torrent | null> {
    if (torrentId instanceof Torrent) return this.torrents.includes(torrentId) ? torrentId : null
    let infoHash: string
    try {
      infoHash = (await parseTorrent(torrentId as TorrentId)).infoHash
    } catch {
      return null
    }
    return this.torrents.find(t => t.infoHash === infoHash) ?? null
  }

  async remove (torrentId: TorrentId | Torrent, opts: { destroyStore?: boolean } = {}): Promise<void> {
    const t = await this.get(torrentId)
    if (!t) throw new WasmTorrentError('ERR_CLIENT_NO_TORRENT', 'no such torrent in this client')
    await t.destroy(opts)
  }

  throttleDownload (rate: number): void {
    this.downloadLimiter.setRate(rate)
  }

  throttleUpload (rate: number): void {
    this.uploadLimiter.setRate(rate)
  }

  get downloadSpeed (): number {
    return this.torrents.reduce((n, t) => n + t.downloadSpeed, 0)
  }

  get uploadSpeed (): number {
    return this.torrents.reduce((n, t) => n + t.uploadSpeed, 0)
  }

  get progress (): number {
    const withMeta = this.torrents.filter(t => t.length > 0)
    const total = withMeta.reduce((n, t) => n + t.length, 0)
    return total === 0 ? 0 : withMeta.reduce((n, t) => n + t.downloaded, 0) / total
  }

  get ratio (): number {
    const received = this.torrents.reduce((n, t) => n + t.received, 0)
    const uploaded = this.torrents.reduce((n, t) => n + t.uploaded, 0)
    return received === 0 ? 0 : uploaded / received
  }

  async destroy (): Promise<void> {
    if (this.destroyed) return
    this.destroyed = true
    await Promise.allSettled(this.torrents.slice().map(t => t.destroy()))
    await Promise.allSettled([this.pool.destroy(), this.dht?.destroy(), this.services.destroy()])
    this.sockets?.udp.close()
    this.sockets?.ws.close()
    this.downloadLimiter.clear()
    this.uploadLimiter.clear()
  }

  // ClientHost
  trackerSockets (): { udp: UdpTrackerSocket, ws: WsTrackerPool } {
    this.sockets ??= { udp: new UdpTrackerSocket(), ws: new WsTrackerPool() }
    return this.sockets
  }

  onTorrentError (torrent: Torrent, err: Error): void {
    if (this.listenerCount('error') > 0) this.emit('error', err)
    else console.error(`wasmtorrent: torrent ${torrent.infoHash || '(unknown)'} failed: ${err.message}`)
  }

  onTorrentClosed (torrent: Torrent): void {
    const i = this.torrents.indexOf(torrent)
    if (i >= 0) {
      this.torrents.splice(i, 1)
      this.emit('remove', torrent)
    }
  }
}
