/**
 * bencode decoding: the WASM kernel validates the input and writes a token tape (assembly/bencode.ts);
 * this module builds JS values from the tape in one pass.
 *
 * Value shapes follow the npm `bencode` package: byte strings are Uint8Array (zero-copy views into the input
 * unless `copy: true`; npm `bencode` copies), dict keys are strings (UTF-8;
 * keys that are not valid UTF-8 become hex, as npm `bencode` does), integers are numbers. Unlike npm
 * `bencode`, integers beyond ±(2^53 - 1) are BigInt (never a rounded number) and integers beyond int64 are
 * an error; a `__proto__` key is plain data.
 *
 * Strictness (documented choices):
 *  - leading zeros, `-0`, empty integers, non-string keys, truncated input, and trailing bytes after the
 *    top-level value are always errors;
 *  - a repeated key is always an error (ambiguous data: two readers could see different values);
 *  - keys out of order are accepted unless `strict: true` (real-world torrents contain them; info-hashes are
 *    always computed from the raw bytes, so the order does not change them).
 */
import { BencodeError } from '../errors.js'
import { wasm, u8, i32, Region } from '../wasm/index.js'

// libtorrent's bdecode defaults: depth 100, 2,000,000 tokens.
export const DEFAULT_MAX_DEPTH = 100
export const DEFAULT_MAX_TOKENS = 2_000_000
// The tape builder recurses once per nesting level; 1000 levels stay far below any JS engine's stack.
const MAX_DEPTH_LIMIT = 1000

const KIND_INT = 1
const KIND_STR = 2
const KIND_LIST = 3
const KIND_DICT = 4
const F_UNSORTED = 1 << 8
const F_DUPLICATE = 1 << 9
const F_SMALL_INT = 1 << 10
const F_KEY_ASCII = 1 << 11
const OPT_ALLOW_TRAILING = 1
const E_TAPE_FULL = -5

const ERRORS: Record<number, [string, string]> = {
  [-1]: ['ERR_BENCODE_EMPTY', 'empty input'],
  [-2]: ['ERR_BENCODE_TRUNCATED', 'input ends inside a value'],
  [-3]: ['ERR_BENCODE_INVALID_BYTE', 'unexpected byte'],
  [-4]: ['ERR_BENCODE_DEPTH', 'nesting deeper than the limit'],
  [-5]: ['ERR_BENCODE_TOO_MANY_TOKENS', 'more tokens than the limit'],
  [-6]: ['ERR_BENCODE_LEADING_ZERO', 'number with a leading zero'],
  [-7]: ['ERR_BENCODE_NEGATIVE_ZERO', 'negative zero'],
  [-8]: ['ERR_BENCODE_EMPTY_INTEGER', 'integer without digits'],
  [-9]: ['ERR_BENCODE_INTEGER_OVERFLOW', 'integer outside the int64 range'],
  [-10]: ['ERR_BENCODE_STRING_LENGTH', 'string length runs past the end of the input'],
  [-11]: ['ERR_BENCODE_KEY_NOT_STRING', 'dictionary key is not a byte string'],
  [-12]: ['ERR_BENCODE_MISSING_VALUE', 'dictionary key without a value'],
  [-13]: ['ERR_BENCODE_TRAILING_DATA', 'bytes after the end of the value']
}

export interface DecodeOptions {
  /** Maximum nesting of lists and dicts (default 100, at most 1000). */
  maxDepth?: number
  /** Maximum number of tokens (default 2,000,000). */
  maxTokens?: number
  /** Reject dicts whose keys are not in sorted order (default false: accepted). */
  strict?: boolean
  /** Decode byte strings as UTF-8 text instead of Uint8Array (npm `bencode`'s `encoding` argument). */
  encoding?: 'utf8' | 'utf-8'
  /**
   * Byte strings are zero-copy views into the input by default (like Buffer.subarray): they change if the
   * caller later overwrites the input. `copy: true` copies the input once first, so results stay valid when
   * the input buffer is reused. Measured: copying a 26 KB input costs ~3.4 us on its own, about 2.5x the
   * whole zero-copy decode of it (bench/bencode.bench.ts).
   */
  copy?: boolean
}

const input = new Region()
const tape = new Region()
const stack = new Region()

const utf8 = new TextDecoder('utf-8')

// Builder state for the current decode (decoding is synchronous, so module state is safe).
const NO_TAPE = new Int32Array(0)
const NO_SRC = new Uint8Array(0)
let T: Int32Array = NO_TAPE
let ti = 0
let src: Uint8Array = NO_SRC
let srcBuffer: ArrayBufferLike = src.buffer
let srcOffset = 0
let strict = false
let asText = false

export type BencodeValue =
  number | bigint | Uint8Array | string | BencodeValue[] | { [key: string]: BencodeValue }

/** A plain Uint8Array view of the input (a Node Buffer's slice() would not copy, and results must not be Buffers). */
function toBytes (data: unknown): Uint8Array {
  if (data instanceof Uint8Array && data.constructor === Uint8Array) return data
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
  if (data instanceof ArrayBuffer) return new Uint8Array(data)
  if (typeof data === 'string') return new TextEncoder().encode(data)
  throw new BencodeError('ERR_BENCODE_INPUT_TYPE', 'bencode.decode expects a Uint8Array, ArrayBuffer or string')
}

/**
 * Runs the tokenizer; returns the token count and leaves the tape in `tape`. Throws BencodeError.
 * On success, tokenEnd holds the offset after the top-level value.
 */
function tokenize (bytes: Uint8Array, opts: DecodeOptions | undefined, allowTrailing: boolean): number {
  const maxDepth = opts?.maxDepth ?? DEFAULT_MAX_DEPTH
  const maxTokens = opts?.maxTokens ?? DEFAULT_MAX_TOKENS
  if (!(maxDepth >= 1 && maxDepth <= MAX_DEPTH_LIMIT)) {
    throw new BencodeError('ERR_BENCODE_OPTIONS', `maxDepth must be between 1 and ${MAX_DEPTH_LIMIT}`)
  }
  const len = bytes.length
  if (len === 0) throw new BencodeError(ERRORS[-1][0], ERRORS[-1][1], 0)
  const k = wasm()
  // A token takes at least two bytes ("0:", "le"), so len/2 + 1 tokens always suffice. Start smaller and
  // retry once at full size if the guess was short: most inputs are dominated by a few long strings.
  const worst = Math.min(maxTokens, (len >>> 1) + 1)
  let cap = Math.min(worst, 8192)
  const inPtr = input.ensure(len)
  const stackPtr = stack.ensure(maxDepth * 16)
  u8().set(bytes, inPtr)
  for (;;) {
    const tapePtr = tape.ensure(cap * 16)
    const n = k.bdecode(inPtr, len, tapePtr, cap, stackPtr, maxDepth, allowTrailing ? OPT_ALLOW_TRAILING : 0)
    if (n >= 0) return n
    if (n === E_TAPE_FULL && cap < worst) {
      cap = worst
      continue
    }
    const [code, message] = ERRORS[n] ?? ['ERR_BENCODE_INVALID', `decode failed (${n})`]
    throw new BencodeError(code, message, k.bdecodeErrorPos())
  }
}

function hex (b: Uint8Array): string {
  let s = ''
  for (let i = 0; i < b.length; i++) s += (b[i] < 16 ? '0' : '') + b[i].toString(16)
  return s
}

// Dict keys repeat (every file dict has "length" and "path"): reuse their strings across and within decodes,
// found by the tokenizer's hash of the key bytes and verified byte by byte, so a collision only costs a miss.
// Reused strings are already internalized, which makes the property store that follows cheap.
const KEY_CACHE_SLOTS = 4096
const KEY_CACHE_MAX_LEN = 32
const keyCache: Array<string | undefined> = new Array(KEY_CACHE_SLOTS).fill(undefined)

function keyAt (base: number): string {
  const start = T[base + 1]
  const end = T[base + 2]
  if ((T[base] & F_KEY_ASCII) !== 0) {
    const len = end - start
    if (len <= KEY_CACHE_MAX_LEN) {
      const slot = T[base + 3] & (KEY_CACHE_SLOTS - 1)
      const cached = keyCache[slot]
      if (cached !== undefined && cached.length === len) {
        let i = 0
        while (i < len && cached.charCodeAt(i) === src[start + i]) i++
        if (i === len) return cached
      }
      let s = ''
      for (let i = start; i < end; i++) s += String.fromCharCode(src[i])
      keyCache[slot] = s
      return s
    }
    return utf8.decode(src.subarray(start, end))
  }
  const bytes = src.subarray(start, end)
  const s = utf8.decode(bytes)
  return s.includes('\uFFFD') ? hex(bytes) : s
}

function bigIntAt (base: number): number | bigint {
  const start = T[base + 1] + 1
  const end = T[base + 2] - 1
  let digits = ''
  for (let i = start; i < end; i++) digits += String.fromCharCode(src[i])
  const v = BigInt(digits)
  return v >= -9007199254740991n && v <= 9007199254740991n ? Number(v) : v
}

function setKey (obj: Record<string, BencodeValue>, key: string, value: BencodeValue): void {
  if (key === '__proto__') {
    Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true })
  } else {
    obj[key] = value
  }
}

function build (): BencodeValue {
  const base = ti << 2
  ti++
  const w0 = T[base]
  switch (w0 & 0xff) {
    case KIND_STR: {
      // new Uint8Array(buffer, ...) skips subarray's species lookup: measurably cheaper per string.
      const start = T[base + 1]
      const s = new Uint8Array(srcBuffer, srcOffset + start, T[base + 2] - start)
      return asText ? utf8.decode(s) : s
    }
    case KIND_INT:
      return (w0 & F_SMALL_INT) !== 0 ? T[base + 3] : bigIntAt(base)
    case KIND_LIST: {
      const n = T[base + 3]
      const list: BencodeValue[] = []
      for (let i = 0; i < n; i++) list.push(build())
      return list
    }
    default: { // KIND_DICT
      const n = T[base + 3]
      const unsorted = (w0 & F_UNSORTED) !== 0
      if ((w0 & F_DUPLICATE) !== 0) duplicateKey(base)
      if (unsorted && strict) {
        throw new BencodeError('ERR_BENCODE_UNSORTED_KEYS', 'dictionary keys are not sorted', T[base + 1])
      }
      const dict: Record<string, BencodeValue> = {}
      for (let i = 0; i < n; i++) {
        const kb = ti << 2
        ti++
        const key = keyAt(kb)
        if (unsorted && Object.prototype.hasOwnProperty.call(dict, key)) duplicateKey(base)
        setKey(dict, key, build())
      }
      return dict
    }
  }
}

function duplicateKey (base: number): never {
  throw new BencodeError('ERR_BENCODE_DUPLICATE_KEY', 'dictionary has a repeated key', T[base + 1])
}

/** Offsets [start, end) of the raw bytes of the token at tape index `t`. */
function rawRange (t: number): [number, number] {
  const base = t << 2
  const kind = T[base] & 0xff
  return kind === KIND_STR ? [T[base + 3], T[base + 2]] : [T[base + 1], T[base + 2]]
}

function begin (bytes: Uint8Array, opts: DecodeOptions | undefined): void {
  strict = opts?.strict === true
  asText = opts?.encoding === 'utf8' || opts?.encoding === 'utf-8'
  src = opts?.copy === true ? bytes.slice() : bytes
  srcBuffer = src.buffer
  srcOffset = src.byteOffset
  T = i32().subarray(tape.ptr >> 2)
  ti = 0
}

function end (): void {
  T = NO_TAPE
  src = NO_SRC
  srcBuffer = NO_SRC.buffer
  input.trim()
  tape.trim()
}

/** Decodes one bencoded value that must span the whole input. Throws BencodeError on bad input. */
export function decode (data: Uint8Array | ArrayBuffer | ArrayBufferView | string, opts?: DecodeOptions): BencodeValue {
  const bytes = toBytes(data)
  tokenize(bytes, opts, false)
  begin(bytes, opts)
  try {
    return build()
  } finally {
    end()
  }
}

/**
 * Decodes the first bencoded value of the input and reports how many bytes it took; the rest is left to the
 * caller (ut_metadata piece messages carry raw bytes after their dict).
 */
export function decodePrefix (data: Uint8Array, opts?: DecodeOptions): { value: BencodeValue, used: number } {
  const bytes = toBytes(data)
  tokenize(bytes, opts, true)
  const used = wasm().bdecodeEnd()
  begin(bytes.subarray(0, used), opts)
  try {
    return { value: build(), used }
  } finally {
    end()
  }
}

/**
 * Decodes a bencoded dict and also returns the exact input bytes of each top-level value, e.g. `raw.info`
 * for computing an info-hash from the bytes as they were sent, never from a re-encoding.
 */
export function decodeWithRaw (data: Uint8Array | ArrayBuffer | ArrayBufferView, opts?: DecodeOptions):
  { value: BencodeValue, raw: Record<string, Uint8Array> } {
  const bytes = toBytes(data)
  const ntok = tokenize(bytes, opts, false)
  begin(bytes, opts)
  try {
    const raw: Record<string, Uint8Array> = Object.create(null)
    if ((T[0] & 0xff) !== KIND_DICT) {
      throw new BencodeError('ERR_BENCODE_NOT_A_DICT', 'expected a dictionary at the top level', 0)
    }
    const value = build()
    // Second, cheap walk over the top-level keys: each value's range comes straight from the tape.
    let t = 1
    while (t < ntok) {
      const key = keyAt(t << 2)
      const [s, e] = rawRange(t + 1)
      raw[key] = src.subarray(s, e)
      // Skip the value's subtree: the next key is the first token starting at or after this value's end.
      t += 2
      while (t < ntok && T[(t << 2) + 1] < e) t++
    }
    return { value, raw }
  } finally {
    end()
  }
}
