/**
 * The platform seam of the tracker layer ("#tracker-platform" in package.json): Node gets undici (HTTP with a
 * decompressed-size limit and SSRF-checked DNS answers, and its WebSocket) and node:dgram for UDP trackers;
 * browsers get fetch, the global WebSocket, and no UDP. The browser bundle therefore never contains node:* or
 * undici.
 */
export { httpGet, udpSupported, createUdpSocket, lookupHost, WebSocketImpl } from '#tracker-platform'

export interface HttpGetOptions {
  /** Body limit in bytes, counted after decompression (gzip bombs stop here). */
  maxBytes: number
  timeoutMs: number
  signal?: AbortSignal
  /** SSRF mitigation: refuse to connect when the host resolves to a loopback address (Node only). */
  refuseLoopback: boolean
  userAgent: string
}

export interface HttpResult {
  status: number
  /** Location header of a 3xx answer (redirects are followed by the caller, which re-checks each hop). */
  location?: string
  body: Uint8Array
}

export interface DatagramSocket {
  send (data: Uint8Array, port: number, address: string): void
  onMessage (fn: (data: Uint8Array, from: { address: string, port: number }) => void): void
  onError (fn: (err: Error) => void): void
  /** Keep the process alive while requests are pending (Node); no-op elsewhere. */
  ref (): void
  unref (): void
  close (): void
}

export interface ResolvedHost {
  address: string
  family: 4 | 6
}

/** The subset of the WHATWG WebSocket the WS tracker client uses. */
export interface WebSocketLike {
  readonly readyState: number
  binaryType: string
  send (data: string): void
  close (code?: number, reason?: string): void
  addEventListener (type: string, fn: (ev: any) => void): void // eslint-disable-line @typescript-eslint/no-explicit-any
  removeEventListener (type: string, fn: (ev: any) => void): void // eslint-disable-line @typescript-eslint/no-explicit-any
}

export type WebSocketConstructor = new (url: string) => WebSocketLike
