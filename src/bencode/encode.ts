/**
 * bencode encoding into one growing buffer (no per-value arrays to concatenate).
 *
 * Accepts what npm `bencode` accepts: numbers, booleans (i1e/i0e), strings (UTF-8), Uint8Array and other
 * ArrayBufferViews, ArrayBuffer, arrays, Sets, Maps (string or Uint8Array keys) and plain objects; null and
 * undefined entries in lists and dicts are skipped. Also BigInt (npm `bencode` drops it silently). Dict keys
 * are sorted by their UTF-8 bytes as BEP 3 requires. Non-integer or non-finite numbers and values of other
 * types are a BencodeError, never silently changed data.
 */
import { BencodeError } from '../errors.js'

let out = new Uint8Array(64 * 1024)
let pos = 0
const textEncoder = new TextEncoder()

function ensure (n: number): void {
  if (pos + n <= out.length) return
  let cap = out.length * 2
  while (cap < pos + n) cap *= 2
  const next = new Uint8Array(cap)
  next.set(out.subarray(0, pos))
  out = next
}

function writeUint (n: number): void {
  // n is a non-negative safe integer.
  let digits = 1
  for (let p = 10; p <= n; p *= 10) digits++
  ensure(digits)
  let i = pos + digits
  pos = i
  do {
    const q = Math.floor(n / 10)
    out[--i] = 48 + (n - q * 10)
    n = q
  } while (n > 0)
}

function writeAscii (s: string): void {
  ensure(s.length)
  for (let i = 0; i < s.length; i++) out[pos++] = s.charCodeAt(i)
}

function writeBytes (b: Uint8Array): void {
  writeUint(b.length)
  ensure(b.length + 1)
  out[pos++] = 58 // ':'
  out.set(b, pos)
  pos += b.length
}

function isAscii (s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return false
  return true
}

function writeString (s: string): void {
  if (isAscii(s)) {
    writeUint(s.length)
    ensure(s.length + 1)
    out[pos++] = 58
    for (let i = 0; i < s.length; i++) out[pos++] = s.charCodeAt(i)
  } else {
    writeBytes(textEncoder.encode(s))
  }
}

function writeNumber (n: number): void {
  if (!Number.isSafeInteger(n)) {
    if (Number.isInteger(n)) return writeBigInt(BigInt(n))
    throw new BencodeError('ERR_BENCODE_NOT_INTEGER', `bencode has integers only, got ${n}`)
  }
  ensure(1)
  out[pos++] = 105 // 'i'
  if (n < 0) {
    ensure(1)
    out[pos++] = 45
    writeUint(-n)
  } else {
    writeUint(n)
  }
  ensure(1)
  out[pos++] = 101 // 'e'
}

function writeBigInt (n: bigint): void {
  writeAscii('i' + n.toString() + 'e')
}

function compareBytes (a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] - b[i]
  return a.length - b.length
}

/** Sorts string keys by UTF-8 bytes: UTF-16 order agrees except around surrogate pairs. */
function sortKeys (keys: string[]): string[] {
  keys.sort()
  for (const k of keys) {
    for (let i = 0; i < k.length; i++) {
      if (k.charCodeAt(i) >= 0xd800) {
        const enc = new Map(keys.map(key => [key, textEncoder.encode(key)]))
        return keys.sort((a, b) => compareBytes(enc.get(a)!, enc.get(b)!))
      }
    }
  }
  return keys
}

function writeDictObject (obj: Record<string, unknown>): void {
  ensure(1)
  out[pos++] = 100 // 'd'
  const keys = sortKeys(Object.keys(obj))
  for (const k of keys) {
    const v = obj[k]
    if (v == null) continue
    writeString(k)
    write(v)
  }
  ensure(1)
  out[pos++] = 101
}

function writeDictMap (map: Map<unknown, unknown>): void {
  const entries: Array<[Uint8Array, unknown]> = []
  for (const [k, v] of map) {
    if (v == null) continue
    let kb: Uint8Array
    if (k instanceof Uint8Array) kb = k
    else if (typeof k === 'string') kb = textEncoder.encode(k)
    else throw new BencodeError('ERR_BENCODE_KEY_TYPE', 'Map keys must be strings or Uint8Arrays')
    entries.push([kb, v])
  }
  entries.sort((a, b) => compareBytes(a[0], b[0]))
  for (let i = 1; i < entries.length; i++) {
    if (compareBytes(entries[i - 1][0], entries[i][0]) === 0) {
      throw new BencodeError('ERR_BENCODE_DUPLICATE_KEY', 'Map has two keys with the same bytes')
    }
  }
  ensure(1)
  out[pos++] = 100
  for (const [kb, v] of entries) {
    writeBytes(kb)
    write(v)
  }
  ensure(1)
  out[pos++] = 101
}

function writeList (items: Iterable<unknown>): void {
  ensure(1)
  out[pos++] = 108 // 'l'
  for (const v of items) if (v != null) write(v)
  ensure(1)
  out[pos++] = 101
}

function write (v: unknown): void {
  switch (typeof v) {
    case 'number': return writeNumber(v)
    case 'string': return writeString(v)
    case 'bigint': return writeBigInt(v)
    case 'boolean': return writeNumber(v ? 1 : 0)
    case 'object':
      if (v === null) return
      if (v instanceof Uint8Array) return writeBytes(v)
      if (Array.isArray(v)) return writeList(v)
      if (ArrayBuffer.isView(v)) return writeBytes(new Uint8Array(v.buffer, v.byteOffset, v.byteLength))
      if (v instanceof ArrayBuffer) return writeBytes(new Uint8Array(v))
      if (v instanceof Map) return writeDictMap(v)
      if (v instanceof Set) return writeList(v)
      if (v instanceof Number || v instanceof Boolean || v instanceof String) return write(v.valueOf())
      return writeDictObject(v as Record<string, unknown>)
    case 'undefined': return
    default:
      throw new BencodeError('ERR_BENCODE_UNSUPPORTED_TYPE', `cannot bencode a value of type ${typeof v}`)
  }
}

/** Encodes a value; returns a new Uint8Array. */
export function encode (value: unknown): Uint8Array {
  pos = 0
  try {
    write(value)
    return out.slice(0, pos)
  } finally {
    // Do not pin a huge buffer after one big encode.
    if (out.length > 4 * 1024 * 1024) out = new Uint8Array(64 * 1024)
  }
}

/** Number of bytes `encode(value)` produces. */
export function encodingLength (value: unknown): number {
  pos = 0
  write(value)
  return pos
}
