import type { Wire } from '../wire/index.js'
import type { PieceVerifier } from './verifier.js'
import type { RateLimiter } from './throttle.js'
import type { ChunkStore } from '../storage/index.js'

/**
 * What the engine needs of a peer: a Wire, or anything acting as one (a BEP 19 web seed). The members are
 * picked from Wire so the two cannot drift apart.
 */
export type SwarmPeer = Pick<Wire,
  'destroyed' | 'peerPieces' | 'amInterested' | 'amChoking' | 'peerChoking' | 'peerInterested' | 'peerAllowedFast' |
  'requestCount' | 'requests' | 'peerExtendedHandshake' | 'hasFast' | 'hasExtended' | 'peerId' | 'remoteAddress' |
  'remotePort' | 'setPieces' | 'interested' | 'uninterested' | 'choke' | 'unchoke' | 'have' | 'bitfield' |
  'haveAll' | 'haveNone' | 'request' | 'cancel' | 'downloadSpeed' | 'uploadSpeed' | 'destroy' | 'on' | 'once'> &
  Partial<Pick<Wire, 'blockSink'>>

/** What the engine needs of a chunk store (src/storage implements it). */
export interface PieceStore {
  put (index: number, data: Uint8Array): Promise<void>
  get (index: number, opts?: { offset?: number, length?: number }): Promise<Uint8Array>
  /** Hands a verified piece's write to the verifier's thread (ChunkStore.putDelegated). */
  putDelegated?: ChunkStore['putDelegated']
}

export interface SwarmOptions {
  pieceLength: number
  /** Total bytes of the torrent (pad files included). */
  length: number
  /** 20-byte SHA-1 per piece, concatenated. */
  pieceHashes: Uint8Array
  store: PieceStore
  verifier?: PieceVerifier
  /** 'rarest' (default) or 'sequential' piece order. */
  strategy?: 'rarest' | 'sequential'
  /** Pieces we already have (verified, e.g. resume). BEP 3 bytes. */
  bitfield?: Uint8Array
  /** Upload slots: peers unchoked at once besides the optimistic one (default 10, webtorrent's `uploads`). */
  uploads?: number
  /** Start with no piece selected (webtorrent's `deselect`). */
  deselect?: boolean
  /** Bytes/s (-1 unlimited, 0 blocks); changeable later through swarm.downloadLimiter/uploadLimiter. */
  downloadLimit?: number
  uploadLimit?: number
  /** The client-wide limiters this torrent's limiters draw from. */
  downloadParent?: RateLimiter
  uploadParent?: RateLimiter
}

export interface SwarmEvents {
  [event: string]: (...args: any[]) => void
  /** A piece passed its hash check and was stored. */
  verified: (index: number) => void
  /** A piece failed its hash check (its data is discarded and downloaded again). */
  hashfail: (index: number) => void
  /** A peer was banned for sending bad data (smart ban). */
  ban: (wire: SwarmPeer, reason: string) => void
  download: (bytes: number) => void
  upload: (bytes: number) => void
  /** A slow peer's outstanding requests in piece `index` were moved to a faster peer. */
  hotswap: (from: SwarmPeer, to: SwarmPeer, index: number) => void
  /** Every selected piece is verified. */
  done: () => void
  warning: (err: Error) => void
  wire: (wire: SwarmPeer) => void
}
