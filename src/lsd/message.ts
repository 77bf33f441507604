/**
 * BEP 14 Local Service Discovery messages: an HTTP-like request sent over UDP multicast.
 *
 *     BT-SEARCH * HTTP/1.1\r\n
 *     Host: 239.192.152.143:6771\r\n
 *     Port: <listening port, decimal>\r\n
 *     Infohash: <40 hex characters>\r\n      (one or more)
 *     cookie: <opaque token, to recognise our own announces>\r\n
 *     \r\n
 *     \r\n
 *
 * We send the same bytes as libtorrent (one info-hash per packet, cookie in hex). Parsing follows libtorrent's
 * rules and is strict where the input could be abused: anything that does not parse is ignored by the caller.
 */

export const LSD_GROUP_V4 = '239.192.152.143'
export const LSD_GROUP_V6 = 'ff15::efc0:988f'
export const LSD_PORT = 6771
/** BEP 14: "the packet length should not exceed 1400 bytes". We read up to one Ethernet MTU. */
export const LSD_MAX_PACKET = 1500

export interface LsdAnnounce {
  /** The announcer's BitTorrent listening port. */
  port: number
  /** Lower-case hex info-hashes (valid, non-zero, de-duplicated). */
  infoHashes: string[]
  cookie?: string
  host?: string
}

export interface LsdMessageInput {
  port: number
  infoHashes: string[]
  cookie?: string
  /** Host header value (default the IPv4 group, `239.192.152.143:6771`). */
  host?: string
}

const INFO_HASH = /^[0-9a-fA-F]{40}$/
const ZERO_HASH = '0'.repeat(40)
const REQUEST_LINE = /^BT-SEARCH[ \t]+\*[ \t]+HTTP\/1\.\d$/i
const HEADER_LINE = /^([A-Za-z0-9-]+)[ \t]*:[ \t]*(.*?)[ \t]*$/
const COOKIE = /^[\x21-\x7e]{1,64}$/

export function isInfoHashHex (s: string): boolean {
  return INFO_HASH.test(s) && s !== ZERO_HASH
}

/** The bytes of an announce (ASCII). Throws on an invalid port, info-hash or cookie. */
export function formatLsdMessage (msg: LsdMessageInput): Uint8Array {
  if (!Number.isInteger(msg.port) || msg.port < 1 || msg.port > 65535) throw new RangeError(`invalid LSD port ${msg.port}`)
  if (msg.infoHashes.length === 0) throw new RangeError('an LSD announce needs at least one info-hash')
  if (msg.cookie !== undefined && !COOKIE.test(msg.cookie)) throw new RangeError('invalid LSD cookie')
  let text = 'BT-SEARCH * HTTP/1.1\r\n' +
    `Host: ${msg.host ?? `${LSD_GROUP_V4}:${LSD_PORT}`}\r\n` +
    `Port: ${msg.port}\r\n`
  for (const ih of msg.infoHashes) {
    if (!INFO_HASH.test(ih)) throw new RangeError(`invalid info-hash ${ih}`)
    text += `Infohash: ${ih.toLowerCase()}\r\n`
  }
  if (msg.cookie !== undefined) text += `cookie: ${msg.cookie}\r\n`
  text += '\r\n\r\n'
  const out = new Uint8Array(text.length)
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i)
  return out
}

/**
 * Parses an announce, or returns null for anything else: not ASCII text, over LSD_MAX_PACKET bytes, a request
 * line other than `BT-SEARCH * HTTP/1.x`, a malformed header line, no header terminator (blank line), a missing,
 * repeated or out-of-range Port, or no valid info-hash. Invalid Infohash values are skipped (as libtorrent does)
 * as long as one valid one remains; unknown headers are ignored (BEP 14: forward compatibility).
 */
export function parseLsdMessage (data: Uint8Array): LsdAnnounce | null {
  if (data.length === 0 || data.length > LSD_MAX_PACKET) return null
  let text = ''
  for (let i = 0; i < data.length; i++) {
    const c = data[i]
    // Printable ASCII, tab, CR, LF. Anything else (NUL, UTF-8, binary) is not an LSD announce.
    if (!(c === 9 || c === 10 || c === 13 || (c >= 0x20 && c <= 0x7e))) return null
    text += String.fromCharCode(c)
  }
  // The header block must end with a blank line (libtorrent: "header finished").
  const end = /\r?\n\r?\n/.exec(text)
  if (end === null) return null
  const lines = text.slice(0, end.index).split(/\r?\n/)
  if (!REQUEST_LINE.test(lines[0])) return null
  let port: number | undefined
  let portSeen = false
  let cookie: string | undefined
  let host: string | undefined
  const infoHashes: string[] = []
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]
    const m = HEADER_LINE.exec(line)
    if (m === null) return null
    const name = m[1].toLowerCase()
    const value = m[2]
    switch (name) {
      case 'port':
        if (portSeen) return null
        portSeen = true
        if (!/^\d{1,5}$/.test(value)) return null
        port = Number(value)
        if (port < 1 || port > 65535) return null
        break
      case 'infohash':
        if (isInfoHashHex(value)) {
          const ih = value.toLowerCase()
          if (!infoHashes.includes(ih)) infoHashes.push(ih)
        }
        break
      case 'cookie':
        if (cookie === undefined && COOKIE.test(value)) cookie = value
        break
      case 'host':
        if (host === undefined) host = value
        break
      default:
        break
    }
  }
  if (port === undefined || infoHashes.length === 0) return null
  const out: LsdAnnounce = { port, infoHashes }
  if (cookie !== undefined) out.cookie = cookie
  if (host !== undefined) out.host = host
  return out
}
