import type { ConnectionPool } from '../transport/index.js'
import type { UdpTrackerSocket, WsTrackerPool } from '../tracker/index.js'
import type { RateLimiter } from '../engine/throttle.js'
import type { Wire } from '../wire/index.js'
import type { WebSeed } from '../webseed/index.js'
import type { StoreFactory } from './store.js'
import type { ResumeData } from './resume.js'
import type { Torrent } from './torrent.js'
import type { LocalServices } from './local-services.js'
import type { TorrentId } from '../metainfo/types.js'
import type { DhtLike } from '../dht/index.js'
import type { PeerSource } from '../discovery/index.js'
import type { TrackerUpdateEvent } from '../tracker/index.js'

/** A torrent id with options known only after preparation (seeding: where the data lives). */
export interface PreparedTorrent {
  torrentId: TorrentId
  opts?: Partial<TorrentOptions>
}

/** What a Torrent needs from its client. */
export interface ClientHost {
  readonly pool: ConnectionPool
  /** Hex peer id. */
  readonly peerId: string
  readonly downloadLimiter: RateLimiter
  readonly uploadLimiter: RateLimiter
  onTorrentError (torrent: Torrent, err: Error): void
  onTorrentClosed (torrent: Torrent): void
  /** Resolves once the listening port is known (or listening is impossible). */
  whenListening (): Promise<void>
  /** The listening port (0 when not listening). */
  readonly torrentPort: number
  /** Tracker settings: false = no trackers; `announce` adds trackers to every non-private torrent. */
  readonly trackerOptions: { enabled: boolean, announce: string[] }
  /** LSD announces and NAT mappings (client-wide). */
  readonly services: LocalServices
  /** Web seeds in use (the webSeeds option). */
  readonly webSeedsEnabled: boolean
  /** Shared by all torrents' tracker clients (created on first use). */
  trackerSockets (): { udp: UdpTrackerSocket, ws: WsTrackerPool }
  /** The client's DHT node, or null (off, or no UDP on this platform). */
  readonly dht: DhtLike | null
  /** True = never connect to this IP (the client's blocklist). */
  blocklist (ip: string): boolean
  /** Resolves once the blocklist is loaded: no peer may be dialed before. */
  whenBlocklistReady (): Promise<void>
}

/** client.add() options (webtorrent's names where they exist). */
export interface TorrentOptions {
  /** Download directory (Node; default <tmpdir>/wasmtorrent). */
  path?: string
  /** Extra trackers. */
  announce?: string[]
  /** Peers to dial at once ('host:port'). */
  peers?: string[]
  /** Store factory (default: file system in Node, memory in browsers). */
  store?: StoreFactory
  /** 'rarest' (default) or 'sequential'. */
  strategy?: 'rarest' | 'sequential'
  /** Fast resume: the pieces known present (BEP 3 bytes), optionally with the info-hash they were saved for. */
  bitfield?: Uint8Array | ResumeData
  /** Trust that every piece is present (no recheck). */
  skipVerify?: boolean
  /** Start with no file selected. */
  deselect?: boolean
  /** File indexes to download (others are skipped); a magnet's `so` does the same. */
  select?: number[]
  paused?: boolean
  /** Upload slots (default 10). */
  uploads?: number
  /** Connections for this torrent (default 55). */
  maxConns?: number
  /** Bytes/s for this torrent (-1 unlimited, 0 blocks). */
  downloadLimit?: number
  uploadLimit?: number
  /** Delete the data when the torrent is destroyed. */
  destroyStoreOnDestroy?: boolean
  /** Treat as private (BEP 27) even before the metadata says so: no PEX. */
  private?: boolean
  /** Extra web seeds (BEP 19) besides the torrent's url-list. */
  urlList?: string[]
  /** HTTP requests in flight per web seed (default 4). */
  maxWebConns?: number
  /** Seeding from memory: the torrent's whole data, written into the store before use. */
  preloadedData?: Uint8Array
}

export interface TorrentEvents {
  [event: string]: (...args: any[]) => void
  infoHash: (infoHash: string) => void
  metadata: () => void
  ready: () => void
  done: () => void
  download: (bytes: number) => void
  upload: (bytes: number) => void
  verified: (index: number) => void
  /** A slow peer's requests in piece `index` moved to a faster peer (webtorrent's event, same arguments). */
  hotswap: (from: Wire | WebSeed, to: Wire | WebSeed, index: number) => void
  /** A BitTorrent peer connection is ready. */
  wire: (wire: Wire, address: string) => void
  /** A web seed (BEP 19) joined the swarm. */
  webSeed: (webSeed: WebSeed) => void
  /** A peer address handed to the connection pool (new to it), with where it came from. */
  peer: (address: string, source: PeerSource) => void
  /** An address refused by the blocklist (source undefined when refused by the pool at dial time). */
  blockedPeer: (address: string, source?: PeerSource) => void
  invalidPeer: (address: unknown) => void
  /** A tracker answered an announce. */
  trackerAnnounce: (info: TrackerUpdateEvent) => void
  /** A DHT announce finished. */
  dhtAnnounce: () => void
  /** `source` ('tracker' or 'dht') has not given any peer yet (every 30 s). */
  noPeers: (source: PeerSource) => void
  warning: (err: Error) => void
  error: (err: Error) => void
  close: () => void
}
