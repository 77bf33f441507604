/**
 * Magnet URIs (BEP 9, BEP 53, BEP 52 `btmh`): parse and build.
 *
 * Parsing is strict where it matters and lenient where real links are sloppy:
 *  - an `xt` must be `urn:btih:` with 40 hex or 32 base32 characters, or `urn:btmh:1220` + 64 hex (sha2-256);
 *    a magnet with neither is ERR_MAGNET_INVALID; a btmh-only magnet parses (infoHashV2) but parseTorrent
 *    refuses it as v2-only (ERR_TORRENT_NOT_V1);
 *  - other values are percent-decoded; a value with a malformed escape is kept as written;
 *  - `tr`, `ws`, `as`, `xs`, `x.pe` may repeat, also as BEP 9's numbered `tr.1=` form, and are de-duplicated.
 */
import { MagnetError } from './errors.js'
import { base32Decode } from './base32.js'
import { composeRanges, parseRanges } from './bep53.js'
import { fromHex, isHex, toHex } from './text.js'
import type { MagnetTorrent } from './types.js'

/** A magnet's content, with the v1 info-hash optional (btmh-only magnets have none). */
export type MagnetData = Omit<MagnetTorrent, 'infoHash' | 'infoHashBuffer'> & {
  infoHash?: string
  infoHashBuffer?: Uint8Array
  /** Acceptable sources (`as`), also included in urlList. */
  acceptableSources?: string[]
  /** Web seeds (`ws`), also included in urlList. */
  webSeeds?: string[]
}

function decodeValue (v: string): string {
  try {
    return decodeURIComponent(v)
  } catch {
    return v
  }
}

function push (list: string[], v: string): void {
  if (v !== '' && !list.includes(v)) list.push(v)
}

/** Parses the btih/btmh topic of an `xt` value into `out`; returns false when it is neither. */
function parseTopic (xt: string, out: MagnetData): boolean {
  const lower = xt.toLowerCase()
  if (lower.startsWith('urn:btih:')) {
    const h = xt.slice(9)
    if (isHex(h, 40)) {
      out.infoHash = h.toLowerCase()
    } else if (h.length === 32) {
      const b = base32Decode(h)
      if (!b) throw new MagnetError('ERR_MAGNET_INVALID', `invalid base32 info-hash in xt=${xt}`)
      out.infoHash = toHex(b)
    } else {
      throw new MagnetError('ERR_MAGNET_INVALID', `info-hash in xt=${xt} is neither 40 hex nor 32 base32 characters`)
    }
    out.infoHashBuffer = fromHex(out.infoHash)
    return true
  }
  if (lower.startsWith('urn:btmh:')) {
    const mh = xt.slice(9)
    // multihash: 0x12 = sha2-256, 0x20 = 32 bytes.
    if (!(mh.length === 68 && mh.slice(0, 4) === '1220' && isHex(mh, 68))) {
      throw new MagnetError('ERR_MAGNET_INVALID', `xt=${xt} is not a sha2-256 multihash (urn:btmh:1220 + 64 hex)`)
    }
    out.infoHashV2 = mh.slice(4).toLowerCase()
    return true
  }
  return false
}

/** Parses a BitTorrent magnet URI. Throws MagnetError (ERR_MAGNET_INVALID) when it has no usable topic. */
export function parseMagnet (uri: string): MagnetData {
  if (typeof uri !== 'string') throw new MagnetError('ERR_MAGNET_INVALID', 'a magnet URI must be a string')
  const m = /^(?:stream-)?magnet:\??(.*)$/is.exec(uri.trim())
  if (!m) throw new MagnetError('ERR_MAGNET_INVALID', 'not a magnet URI (expected "magnet:?")')
  const out: MagnetData = { announce: [], urlList: [], peerAddresses: [] }
  const webSeeds: string[] = []
  const acceptable: string[] = []
  const exact: string[] = []
  const keywords: string[] = []
  let topics = 0
  let sawXt = false
  for (const param of m[1].split('&')) {
    const eq = param.indexOf('=')
    if (eq <= 0) continue
    // BEP 9 allows numbered keys (xt.1, tr.2); x.pe is a key of its own.
    let key = param.slice(0, eq).toLowerCase()
    if (key !== 'x.pe') key = key.replace(/\.\d+$/, '')
    const raw = param.slice(eq + 1)
    switch (key) {
      case 'xt':
        sawXt = true
        if (parseTopic(decodeValue(raw), out)) topics++
        break
      case 'dn':
        out.name = decodeValue(raw.replace(/\+/g, ' '))
        break
      case 'tr': push(out.announce, decodeValue(raw)); break
      case 'ws': push(webSeeds, decodeValue(raw)); break
      case 'as': push(acceptable, decodeValue(raw)); break
      case 'xs': push(exact, decodeValue(raw)); break
      case 'x.pe': push(out.peerAddresses, decodeValue(raw)); break
      case 'kt':
        for (const k of decodeValue(raw.replace(/\+/g, ' ')).split(' ')) push(keywords, k)
        break
      case 'so':
        out.so = [...new Set([...(out.so ?? []), ...parseRanges(decodeValue(raw))])].sort((a, b) => a - b)
        break
      default:
        break
    }
  }
  if (topics === 0) {
    throw new MagnetError('ERR_MAGNET_INVALID', sawXt
      ? 'magnet has no BitTorrent topic (xt=urn:btih:... or urn:btmh:...)'
      : 'magnet has no xt= parameter')
  }
  // magnet-uri reports `as` before `ws` in urlList.
  for (const u of [...acceptable, ...webSeeds]) push(out.urlList, u)
  if (webSeeds.length) out.webSeeds = webSeeds
  if (acceptable.length) out.acceptableSources = acceptable
  if (exact.length) out.exactSources = exact
  if (keywords.length) out.keywords = keywords
  return out
}

export interface MagnetInput {
  infoHash?: string
  infoHashBuffer?: Uint8Array
  infoHashV2?: string
  name?: string
  announce?: string | string[]
  urlList?: string | string[]
  peerAddresses?: string[]
  exactSources?: string[]
  so?: number[]
  keywords?: string[]
}

function list (v: string | string[] | undefined): string[] {
  return v === undefined ? [] : Array.isArray(v) ? v : [v]
}

/**
 * Builds a magnet URI, in the order xt, dn, tr, ws, xs, x.pe, so, kt, escaped as npm magnet-uri does (so a
 * parsed torrent gives the same string as magnet-uri for the same fields).
 */
export function toMagnetURI (t: MagnetInput): string {
  const parts: string[] = []
  const infoHash = t.infoHash?.toLowerCase() ?? (t.infoHashBuffer ? toHex(t.infoHashBuffer) : undefined)
  if (infoHash !== undefined) {
    if (!isHex(infoHash, 40)) throw new MagnetError('ERR_MAGNET_INVALID', 'infoHash must be 40 hex characters')
    parts.push(`xt=urn:btih:${infoHash}`)
  }
  if (t.infoHashV2 !== undefined) {
    if (!isHex(t.infoHashV2, 64)) throw new MagnetError('ERR_MAGNET_INVALID', 'infoHashV2 must be 64 hex characters')
    parts.push(`xt=urn:btmh:1220${t.infoHashV2.toLowerCase()}`)
  }
  if (parts.length === 0) throw new MagnetError('ERR_MAGNET_INVALID', 'a magnet needs an infoHash or infoHashV2')
  if (t.name !== undefined && t.name !== '') parts.push(`dn=${encodeURIComponent(t.name).replace(/%20/g, '+')}`)
  for (const u of new Set(list(t.announce))) parts.push(`tr=${encodeURIComponent(u)}`)
  for (const u of new Set(list(t.urlList))) parts.push(`ws=${encodeURIComponent(u)}`)
  for (const u of new Set(t.exactSources ?? [])) parts.push(`xs=${encodeURIComponent(u)}`)
  for (const p of new Set(t.peerAddresses ?? [])) parts.push(`x.pe=${p}`)
  if (t.so && t.so.length) parts.push(`so=${composeRanges(t.so)}`)
  if (t.keywords && t.keywords.length) parts.push(`kt=${t.keywords.map(encodeURIComponent).join('+')}`)
  return 'magnet:?' + parts.join('&')
}
