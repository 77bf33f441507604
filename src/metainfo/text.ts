/** Small byte/text helpers shared by the metainfo modules. */
import { toHex } from '../sha1/index.js'

const decoder = new TextDecoder('utf-8')
const encoder = new TextEncoder()

/** UTF-8 text of `b` (invalid sequences become U+FFFD, as npm parse-torrent's arr2text does). */
export function text (b: Uint8Array): string {
  // Short ASCII strings (most path components) are built directly: cheaper than a TextDecoder call.
  if (b.length <= 32) {
    let s = ''
    for (let i = 0; i < b.length; i++) {
      const c = b[i]
      if (c > 0x7f) return decoder.decode(b)
      s += String.fromCharCode(c)
    }
    return s
  }
  return decoder.decode(b)
}

export function utf8 (s: string): Uint8Array {
  return encoder.encode(s)
}

export { toHex }

export function fromHex (s: string): Uint8Array {
  const out = new Uint8Array(s.length >>> 1)
  for (let i = 0; i < out.length; i++) out[i] = parseInt(s.substr(i * 2, 2), 16)
  return out
}

export function isHex (s: string, len: number): boolean {
  return s.length === len && /^[0-9a-fA-F]+$/.test(s)
}

/** SHA-256 (for BEP 52 v2 info-hashes): WebCrypto, present in Node >= 20 and every browser. */
export async function sha256 (data: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest('SHA-256', data as Uint8Array<ArrayBuffer>))
}
