/**
 * The HTTP seam of web seeds ("#webseed-platform" in package.json): Node gets undici, with DNS answers checked
 * by the caller and connections pinned to those answers; browsers get fetch. The browser bundle therefore never
 * contains node:* or undici.
 */
export { createWebSeedHttp } from '#webseed-platform'

export interface RangeRequest {
  url: string
  /** Inclusive byte range (the HTTP Range header's form). */
  start: number
  end: number
  signal: AbortSignal
  userAgent: string
}

export interface RangeResponse {
  status: number
  /** A response header by lower-case name; null when absent (or, in browsers, not exposed by CORS). */
  header (name: string): string | null
  /** The URL that answered (browsers: after the redirects fetch followed). */
  url: string
  /** fetch followed at least one redirect (browsers only). */
  redirected: boolean
  body: AsyncIterable<Uint8Array>
  /** Stops reading the body and releases (or closes) the connection. */
  cancel (): void
}

export interface WebSeedHttp {
  /**
   * Node: false, 3xx answers are returned and the caller follows them, checking every hop. Browsers: true,
   * fetch follows redirects itself (a cross-origin redirect cannot be inspected there).
   */
  readonly followsRedirects: boolean
  /** Node: true. Browsers: false, CORS hides response headers such as Content-Range unless the server exposes them. */
  readonly seesAllHeaders: boolean
  /**
   * The addresses `host` (a name, not a literal) resolves to, or null where names cannot be resolved
   * (browsers). Node pins them: connections to `host` go to exactly these addresses, and an answer that turns
   * from public to local (or back) during the web seed's life is refused (DNS rebinding).
   */
  resolve (host: string): Promise<string[] | null>
  get (req: RangeRequest): Promise<RangeResponse>
  /** Closes idle and open connections. */
  close (): void
}

export interface WebSeedHttpOptions {
  /** Connections per origin (maxWebConns). */
  connections: number
  timeoutMs: number
}
