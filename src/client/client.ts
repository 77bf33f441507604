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
import { ConnectionPool, UTP_SUPPORT, type Blocklist } from '../transport/index.js'
import { UdpTrackerSocket, WsTrackerPool } from '../tracker/index.js'
import { RateLimiter } from '../engine/throttle.js'
import { createTorrent, type CreateTorrentOptions, type CreateTorrentInput } from '../metainfo/index.js'
import type { TorrentId } from '../metainfo/types.js'
import { parseTorrent } from '../metainfo/parse-torrent.js'
import { defaultDownloadPath } from '#client-platform'
import { Torrent } from './torrent.js'
import { randomPeerId } from './peer-id.js'
import { seedSource } from './seed-source.js'
import type { ClientHost, PreparedTorrent, TorrentOptions } from './types.js'

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
  /** A predicate over IP addresses: true = never connect. */
  blocklist?: Blocklist
  /** Trackers: true (default), false (none), or { announce } to add trackers to every non-private torrent. */
  tracker?: boolean | { announce?: string[] }
}

type ClientEvents = {
  [event: string]: (...args: any[]) => void
  add: (t: Torrent) => void
  torrent: (t: Torrent) => void
  seed: (t: Torrent) => void
  remove: (t: Torrent) => void
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
    this.pool = new ConnectionPool({ host: opts.host, utp: opts.utp, maxConnsPerTorrent: opts.maxConns, blocklist: opts.blocklist })
    this.listenPromise = this.pool.listen(opts.torrentPort ?? 0).then(() => {
      if (this.destroyed) return
      this.listening = true
      this.emit('listening')
    }, (err: WasmTorrentError) => {
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

  /** Adds a torrent by magnet, info-hash, .torrent bytes, parsed torrent, URL or file path. */
  add (torrentId: TorrentId, opts: TorrentOptions | ((t: Torrent) => void) = {}, ontorrent?: (t: Torrent) => void): Torrent {
    if (this.destroyed) throw new WasmTorrentError('ERR_CLIENT_DESTROYED', 'the client is destroyed')
    if (typeof opts === 'function') [opts, ontorrent] = [{}, opts]
    return this.addTorrent(torrentId, opts, ontorrent)
  }

  private addTorrent (source: TorrentId | Promise<PreparedTorrent>, opts: TorrentOptions, ontorrent?: (t: Torrent) => void): Torrent {
    const t = new Torrent(this, source, { ...opts, path: opts.path ?? defaultDownloadPath() })
    this.torrents.push(t)
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
    await this.pool.destroy()
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
