/** Shapes shared by the HTTP, UDP and WebSocket tracker clients and the per-torrent TrackerClient. */

/** BEP 3 events. `undefined` is a regular (interval) announce. */
export type AnnounceEvent = 'started' | 'completed' | 'stopped'

export interface AnnounceRequest {
  /** 20-byte v1 info-hash. */
  infoHash: Uint8Array
  /** 20-byte peer id. */
  peerId: Uint8Array
  /** Our listening port (TCP/uTP). */
  port: number
  uploaded: number
  downloaded: number
  /** Bytes left; null when unknown (a magnet without metadata): sent as a large number, never 0 (= seeder). */
  left: number | null
  event?: AnnounceEvent
  numwant: number
  /** 32-bit key (BEP 3/15): lets a tracker recognise us across IP changes; constant per client. */
  key: number
  /** Echo of the tracker's `tracker id` (HTTP/WS), when it gave one. */
  trackerId?: Uint8Array
}

export interface TrackerPeer {
  host: string
  port: number
}

export interface AnnounceResponse {
  /** Seconds until the next regular announce, as the tracker said (before our 300 s floor). */
  interval?: number
  /** Seconds the tracker wants between any two announces. */
  minInterval?: number
  /** Seeders. */
  complete?: number
  /** Leechers. */
  incomplete?: number
  /** Completed downloads (HTTP only, optional). */
  downloaded?: number
  trackerId?: Uint8Array
  /** `warning message`: the announce worked, with a note. */
  warning?: string
  peers: TrackerPeer[]
}

export interface ScrapeResult {
  /** 40 hex characters. */
  infoHash: string
  /** Seeders. */
  complete: number
  /** Leechers. */
  incomplete: number
  /** Completed downloads ever. */
  downloaded: number
}

/** Clock and timers; injectable so tests can drive intervals and backoff with a fake clock. */
export interface Timers {
  /** Milliseconds, monotonic enough for scheduling. */
  now (): number
  setTimeout (fn: () => void, ms: number): unknown
  clearTimeout (handle: unknown): void
}

/** Per-request options of the protocol clients. */
export interface RequestOptions {
  signal?: AbortSignal
  /** ms for the whole request (HTTP/WS). UDP uses BEP 15 retransmission instead. */
  timeoutMs?: number
}
