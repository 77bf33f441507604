/**
 * BEP 14 Local Service Discovery: one instance per client. It announces the client's torrents to the local
 * network over UDP multicast (239.192.152.143:6771) and reports the peers it hears as `'peer'` events.
 *
 *     const lsd = new Lsd()
 *     lsd.on('peer', ({ host, port, infoHash }) => torrent.addPeer(`${host}:${port}`))
 *     lsd.announce(torrent, client.torrentPort)   // torrent: { infoHash, private }
 *     lsd.remove(torrent.infoHash)
 *     await lsd.destroy()
 *
 * Rate limits (defaults; all are options):
 * - each torrent is announced when added and then every `interval` (5 min, BEP 14 and libtorrent's
 *   local_service_announce_interval);
 * - never twice within `minTorrentInterval` (60 s): BEP 14 asks for no more than one announce per minute, and
 *   a caller that calls announce() in a loop cannot flood the network — extra calls are coalesced (counted in
 *   `stats.rateLimited`);
 * - packets leave at most one per `minSendInterval` (1 s) across all torrents. This is libtorrent's global cap:
 *   its session timer announces one torrent per max(interval / torrents, 1 s). When more torrents are due, they
 *   wait in the order they became due, so with N torrents the refresh period stretches to max(5 min, N s).
 * - like libtorrent we put one info-hash in each packet (BEP 14 allows several, but older implementations,
 *   e.g. Transmission, read only the first), and unlike libtorrent we send each announce once instead of three
 *   times (it resends after 2 s and 6 s): peers already listening hear us now, later ones within `interval`.
 *
 * Private torrents (BEP 27) are never announced: announce() throws ERR_LSD_PRIVATE for one, the torrent's
 * `private` flag is read again before each send (a magnet whose metadata turns out private is dropped then),
 * and peers heard for a private or unknown torrent are not reported.
 *
 * Received packets are ignored (and counted in `stats`) when they do not parse, carry our own cookie, or come
 * from outside our interfaces' subnets. Peers heard for a torrent we do not announce (yet) are remembered for
 * one `interval` (at most `maxHeard` of them) and reported when that torrent is announced: a torrent added
 * after its LAN peers announced it learns them at once instead of at their next announce, up to 5 min later.
 * Socket problems are 'warning's: LSD is a best-effort peer source and never an 'error'.
 */
import { Emitter } from '../util/emitter.js'
import { WasmTorrentError } from '../errors.js'
import { formatLsdMessage, parseLsdMessage, isInfoHashHex, LSD_GROUP_V4, LSD_PORT } from './message.js'
import { createLsdSocket, lsdSupported, type LsdSocket, type LsdSocketOptions } from './platform.js'

export interface LsdOptions {
  /** Re-announce period per torrent, ms (default 5 min). */
  interval?: number
  /** Minimum time between two announces of one torrent, ms (default 60 s). */
  minTorrentInterval?: number
  /** Minimum time between two packets, ms (default 1 s). */
  minSendInterval?: number
  /** IP_MULTICAST_TTL (default 1: the local link; BEP 14 allows more, LSD is meant to stay local). */
  ttl?: number
  /** IPv4 addresses of the interfaces to use (default: all non-internal IPv4 interfaces). */
  interfaces?: string[]
  /** Our cookie (default 8 random hex digits, like libtorrent's). */
  cookie?: string
  /** UDP port and group (default 6771 and 239.192.152.143; for tests). */
  port?: number
  group?: string
  /** Ignore announces from addresses outside our interfaces' subnets (default true, like libtorrent). */
  onLinkOnly?: boolean
  /** Peers heard for torrents we do not announce, remembered for `interval` (default 1000 at most). */
  maxHeard?: number
  /** A socket factory other than the platform's (tests, other runtimes). */
  createSocket?: (opts: LsdSocketOptions) => LsdSocket
}

/** What announce() needs of a torrent. Pass the Torrent itself: `private` is re-read before every send. */
export interface LsdTorrent {
  readonly infoHash: string
  readonly private?: boolean
}

export interface LsdPeer {
  host: string
  port: number
  infoHash: string
}

export interface LsdStats {
  /** Packets sent (one per announce, counted once however many interfaces it went out on). */
  sent: number
  /** Packets received, ours included. */
  received: number
  /** 'peer' events emitted. */
  peers: number
  /** Our own announces looped back (matched by cookie). */
  ownIgnored: number
  /** Packets that did not parse as a BEP 14 announce. */
  invalid: number
  /** Packets from addresses outside our subnets. */
  offLink: number
  /** Info-hashes heard that we do not announce (or that are private). */
  unknown: number
  /** announce() calls coalesced: the torrent was already waiting to be sent, or sent < minTorrentInterval ago. */
  rateLimited: number
}

type LsdEvents = {
  [event: string]: (...args: any[]) => void // eslint-disable-line @typescript-eslint/no-explicit-any
  peer: (peer: LsdPeer) => void
  /** After each announce packet: its info-hash and the number of interfaces it went out on. */
  sent: (infoHash: string, interfaces: number) => void
  listening: () => void
  warning: (err: Error) => void
}

interface Entry {
  torrent: LsdTorrent
  port: number
  /** When the torrent was last sent (ms), -Infinity if never. */
  lastSent: number
  /** When it should be sent next (ms), before rate limits. */
  due: number
  /** Order in which entries became due (FIFO among due entries). */
  seq: number
}

function randomCookie (): string {
  const b = new Uint8Array(4)
  globalThis.crypto.getRandomValues(b)
  b[0] &= 0x7f // libtorrent's cookies are 31-bit
  return Array.from(b, x => x.toString(16).padStart(2, '0')).join('')
}

export class Lsd extends Emitter<LsdEvents> {
  readonly cookie: string
  readonly stats: LsdStats = { sent: 0, received: 0, peers: 0, ownIgnored: 0, invalid: 0, offLink: 0, unknown: 0, rateLimited: 0 }
  listening = false
  destroyed = false
  private readonly interval: number
  private readonly minTorrentInterval: number
  private readonly minSendInterval: number
  private readonly onLinkOnly: boolean
  private readonly entries = new Map<string, Entry>()
  /** Peers heard for info-hashes we do not announce: key "ih host:port", oldest first. */
  private readonly heard = new Map<string, LsdPeer & { at: number }>()
  private readonly maxHeard: number
  private socket: LsdSocket | null = null
  private readonly opened: Promise<void>
  private timer: ReturnType<typeof setTimeout> | null = null
  private timerAt = Infinity
  private lastPacket = -Infinity
  private sending = false
  private seq = 0
  private warnedNoInterface = false

  constructor (opts: LsdOptions = {}) {
    super()
    this.interval = opts.interval ?? 5 * 60_000
    this.minTorrentInterval = opts.minTorrentInterval ?? 60_000
    this.minSendInterval = opts.minSendInterval ?? 1000
    this.onLinkOnly = opts.onLinkOnly ?? true
    this.maxHeard = opts.maxHeard ?? 1000
    this.cookie = opts.cookie ?? randomCookie()
    if (!/^[\x21-\x7e]{1,64}$/.test(this.cookie)) throw new WasmTorrentError('ERR_LSD_OPTIONS', 'cookie must be 1-64 printable ASCII characters')
    for (const [name, v] of [['interval', this.interval], ['minTorrentInterval', this.minTorrentInterval], ['minSendInterval', this.minSendInterval]] as const) {
      if (!Number.isFinite(v) || v < 0) throw new WasmTorrentError('ERR_LSD_OPTIONS', `${name} must be a non-negative number of ms`)
    }
    const create = opts.createSocket ?? (lsdSupported ? createLsdSocket : null)
    if (create === null) {
      this.opened = Promise.resolve()
      queueMicrotask(() => this.warn(new WasmTorrentError('ERR_LSD_UNSUPPORTED', 'Local Service Discovery needs UDP multicast, which this platform lacks')))
      return
    }
    const socket = create({ group: opts.group ?? LSD_GROUP_V4, port: opts.port ?? LSD_PORT, ttl: opts.ttl ?? 1, interfaces: opts.interfaces })
    this.socket = socket
    socket.onMessage((data, from) => this.onMessage(data, from))
    socket.onError(err => this.warn(err))
    this.opened = socket.open().then(() => {
      if (this.destroyed) return
      this.listening = true
      this.emit('listening')
      this.schedule()
    }, (err: Error) => {
      this.socket = null
      socket.close()
      if (!this.destroyed) this.warn(err)
    })
  }

  /** Resolves once the socket is bound (or failed to bind: see 'warning'). */
  ready (): Promise<void> {
    return this.opened
  }

  /**
   * Announces `torrent` (now, then every `interval`) with our BitTorrent listening `port`. Calling it again
   * asks for a prompt re-announce (still at most one per `minTorrentInterval`) and updates the port.
   * Throws ERR_LSD_PRIVATE for a private torrent and ERR_LSD_ARGS for a bad info-hash or port.
   */
  announce (torrent: LsdTorrent, port: number): void {
    if (this.destroyed) throw new WasmTorrentError('ERR_LSD_DESTROYED', 'LSD is destroyed')
    if (torrent.private === true) throw new WasmTorrentError('ERR_LSD_PRIVATE', 'private torrents (BEP 27) are never announced on LSD')
    if (typeof torrent.infoHash !== 'string' || !isInfoHashHex(torrent.infoHash)) throw new WasmTorrentError('ERR_LSD_ARGS', 'infoHash must be 40 hex characters')
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new WasmTorrentError('ERR_LSD_ARGS', `invalid port ${port}`)
    const ih = torrent.infoHash.toLowerCase()
    const now = Date.now()
    const e = this.entries.get(ih)
    if (e === undefined) {
      this.entries.set(ih, { torrent, port, lastSent: -Infinity, due: now, seq: this.seq++ })
      this.replayHeard(ih, now)
    } else {
      e.torrent = torrent
      // Coalesced: already waiting to be sent, or sent less than minTorrentInterval ago.
      if (e.due <= now || now - e.lastSent < this.minTorrentInterval) this.stats.rateLimited++
      if (e.port !== port || e.due > now) {
        e.port = port
        e.due = now
        e.seq = this.seq++
      }
    }
    this.schedule()
  }

  /** Stops announcing `infoHash` and reporting its peers. */
  remove (infoHash: string): void {
    this.entries.delete(infoHash.toLowerCase())
    this.schedule()
  }

  /** Info-hashes currently announced. */
  get infoHashes (): string[] {
    return [...this.entries.keys()]
  }

  async destroy (): Promise<void> {
    if (this.destroyed) return
    this.destroyed = true
    this.listening = false
    this.entries.clear()
    this.heard.clear()
    if (this.timer !== null) clearTimeout(this.timer)
    this.timer = null
    this.socket?.close()
    this.socket = null
  }

  private warn (err: Error): void {
    if (this.listenerCount('warning') > 0) this.emit('warning', err)
  }

  /** The earliest time `e` may be sent. */
  private eligibleAt (e: Entry): number {
    return Math.max(e.due, e.lastSent + this.minTorrentInterval)
  }

  /** (Re)arms the single timer for the next packet. */
  private schedule (): void {
    if (this.destroyed || !this.listening || this.sending) return
    let next = Infinity
    for (const e of this.entries.values()) next = Math.min(next, this.eligibleAt(e))
    if (next === Infinity) {
      if (this.timer !== null) clearTimeout(this.timer)
      this.timer = null
      this.timerAt = Infinity
      return
    }
    next = Math.max(next, this.lastPacket + this.minSendInterval)
    if (this.timer !== null && this.timerAt === next) return
    if (this.timer !== null) clearTimeout(this.timer)
    this.timerAt = next
    this.timer = setTimeout(() => {
      this.timer = null
      this.timerAt = Infinity
      this.sendNext().catch(err => this.warn(err as Error))
    }, Math.max(0, next - Date.now()))
    // LSD alone never keeps a process alive (the client's listening socket does).
    ;(this.timer as { unref?: () => void }).unref?.()
  }

  private async sendNext (): Promise<void> {
    if (this.destroyed || this.socket === null) return
    const now = Date.now()
    if (now - this.lastPacket < this.minSendInterval) return this.schedule()
    let pick: Entry | null = null
    let ih = ''
    for (const [key, e] of this.entries) {
      if (this.eligibleAt(e) > now) continue
      if (pick === null || e.due < pick.due || (e.due === pick.due && e.seq < pick.seq)) { pick = e; ih = key }
    }
    if (pick === null) return this.schedule()
    if (pick.torrent.private === true) {
      // The metadata arrived and says private: never announce it, drop it.
      this.entries.delete(ih)
      this.warn(new WasmTorrentError('ERR_LSD_PRIVATE', `torrent ${ih} is private (BEP 27): no longer announced on LSD`))
      return this.schedule()
    }
    pick.lastSent = now
    pick.due = now + this.interval
    pick.seq = this.seq++
    this.lastPacket = now
    this.stats.sent++
    const data = formatLsdMessage({ port: pick.port, infoHashes: [ih], cookie: this.cookie })
    this.sending = true
    let sentOn = 0
    try {
      sentOn = await this.socket.send(data)
    } finally {
      this.sending = false
    }
    if (this.destroyed) return
    if (sentOn === 0 && !this.warnedNoInterface) {
      this.warnedNoInterface = true
      this.warn(new WasmTorrentError('ERR_LSD_NO_INTERFACE', 'no IPv4 interface to send LSD announces on'))
    } else if (sentOn > 0) {
      this.warnedNoInterface = false
    }
    this.emit('sent', ih, sentOn)
    this.schedule()
  }

  private onMessage (data: Uint8Array, from: { address: string, port: number }): void {
    if (this.destroyed) return
    this.stats.received++
    const msg = parseLsdMessage(data)
    if (msg === null) { this.stats.invalid++; return }
    if (msg.cookie === this.cookie) { this.stats.ownIgnored++; return }
    if (this.onLinkOnly && this.socket !== null && !this.socket.isOnLink(from.address)) { this.stats.offLink++; return }
    for (const ih of msg.infoHashes) {
      const e = this.entries.get(ih)
      if (e === undefined) {
        this.stats.unknown++
        this.remember({ host: from.address, port: msg.port, infoHash: ih, at: Date.now() })
        continue
      }
      if (e.torrent.private === true) { this.stats.unknown++; continue }
      this.stats.peers++
      this.emit('peer', { host: from.address, port: msg.port, infoHash: ih })
    }
  }

  private remember (p: LsdPeer & { at: number }): void {
    if (this.maxHeard <= 0) return
    const key = `${p.infoHash} ${p.host}:${p.port}`
    this.heard.delete(key)
    this.heard.set(key, p)
    while (this.heard.size > this.maxHeard) this.heard.delete(this.heard.keys().next().value as string)
  }

  /** Reports peers heard for `ih` within the last `interval`, now that we announce it. */
  private replayHeard (ih: string, now: number): void {
    const found: LsdPeer[] = []
    for (const [key, p] of this.heard) {
      if (now - p.at > this.interval) { this.heard.delete(key); continue }
      if (p.infoHash !== ih) continue
      this.heard.delete(key)
      found.push({ host: p.host, port: p.port, infoHash: p.infoHash })
    }
    if (found.length === 0) return
    queueMicrotask(() => {
      for (const p of found) {
        const e = this.entries.get(ih)
        if (this.destroyed || e === undefined || e.torrent.private === true) return
        this.stats.peers++
        this.emit('peer', p)
      }
    })
  }
}
