/**
 * IP blocklists: parsing into sorted, merged ranges with a binary-search lookup.
 *
 * Accepted, one entry per line (or one per array element):
 *  - a single address:          `1.2.3.4`, `2001:db8::1`
 *  - a range:                   `1.2.3.0-1.2.3.255` (spaces around `-` allowed), IPv6 too
 *  - CIDR:                      `10.0.0.0/8`, `2001:db8::/32`
 *  - P2P (PeerGuardian) format: `some name:1.2.3.0-1.2.3.255` (the name may contain `:`)
 *  - eMule ipfilter.dat format: `001.002.003.004 - 001.002.003.005 , 000 , name`; as in eMule and
 *    qBittorrent, an access level above 127 means "allowed", so such lines block nothing
 *  - comments and blank lines (`#`, `//`, `;`) are skipped
 * Anything else is a bad line: ignored and counted (`ignored`), never an error, so one typo in a 200,000-line
 * list does not disable the list. IPv4 addresses may be zero-padded (`001.002.003.004` is 1.2.3.4, decimal).
 * IPv4-mapped IPv6 addresses (`::ffff:1.2.3.4`) are IPv4 both in lists and in lookups.
 *
 * Bounds: at most `maxRanges` ranges per address family (2,000,000 by default; the biggest public lists have
 * under a million) — more is ERR_BLOCKLIST_TOO_LARGE rather than a silently partial list. Byte limits on files
 * and downloads are in load.ts.
 *
 * IPv4 ranges live in two Uint32Arrays (8 bytes per range); IPv6 ranges in bigint arrays.
 */
import { WasmTorrentError } from '../errors.js'
import { ipToBytes } from '../util/ip.js'

export const DEFAULT_BLOCKLIST_MAX_RANGES = 2_000_000
/** Ranges are sorted by start*2^21+index in a Float64Array (exact up to 2^53): the per-family hard cap. */
const SORT_INDEX_BITS = 21
const HARD_MAX_RANGES = 2 ** SORT_INDEX_BITS

export type IpRange = { v: 4, start: number, end: number } | { v: 6, start: bigint, end: bigint }

const MAX_V6 = (1n << 128n) - 1n

function toV6 (b: Uint8Array): bigint {
  let n = 0n
  for (const x of b) n = (n << 8n) | BigInt(x)
  return n
}

function toV4 (b: Uint8Array): number {
  return ((b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3]) >>> 0
}

/** An IP literal as a number (IPv4) or bigint (IPv6); IPv4-mapped IPv6 counts as IPv4. */
export function ipToNumber (ip: string): { v: 4, n: number } | { v: 6, n: bigint } | null {
  const b = ipToBytes(ip.trim())
  if (b === null) return null
  return b.length === 4 ? { v: 4, n: toV4(b) } : { v: 6, n: toV6(b) }
}

/** Parses one range spec: an address, `a-b`, or `addr/len`. Null when it is none of these. */
export function parseRange (spec: string): IpRange | null {
  const s = spec.trim()
  if (s === '') return null
  const slash = s.indexOf('/')
  if (slash >= 0) {
    const base = ipToNumber(s.slice(0, slash))
    const lenText = s.slice(slash + 1).trim()
    if (base === null || !/^\d{1,3}$/.test(lenText)) return null
    const len = Number(lenText)
    if (base.v === 4) {
      // '::ffff:1.2.3.0/120' style prefixes are not worth the trouble: IPv4 CIDR only with an IPv4 base text.
      if (len > 32 || s.slice(0, slash).includes(':')) return null
      const size = 2 ** (32 - len)
      const start = Math.floor(base.n / size) * size
      return { v: 4, start, end: start + size - 1 }
    }
    if (len > 128) return null
    const hostBits = BigInt(128 - len)
    const start = (base.n >> hostBits) << hostBits
    return { v: 6, start, end: start | ((1n << hostBits) - 1n) }
  }
  const dash = findRangeDash(s)
  if (dash >= 0) {
    const a = ipToNumber(s.slice(0, dash))
    const b = ipToNumber(s.slice(dash + 1))
    if (a === null || b === null || a.v !== b.v) return null
    if (a.v === 4) {
      const bn = b.n as number
      return a.n <= bn ? { v: 4, start: a.n, end: bn } : null
    }
    const bn = b.n as bigint
    return a.n <= bn ? { v: 6, start: a.n, end: bn } : null
  }
  const one = ipToNumber(s)
  if (one === null) return null
  return one.v === 4 ? { v: 4, start: one.n, end: one.n } : { v: 6, start: one.n, end: one.n }
}

/** The '-' separating two addresses (IPv6 text has no '-', so the only one). */
function findRangeDash (s: string): number {
  const i = s.indexOf('-')
  return i > 0 && s.indexOf('-', i + 1) < 0 ? i : -1
}

const P2P_LINE = /^(.*):\s*(\d{1,3}(?:\.\d{1,3}){3})\s*-\s*(\d{1,3}(?:\.\d{1,3}){3})\s*$/
const DAT_LINE = /^\s*(\d{1,3}(?:\.\d{1,3}){3})\s*-\s*(\d{1,3}(?:\.\d{1,3}){3})\s*,\s*(\d+)\s*(?:,.*)?$/

export type LineResult = IpRange | 'skip' | 'bad'

/** Parses one line of a blocklist file (any of the formats above). */
export function parseBlocklistLine (raw: string): LineResult {
  const line = raw.trim()
  if (line === '' || line.startsWith('#') || line.startsWith('//') || line.startsWith(';')) return 'skip'
  const dat = DAT_LINE.exec(line)
  if (dat !== null) {
    if (Number(dat[3]) > 127) return 'skip' // eMule: access level > 127 is "allowed"
    return parseRange(`${dat[1]}-${dat[2]}`) ?? 'bad'
  }
  const direct = parseRange(line)
  if (direct !== null) return direct
  const p2p = P2P_LINE.exec(line)
  if (p2p !== null) return parseRange(`${p2p[2]}-${p2p[3]}`) ?? 'bad'
  return 'bad'
}

export interface BlocklistParseOptions {
  /** Ranges per address family before ERR_BLOCKLIST_TOO_LARGE (default 2,000,000). */
  maxRanges?: number
}

/** A parsed blocklist: sorted, merged, non-overlapping ranges with O(log n) lookups. */
export class IpBlocklist {
  /** Lines (or entries) that could not be parsed and were ignored. */
  readonly ignored: number
  private readonly v4Start: Uint32Array
  private readonly v4End: Uint32Array
  private readonly v6Start: bigint[]
  private readonly v6End: bigint[]

  /** @internal Use parse() or fromRanges(). */
  constructor (v4Start: Uint32Array, v4End: Uint32Array, v6Start: bigint[], v6End: bigint[], ignored: number) {
    this.v4Start = v4Start
    this.v4End = v4End
    this.v6Start = v6Start
    this.v6End = v6End
    this.ignored = ignored
  }

  /** From lines of text (a file's contents, or an array of entries). */
  static parse (input: string | readonly string[], opts: BlocklistParseOptions = {}): IpBlocklist {
    const max = Math.min(opts.maxRanges ?? DEFAULT_BLOCKLIST_MAX_RANGES, HARD_MAX_RANGES)
    const b = new Builder(max)
    if (typeof input === 'string') {
      let from = 0
      while (from <= input.length) {
        let to = input.indexOf('\n', from)
        if (to < 0) to = input.length
        b.line(input.slice(from, to))
        from = to + 1
      }
    } else {
      for (const s of input) {
        if (typeof s !== 'string') { b.ignored++; continue }
        b.line(s)
      }
    }
    return b.build()
  }

  /** From ranges already parsed. */
  static fromRanges (ranges: Iterable<IpRange>, opts: BlocklistParseOptions = {}): IpBlocklist {
    const b = new Builder(Math.min(opts.maxRanges ?? DEFAULT_BLOCKLIST_MAX_RANGES, HARD_MAX_RANGES))
    for (const r of ranges) b.add(r)
    return b.build()
  }

  /** Merged IPv4 ranges. */
  get v4Ranges (): number {
    return this.v4Start.length
  }

  /** Merged IPv6 ranges. */
  get v6Ranges (): number {
    return this.v6Start.length
  }

  /** Addresses covered (IPv4 only; IPv6 counts are astronomically large). */
  get v4Addresses (): number {
    let n = 0
    for (let i = 0; i < this.v4Start.length; i++) n += this.v4End[i] - this.v4Start[i] + 1
    return n
  }

  /** True when `ip` (an IP literal, IPv6 with or without brackets) is in a range. Host names are never blocked. */
  contains (ip: string): boolean {
    const x = ipToNumber(ip)
    if (x === null) return false
    return x.v === 4 ? inRanges(this.v4Start, this.v4End, x.n) : inRanges(this.v6Start, this.v6End, x.n)
  }

  /** The merged ranges as text ('a-b'), for debugging and tests. */
  toRanges (): string[] {
    const out: string[] = []
    const v4 = (n: number): string => `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`
    for (let i = 0; i < this.v4Start.length; i++) out.push(`${v4(this.v4Start[i])}-${v4(this.v4End[i])}`)
    for (let i = 0; i < this.v6Start.length; i++) out.push(`${this.v6Start[i].toString(16)}-${this.v6End[i].toString(16)}`)
    return out
  }
}

class Builder {
  ignored = 0
  private v4s: number[] = []
  private v4e: number[] = []
  private v6: Array<[bigint, bigint]> = []

  constructor (private readonly max: number) {}

  line (s: string): void {
    const r = parseBlocklistLine(s)
    if (r === 'skip') return
    if (r === 'bad') { this.ignored++; return }
    this.add(r)
  }

  add (r: IpRange): void {
    if (r.v === 4) {
      if (this.v4s.length >= this.max) throw tooLarge(this.max)
      this.v4s.push(r.start)
      this.v4e.push(r.end)
    } else {
      if (this.v6.length >= this.max) throw tooLarge(this.max)
      if (r.start < 0n || r.end > MAX_V6) return
      this.v6.push([r.start, r.end])
    }
  }

  build (): IpBlocklist {
    // IPv4: sort by start through exact float keys start*2^21+i, then merge overlapping/adjacent ranges.
    const n = this.v4s.length
    const keys = new Float64Array(n)
    for (let i = 0; i < n; i++) keys[i] = this.v4s[i] * HARD_MAX_RANGES + i
    keys.sort()
    const starts: number[] = []
    const ends: number[] = []
    for (let k = 0; k < n; k++) {
      const i = keys[k] % HARD_MAX_RANGES
      const s = this.v4s[i]
      const e = this.v4e[i]
      const last = ends.length - 1
      if (last >= 0 && s <= ends[last] + 1) {
        if (e > ends[last]) ends[last] = e
      } else {
        starts.push(s)
        ends.push(e)
      }
    }
    this.v6.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    const s6: bigint[] = []
    const e6: bigint[] = []
    for (const [s, e] of this.v6) {
      const last = e6.length - 1
      if (last >= 0 && s <= e6[last] + 1n) {
        if (e > e6[last]) e6[last] = e
      } else {
        s6.push(s)
        e6.push(e)
      }
    }
    return new IpBlocklist(Uint32Array.from(starts), Uint32Array.from(ends), s6, e6, this.ignored)
  }
}

function tooLarge (max: number): WasmTorrentError {
  return new WasmTorrentError('ERR_BLOCKLIST_TOO_LARGE', `blocklist has more than ${max} ranges`)
}

/** `n` lies in one of the sorted, non-overlapping ranges [starts[i], ends[i]]: binary search for the last start <= n. */
function inRanges<T extends number | bigint> (starts: ArrayLike<T>, ends: ArrayLike<T>, n: T): boolean {
  let lo = 0
  let hi = starts.length - 1
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1
    if (starts[mid] <= n) lo = mid + 1
    else hi = mid - 1
  }
  return hi >= 0 && ends[hi] >= n
}
