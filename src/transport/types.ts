/**
 * The platform seam between the connection pool (platform-neutral) and the byte transports. Node provides TCP
 * (node:net) and uTP (utp-native) in node.ts; browsers get browser.ts, which has neither (WebRTC wires will be
 * handed to the pool with `pool.accept()` / future dialers). package.json "#transport" picks one at build time,
 * so the browser bundle never contains node:net, node:dgram or utp-native.
 */
import type { ByteStream } from '../wire/types.js'

export type TransportKind = 'tcp' | 'utp'

/** A connected byte stream from a transport: a net.Socket or a utp-native connection. */
export interface TransportSocket extends ByteStream {
  remoteAddress?: string
  remotePort?: number
  /** Local port of the connection (a TCP socket's ephemeral port; a uTP connection's shared UDP port). */
  localPort?: number
}

/** How a connection's bytes travel: no MSE, an MSE handshake then plaintext, or RC4 throughout. */
export type EncryptionMode = 'plaintext' | 'mse-plaintext' | 'mse-rc4'

/** A connection wrapped for MSE/PE (acceptEncrypted, dialEncrypted). */
export interface EncryptedSocket extends TransportSocket {
  /** How the bytes travel once the MSE handshake is done; null while it runs or after it failed. */
  readonly mode: EncryptionMode | null
  /** Why the MSE handshake failed (a WasmTorrentError, code ERR_MSE_*), else null. */
  readonly failure: Error | null
}

export interface IncomingConnection {
  kind: TransportKind
  socket: TransportSocket
  remoteAddress: string
  remotePort: number
}

export interface DialOptions {
  /** ms before the attempt fails with ERR_TRANSPORT_CONNECT_TIMEOUT. */
  timeout: number
  signal?: AbortSignal
}

export interface TransportOptions {
  /** uTP on (default true where utp-native loads). false: no UDP socket at all. */
  utp?: boolean
  /** Ports tried when `listen(0)` finds the TCP port taken on UDP (default 10). */
  listenAttempts?: number
}

export interface Transport {
  /** TCP is available (false in browsers). */
  readonly tcp: boolean
  /** uTP is enabled and available (utp-native loaded and `utp` not turned off). */
  readonly utp: boolean
  /** The shared TCP/uTP port once listening, else 0. */
  readonly port: number
  /**
   * Listens for TCP and (when enabled) uTP on the same port number. `port` 0 picks a free TCP port, then binds
   * UDP on that number, retrying with a new port a bounded number of times if UDP is taken. An explicit port
   * that cannot be bound on both rejects with ERR_TRANSPORT_LISTEN.
   */
  listen (port: number, host: string | undefined, onConnection: (c: IncomingConnection) => void): Promise<number>
  /**
   * Wraps an incoming connection so that peers opening with an MSE/PE encrypted handshake can connect too
   * (plaintext handshakes pass through unless `rc4Only`). `infoHashes` lists the torrents they may ask for.
   * `rc4Only` refuses plaintext handshakes and MSE offers without RC4 (ERR_MSE_*). Node only.
   */
  acceptEncrypted? (socket: TransportSocket, infoHashes: () => Iterable<string>, opts?: { rc4Only?: boolean }): EncryptedSocket
  /**
   * Wraps a connection we dialed for torrent `infoHash`: it opens with the MSE/PE handshake, offering plaintext
   * or RC4 (only RC4 with `rc4Only`); bytes written meanwhile wait for it. Node only.
   */
  dialEncrypted? (socket: TransportSocket, opts: { infoHash: string, rc4Only?: boolean }): EncryptedSocket
  /** One connection attempt on one transport. uTP dials go out from the listening UDP socket (listen first). */
  dial (kind: TransportKind, host: string, port: number, opts: DialOptions): Promise<TransportSocket>
  /** Stops listening and releases the sockets; connections must be destroyed by their owners first. */
  close (): Promise<void>
}

export type CreateTransport = (opts?: TransportOptions) => Transport
