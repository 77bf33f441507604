import type { Bitfield } from '../bitfield/index.js'
import type { ExtendedHandshake } from './extension.js'

export type WireType = 'tcpIncoming' | 'tcpOutgoing' | 'utpIncoming' | 'utpOutgoing' | 'webrtc' | 'webSeed'

/**
 * The duplex byte stream a Wire runs over: the subset of a Node socket / stream.Duplex it uses. A net.Socket,
 * a utp-native socket and a simple-peer WebRTC connection all fit.
 */
export interface ByteStream {
  /** `done` is called once the stream no longer needs `chunk` (Node streams: the write callback). */
  write (chunk: Uint8Array, done?: (err?: Error | null) => void): unknown
  on (event: 'data', fn: (chunk: Uint8Array) => void): unknown
  on (event: 'drain' | 'end' | 'close', fn: () => void): unknown
  on (event: 'error', fn: (err: Error) => void): unknown
  destroy (err?: Error): unknown
  /** Used when WireOptions does not give the address (net.Socket has them). */
  remoteAddress?: string
  remotePort?: number
  /**
   * True when a 'data' chunk is only valid during its event (the stream reads into one reused buffer, which
   * saves an allocation and many syscalls per read): the Wire then copies what it keeps.
   */
  transientChunks?: boolean
}

export interface WireOptions {
  type?: WireType
  remoteAddress?: string
  remotePort?: number
  /** Piece count, when the torrent's metadata is known. */
  pieces?: number
  /** Our listening port, sent as `p` in the extended handshake. */
  listenPort?: number
  /** `v` in the extended handshake. */
  clientVersion?: string
  /** ms without the peer's handshake before closing (default 10 s, libtorrent's handshake_timeout). */
  handshakeTimeout?: number
  /** ms without receiving anything before closing (default 120 s, libtorrent's peer_timeout). */
  inactivityTimeout?: number
  /** ms before a pending request fails with ERR_WIRE_REQUEST_TIMEOUT (default 60 s, libtorrent's). */
  requestTimeout?: number
  /** ms of not sending before a keep-alive (default 60 s). */
  keepAliveInterval?: number
  /** Requests the peer may have outstanding with us; also sent as `reqq` (default 500, libtorrent's). */
  maxPeerRequests?: number
}

/**
 * Lets the owner of a wire's downloads (the engine) receive blocks straight into its own buffers. `target` is
 * asked when a piece message's header arrives for a pending request; a buffer it returns is filled and then
 * delivered to the request's callback as the block (the same object). `landed` is told when such a block
 * completed after its request was cancelled or timed out (the bytes are in the buffer; the callback is not called).
 */
export interface BlockSink {
  target (index: number, begin: number, length: number): Uint8Array | null
  landed (index: number, begin: number, block: Uint8Array): void
}

export type RespondFn = (err: Error | null, block?: Uint8Array) => void

export interface WireEvents {
  [event: string]: (...args: any[]) => void
  handshake: (infoHash: string, peerId: string, flags: { extended: boolean, fast: boolean, dht: boolean }) => void
  /** Both handshakes are done (extension and fast negotiation settled). */
  ready: () => void
  'keep-alive': () => void
  choke: () => void
  unchoke: () => void
  interested: () => void
  uninterested: () => void
  have: (index: number) => void
  bitfield: (bitfield: Bitfield) => void
  'have-all': () => void
  'have-none': () => void
  request: (index: number, begin: number, length: number, respond: RespondFn) => void
  piece: (index: number, begin: number, block: Uint8Array) => void
  cancel: (index: number, begin: number, length: number) => void
  reject: (index: number, begin: number, length: number) => void
  suggest: (index: number) => void
  'allowed-fast': (index: number) => void
  port: (port: number) => void
  /** name 'handshake' with the peer's extended handshake, or an extension name with its payload. */
  extended: (name: string, payload: Uint8Array | ExtendedHandshake) => void
  timeout: (index: number, begin: number, length: number) => void
  download: (bytes: number) => void
  upload: (bytes: number) => void
  drain: () => void
  close: (reason?: Error) => void
}
