/**
 * Making web seeds for a torrent: createWebSeeds() for a one-off list, WebSeedSet for a Torrent's lifetime
 * (url-list, addWebSeed(url)): one web seed per URL, refused URLs reported as warnings, and a web seed the
 * engine banned for bad data (closed with ERR_PEER_BANNED) is never added again (case 27). A web seed that
 * closed for other reasons (too many failures) may be added again with add().
 */
import { Emitter } from '../util/emitter.js'
import { WasmTorrentError } from '../errors.js'
import { WebSeedError } from './errors.js'
import type { WebSeedTorrent } from './layout.js'
import { WebSeed, type WebSeedOptions } from './web-seed.js'

/**
 * One WebSeed per distinct URL of `urls`; URLs it refuses (bad scheme, SSRF rules, duplicates) are passed to
 * `onRefused` with a WebSeedError and skipped.
 */
export function createWebSeeds (torrent: WebSeedTorrent, urls: Iterable<string>, opts: WebSeedOptions = {},
  onRefused?: (err: WebSeedError, url: string) => void): WebSeed[] {
  const out: WebSeed[] = []
  const seen = new Set<string>()
  for (const raw of urls) {
    const url = typeof raw === 'string' ? raw.trim() : ''
    if (seen.has(url)) {
      onRefused?.(new WebSeedError('ERR_WEBSEED_URL', `duplicate web seed ${url}`, { url, fatal: true }), url)
      continue
    }
    seen.add(url)
    try {
      out.push(new WebSeed(url, torrent, opts))
    } catch (err) {
      onRefused?.(err instanceof WebSeedError ? err : new WebSeedError('ERR_WEBSEED_URL', String(err), { cause: err, url, fatal: true }), url)
    }
  }
  return out
}

export interface WebSeedSetEvents {
  [event: string]: (...args: any[]) => void // eslint-disable-line @typescript-eslint/no-explicit-any
  /** A new web seed: hand it to the swarm (swarm.addWire) and list it among the torrent's wires. */
  webSeed: (ws: WebSeed) => void
  /** A URL was refused, or a web seed closed with an error (ERR_PEER_BANNED, ERR_WEBSEED_*). */
  warning: (err: Error) => void
}

export class WebSeedSet extends Emitter<WebSeedSetEvents> {
  /** URLs of web seeds banned for bad data: never added again. */
  readonly banned = new Set<string>()
  private readonly live = new Map<string, WebSeed>()
  private readonly torrent: WebSeedTorrent
  private readonly opts: WebSeedOptions
  destroyed = false

  constructor (torrent: WebSeedTorrent, opts: WebSeedOptions = {}) {
    super()
    this.torrent = torrent
    this.opts = opts
  }

  /** Open web seeds. */
  get webSeeds (): WebSeed[] {
    return [...this.live.values()]
  }

  /** Adds a web seed for `url`; null (and a 'warning') when it is refused, a duplicate or banned. */
  add (rawUrl: string): WebSeed | null {
    const url = typeof rawUrl === 'string' ? rawUrl.trim() : ''
    const refuse = (err: WebSeedError): null => {
      this.emit('warning', err)
      return null
    }
    if (this.destroyed) return null
    if (this.live.has(url)) return refuse(new WebSeedError('ERR_WEBSEED_URL', `duplicate web seed ${url}`, { url, fatal: true }))
    if (this.banned.has(url)) return refuse(new WebSeedError('ERR_WEBSEED_BANNED', `web seed ${url} was banned for sending bad data`, { url, fatal: true }))
    let ws: WebSeed
    try {
      ws = new WebSeed(url, this.torrent, this.opts)
    } catch (err) {
      return refuse(err instanceof WebSeedError ? err : new WebSeedError('ERR_WEBSEED_URL', String(err), { cause: err, url, fatal: true }))
    }
    this.live.set(url, ws)
    ws.once('close', (reason?: Error) => {
      if (this.live.get(url) === ws) this.live.delete(url)
      if ((reason as WasmTorrentError | undefined)?.code === 'ERR_PEER_BANNED') this.banned.add(url)
      if (reason !== undefined && !this.destroyed) {
        const code = (reason as WasmTorrentError).code ?? 'ERR_WEBSEED_FAILED'
        this.emit('warning', new WebSeedError(code, `web seed ${url} closed: ${reason.message}`, { url, cause: reason, fatal: true }))
      }
    })
    this.emit('webSeed', ws)
    return ws
  }

  /** Adds every URL of a list (url-list). */
  addAll (urls: Iterable<string>): WebSeed[] {
    const out: WebSeed[] = []
    for (const u of urls) {
      const ws = this.add(u)
      if (ws !== null) out.push(ws)
    }
    return out
  }

  destroy (): void {
    if (this.destroyed) return
    this.destroyed = true
    for (const ws of [...this.live.values()]) ws.destroy()
    this.live.clear()
  }
}
