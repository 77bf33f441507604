/**
 * ut_pex (BEP 11): peer exchange.
 *
 *     const UtPex = utPex({ private: torrent.private })   // one class per torrent (or the default `UtPex`)
 *     const pex = wire.use(UtPex) as UtPexExtension
 *     pex.on('peer', p => swarm.addPeer(p.host, p.port))   // also 'dropped', and 'pex' with whole messages
 *     pex.sendPex({ added: [{ host, port, flags }], dropped: [...] })
 *
 * Private torrents (BEP 27) must not use PEX. The caller should not install the extension on a private
 * torrent's wires (as libtorrent does not create its ut_pex plugin for them); as a guard, a class made with
 * `utPex({ private: true })` removes `ut_pex` from our extended handshake, ignores what the peer sends, and
 * sends nothing.
 *
 * Receiving (bad-input case 23), with libtorrent's numbers:
 *  - a message over 500 KiB closes the wire with ERR_PEX_MESSAGE_TOO_LARGE, and an undecodable one or one
 *    that is not a dict with ERR_PEX_INVALID_MESSAGE (libtorrent disconnects for both);
 *  - at most 6 messages per 60 s are processed; further ones are ignored ('warning' ERR_PEX_TOO_FREQUENT).
 *    libtorrent keeps the times of the last 6 and disconnects on the 7th within a minute; ignoring is gentler
 *    (a rate-limited connection may deliver queued messages back to back) and costs nothing;
 *  - at most 50 added and 50 dropped entries of a message are used (the agreed limit per message, and
 *    libtorrent's max_pex_peers); the rest are ignored;
 *  - entries that cannot be right are skipped: port 0, unspecified, broadcast, multicast or reserved
 *    (240/4) addresses, IPv4-mapped IPv6 addresses, local addresses (private, link-local, loopback, ULA)
 *    from a peer that is not itself local, and loopback addresses from a peer that is not loopback;
 *  - `added.f` is used only when it has one byte per added entry; otherwise flags are 0.
 *
 * Sending: sendPex() queues changes; a message goes out at once if none was sent to this peer in the last
 * minute, otherwise when the minute is over (BEP 11: not more often than once a minute). A message carries at
 * most 50 added and 50 dropped entries (IPv4 and IPv6 together, the convention BEP 11 clients agreed on); the
 * rest wait for the next message. An address added and dropped before it was sent is never sent; a drop is
 * sent only for an address this peer was told about.
 */
import { Emitter } from '../../util/emitter.js'
import { WasmTorrentError, WireProtocolError } from '../../errors.js'
import { bencode } from '../../bencode/index.js'
import type { Wire } from '../wire.js'
import { bytesToIp, ipToBytes } from '../../util/ip.js'
import type { WireExtension, WireExtensionClass } from '../extension.js'

/** libtorrent disconnects a peer whose ut_pex message is larger than 500 KiB. */
export const MAX_PEX_MESSAGE = 500 * 1024
/** Added (and dropped) entries per message, sent or used on receipt. */
export const MAX_PEX_PEERS = 50
/** Messages processed per PEX_WINDOW from one peer (libtorrent tolerates 6 a minute). */
export const MAX_PEX_MESSAGES = 6
export const PEX_WINDOW = 60_000
/** Minimum time between two messages we send to one peer (BEP 11: once a minute). */
export const PEX_INTERVAL = 60_000

/** BEP 11 flag bits. */
export const PEX_FLAG = {
  /** prefers encryption (the `e` field of its extended handshake) */
  ENCRYPTION: 0x01,
  /** seed / upload only */
  SEED: 0x02,
  /** supports uTP */
  UTP: 0x04,
  /** supports ut_holepunch */
  HOLEPUNCH: 0x08,
  /** reachable: the sender's connection to it is outgoing */
  REACHABLE: 0x10
} as const

export interface PexFlags {
  encryption: boolean
  seed: boolean
  utp: boolean
  holepunch: boolean
  /** BEP 11 0x10: the sender made an outgoing connection to the peer, so it accepts connections. */
  reachable: boolean
  /** The raw flag byte (reserved bits included). */
  bits: number
}

export interface PexPeer {
  /** Dotted IPv4 or RFC 5952 IPv6 text. */
  host: string
  port: number
  family: 4 | 6
  flags: PexFlags
}

export interface PexPeerInput {
  host: string
  port: number
  /** A flag byte or flags by name (missing ones false). */
  flags?: number | Partial<Omit<PexFlags, 'bits'>>
}

export interface UtPexOptions {
  /** The torrent is private: the extension is inert and not advertised. */
  private?: boolean
  /** Minimum ms between our messages to one peer (default 60 s; lower it only in tests). */
  interval?: number
}

// A type alias, not an interface: Emitter needs the implicit index signature.
export type UtPexEvents = {
  /** An added peer from a PEX message. */
  peer: (peer: PexPeer) => void
  /** A dropped peer from a PEX message. */
  dropped: (peer: PexPeer) => void
  /** One PEX message's usable entries (after the 'peer' / 'dropped' events for them). */
  pex: (msg: { added: PexPeer[], dropped: PexPeer[] }) => void
  /** Input that was ignored (typed error with the reason). */
  warning: (err: WasmTorrentError) => void
}

export interface UtPexClass extends WireExtensionClass {
  new (wire: Wire): UtPexExtension
  prototype: UtPexExtension
}

/** Returns a ut_pex extension class (see the module comment). */
export function utPex (opts: UtPexOptions = {}): UtPexClass {
  const cfg = { private: opts.private === true, interval: opts.interval ?? PEX_INTERVAL }
  class TorrentUtPex extends UtPexExtension {
    constructor (wire: Wire) {
      super(wire, cfg)
    }
  }
  return TorrentUtPex
}

interface Entry { bytes: Uint8Array, port: number, flags: number }

/** One wire's ut_pex extension. Create it through `wire.use(utPex(...))` or `wire.use(UtPex)`. */
export class UtPexExtension extends Emitter<UtPexEvents> implements WireExtension {
  declare name: string
  readonly wire: Wire
  readonly private: boolean
  /** Messages received and ignored for coming too often. */
  ignoredMessages = 0

  private readonly interval: number
  private readonly received: number[] = []
  private peerSupports = false
  private lastSent = -Infinity
  private timer: ReturnType<typeof setTimeout> | null = null
  /** key -> entry: waiting to be sent as added / dropped; what this peer was told about. */
  private readonly pendingAdded = new Map<string, Entry>()
  private readonly pendingDropped = new Map<string, Entry>()
  private readonly announced = new Set<string>()

  /** @internal */
  constructor (wire: Wire, cfg: { private: boolean, interval: number }) {
    super()
    this.wire = wire
    this.private = cfg.private
    this.interval = cfg.interval
    // Not advertised for a private torrent: the peer then never sends ut_pex to us.
    if (this.private) delete wire.extendedHandshake.m?.ut_pex
  }

  /** True once the peer announced ut_pex (and the torrent is not private). */
  get supported (): boolean {
    return this.peerSupports && !this.private
  }

  /**
   * Queues peers to announce as added and/or dropped (see the module comment for when they are sent).
   * Returns false (nothing queued) for a private torrent or a closed wire. Throws ERR_PEX_INVALID_PEER for an
   * entry that is not an IP address with a port in 1..65535.
   */
  sendPex (msg: { added?: PexPeerInput[], dropped?: PexPeerInput[] }): boolean {
    if (this.private || this.wire.destroyed) return false
    const parse = (p: PexPeerInput): [string, Entry] => {
      const bytes = addressBytes(p.host)
      if (bytes === null || !Number.isInteger(p.port) || p.port < 1 || p.port > 65535) {
        throw new WasmTorrentError('ERR_PEX_INVALID_PEER', `not a peer address: ${p.host}:${p.port}`)
      }
      return [keyOf(bytes, p.port), { bytes, port: p.port, flags: encodeFlags(p.flags) }]
    }
    const added = (msg.added ?? []).map(parse)
    const dropped = (msg.dropped ?? []).map(parse)
    for (const [key, e] of added) {
      this.pendingDropped.delete(key)
      if (!this.announced.has(key)) this.pendingAdded.set(key, e)
    }
    for (const [key, e] of dropped) {
      this.pendingAdded.delete(key)
      if (this.announced.has(key)) this.pendingDropped.set(key, e)
    }
    this.maybeSend()
    return true
  }

  // ------------------------------------------------------------------ WireExtension hooks

  onExtendedHandshake (): void {
    this.peerSupports = true
    this.maybeSend()
  }

  onMessage (payload: Uint8Array): void {
    if (this.private) return
    if (payload.length > MAX_PEX_MESSAGE) {
      // Thrown inside the wire's message handler: the wire closes with this error.
      throw new WireProtocolError('ERR_PEX_MESSAGE_TOO_LARGE', `ut_pex message of ${payload.length} bytes`)
    }
    const now = Date.now()
    while (this.received.length > 0 && now - this.received[0] >= PEX_WINDOW) this.received.shift()
    if (this.received.length >= MAX_PEX_MESSAGES) {
      this.ignoredMessages++
      this.emit('warning', new WasmTorrentError('ERR_PEX_TOO_FREQUENT',
        `more than ${MAX_PEX_MESSAGES} ut_pex messages within ${PEX_WINDOW / 1000} s: ignored`))
      return
    }
    this.received.push(now)
    let dict: Record<string, unknown>
    try {
      const v = bencode.decode(payload, { maxDepth: 4, maxTokens: 1000 })
      if (typeof v !== 'object' || v === null || Array.isArray(v) || v instanceof Uint8Array) throw new Error('not a dictionary')
      dict = v as Record<string, unknown>
    } catch (err) {
      throw new WireProtocolError('ERR_PEX_INVALID_MESSAGE', 'undecodable ut_pex message: ' + (err as Error).message)
    }
    const remote = classify(this.wire.remoteAddress)
    const added: PexPeer[] = []
    const dropped: PexPeer[] = []
    const seen = new Set<string>()
    let skipped = 0
    const take = (key: string, flagKey: string | null, size: 6 | 18, out: PexPeer[]): void => {
      const list = dict[key]
      if (!(list instanceof Uint8Array)) return
      const n = Math.floor(list.length / size)
      const fl = flagKey === null ? undefined : dict[flagKey]
      const flags = fl instanceof Uint8Array && fl.length === n ? fl : null
      for (let i = 0; i < n && out.length < MAX_PEX_PEERS; i++) {
        const o = i * size
        const bytes = list.subarray(o, o + size - 2)
        const port = list[o + size - 2] << 8 | list[o + size - 1]
        const k = key + keyOf(bytes, port)
        if (seen.has(k)) continue
        seen.add(k)
        if (!usable(bytes, port, remote)) { skipped++; continue }
        out.push({ host: formatAddress(bytes), port, family: size === 6 ? 4 : 6, flags: decodeFlags(flags === null ? 0 : flags[i]) })
      }
    }
    take('added', 'added.f', 6, added)
    take('added6', 'added6.f', 18, added)
    take('dropped', null, 6, dropped)
    take('dropped6', null, 18, dropped)
    if (skipped > 0) {
      this.emit('warning', new WasmTorrentError('ERR_PEX_BAD_ADDRESS', `${skipped} unusable ut_pex entries ignored`))
    }
    for (const p of added) this.emit('peer', p)
    for (const p of dropped) this.emit('dropped', p)
    this.emit('pex', { added, dropped })
  }

  onClose (): void {
    if (this.timer !== null) clearTimeout(this.timer)
    this.timer = null
  }

  // ------------------------------------------------------------------ sending

  private maybeSend (): void {
    if (!this.supported || this.wire.destroyed || this.timer !== null) return
    if (this.pendingAdded.size === 0 && this.pendingDropped.size === 0) return
    const wait = this.lastSent + this.interval - Date.now()
    if (wait > 0) {
      this.timer = setTimeout(() => { this.timer = null; this.maybeSend() }, wait)
      return
    }
    const added: Entry[] = []
    const dropped: Entry[] = []
    for (const [key, e] of this.pendingAdded) {
      if (added.length >= MAX_PEX_PEERS) break
      added.push(e)
      this.pendingAdded.delete(key)
      this.announced.add(key)
    }
    for (const [key, e] of this.pendingDropped) {
      if (dropped.length >= MAX_PEX_PEERS) break
      dropped.push(e)
      this.pendingDropped.delete(key)
      this.announced.delete(key)
    }
    const v4 = (e: Entry): boolean => e.bytes.length === 4
    const v6 = (e: Entry): boolean => e.bytes.length === 16
    this.wire.extended('ut_pex', {
      added: compact(added.filter(v4)),
      'added.f': Uint8Array.from(added.filter(v4), e => e.flags),
      added6: compact(added.filter(v6)),
      'added6.f': Uint8Array.from(added.filter(v6), e => e.flags),
      dropped: compact(dropped.filter(v4)),
      dropped6: compact(dropped.filter(v6))
    })
    this.lastSent = Date.now()
    // Anything left (over 50) goes in the next message, a minute later.
    if (this.pendingAdded.size > 0 || this.pendingDropped.size > 0) this.maybeSend()
  }
}
UtPexExtension.prototype.name = 'ut_pex'

/** The default ut_pex class for public torrents. */
export const UtPex: UtPexClass = utPex()

// ------------------------------------------------------------------ addresses and flags

function keyOf (bytes: Uint8Array, port: number): string {
  return Array.from(bytes).join('.') + ':' + port
}

function compact (entries: Entry[]): Uint8Array {
  const size = entries.length > 0 ? entries[0].bytes.length + 2 : 0
  const out = new Uint8Array(entries.length * size)
  entries.forEach((e, i) => {
    out.set(e.bytes, i * size)
    out[i * size + size - 2] = e.port >> 8
    out[i * size + size - 1] = e.port & 255
  })
  return out
}

function encodeFlags (f: PexPeerInput['flags']): number {
  if (f === undefined) return 0
  if (typeof f === 'number') return f & 0xff
  return (f.encryption ? PEX_FLAG.ENCRYPTION : 0) | (f.seed ? PEX_FLAG.SEED : 0) | (f.utp ? PEX_FLAG.UTP : 0) |
    (f.holepunch ? PEX_FLAG.HOLEPUNCH : 0) | (f.reachable ? PEX_FLAG.REACHABLE : 0)
}

export function decodeFlags (bits: number): PexFlags {
  return {
    encryption: (bits & PEX_FLAG.ENCRYPTION) !== 0,
    seed: (bits & PEX_FLAG.SEED) !== 0,
    utp: (bits & PEX_FLAG.UTP) !== 0,
    holepunch: (bits & PEX_FLAG.HOLEPUNCH) !== 0,
    reachable: (bits & PEX_FLAG.REACHABLE) !== 0,
    bits
  }
}

/** 4 bytes for dotted IPv4 (also ::ffff:a.b.c.d), 16 for IPv6 text, or null. */
const addressBytes = ipToBytes

/** Dotted IPv4, or IPv6 in RFC 5952 form (lower case, longest run of 2+ zero groups as ::). */
export const formatAddress = bytesToIp

type Scope = 'loopback' | 'local' | 'global' | 'bad'

function scopeOf (b: Uint8Array): Scope {
  if (b.length === 4) {
    const [a, c] = b
    if (a === 0 || a >= 224) return 'bad' // 0/8 this network, 224/4 multicast, 240/4 reserved, broadcast
    if (a === 127) return 'loopback'
    if (a === 10 || (a === 172 && (c & 0xf0) === 16) || (a === 192 && c === 168) || (a === 169 && c === 254)) return 'local'
    return 'global'
  }
  if (b.every(x => x === 0)) return 'bad' // ::
  if (b[0] === 0xff) return 'bad' // multicast
  if (b.subarray(0, 10).every(x => x === 0) && b[10] === 0xff && b[11] === 0xff) return 'bad' // ::ffff:a.b.c.d
  if (b.subarray(0, 15).every(x => x === 0) && b[15] === 1) return 'loopback' // ::1
  if (b[0] === 0xfe && (b[1] & 0x80) === 0x80) return 'local' // fe80::/10 link-local, fec0::/10 site-local
  if ((b[0] & 0xfe) === 0xfc) return 'local' // fc00::/7 unique local
  return 'global'
}

function classify (addr: string | undefined): Scope {
  const b = addr === undefined ? null : addressBytes(addr)
  // An unknown address (e.g. a WebRTC peer) is treated as remote: local entries from it are not trusted.
  return b === null ? 'global' : scopeOf(b)
}

function usable (bytes: Uint8Array, port: number, remote: Scope): boolean {
  if (port === 0) return false
  const s = scopeOf(bytes)
  if (s === 'bad') return false
  if (s === 'loopback') return remote === 'loopback'
  if (s === 'local') return remote === 'loopback' || remote === 'local'
  return true
}
