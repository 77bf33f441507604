import { readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { describe, it, expect } from 'vitest'
import npmBencode from 'bencode'
import { bencode, BencodeError } from '../src/index.js'
import { rng, randomBytes, randInt } from './helpers/random.js'

const te = new TextEncoder()
const b = (s: string) => te.encode(s)
const fixturesDir = join(import.meta.dirname, '../node_modules/webtorrent-fixtures/fixtures')
const torrents = readdirSync(fixturesDir).filter(f => f.endsWith('.torrent'))

function codeOf (fn: () => unknown): string {
  try {
    fn()
  } catch (err) {
    expect(err).toBeInstanceOf(BencodeError)
    return (err as BencodeError).code
  }
  throw new Error('expected a BencodeError')
}

describe('bencode: known vectors', () => {
  it('decodes every kind of value', () => {
    expect(bencode.decode(b('i42e'))).toBe(42)
    expect(bencode.decode(b('i-42e'))).toBe(-42)
    expect(bencode.decode(b('i0e'))).toBe(0)
    expect(bencode.decode(b('4:spam'))).toEqual(b('spam'))
    expect(bencode.decode(b('0:'))).toEqual(new Uint8Array(0))
    expect(bencode.decode(b('le'))).toEqual([])
    expect(bencode.decode(b('de'))).toEqual({})
    expect(bencode.decode(b('l4:spami7ee'))).toEqual([b('spam'), 7])
    expect(bencode.decode(b('d3:cow3:moo4:spam4:eggse'))).toEqual({ cow: b('moo'), spam: b('eggs') })
    expect(bencode.decode(b('d4:spaml1:a1:bee'))).toEqual({ spam: [b('a'), b('b')] })
    expect(bencode.decode(b('i2147483647e'))).toBe(2147483647)
    expect(bencode.decode(b('i-2147483648e'))).toBe(-2147483648)
    expect(bencode.decode(b('i2147483648e'))).toBe(2147483648)
    expect(bencode.decode(b('i9007199254740991e'))).toBe(9007199254740991)
    expect(bencode.decode(b('i-9223372036854775808e'))).toBe(-9223372036854775808n)
  })

  it('encodes every kind of value', () => {
    const enc = (v: unknown) => new TextDecoder().decode(bencode.encode(v))
    expect(enc(42)).toBe('i42e')
    expect(enc(-7)).toBe('i-7e')
    expect(enc(0)).toBe('i0e')
    expect(enc(true)).toBe('i1e')
    expect(enc(false)).toBe('i0e')
    expect(enc('spam')).toBe('4:spam')
    expect(enc('ü')).toBe('2:ü')
    expect(enc(b('ab'))).toBe('2:ab')
    expect(enc(new Uint16Array([0x6261]).buffer)).toBe('2:ab')
    expect(enc([1, 'a', null, undefined, [2]])).toBe('li1e1:ali2eee')
    expect(enc({ b: 1, a: 2, skip: null })).toBe('d1:ai2e1:bi1ee')
    expect(enc(new Map<unknown, unknown>([['b', 1], [b('a'), 2]]))).toBe('d1:ai2e1:bi1ee')
    expect(enc(new Set([1, 2]))).toBe('li1ei2ee')
    expect(enc(9007199254740993n)).toBe('i9007199254740993e')
    expect(enc(-(2n ** 63n))).toBe('i-9223372036854775808e')
    expect(enc(1e21)).toBe('i1000000000000000000000e')
    expect(bencode.encodingLength({ a: [1, 'xy'] })).toBe('d1:ali1e2:xyee'.length)
  })

  it('sorts keys by their UTF-8 bytes, not UTF-16 code units', () => {
    // U+FFFF is EF BF BF in UTF-8; U+10000 is F0 90 80 80, so it sorts after, though its UTF-16 form
    // (D800 DC00) sorts before.
    const out = new TextDecoder().decode(bencode.encode({ '\u{10000}': 1, '\uffff': 2, a: 3 }))
    expect(out).toBe('d1:ai3e3:\uffffi2e4:\u{10000}i1ee')
  })

  it('rejects values bencode cannot represent', () => {
    expect(codeOf(() => bencode.encode(1.5))).toBe('ERR_BENCODE_NOT_INTEGER')
    expect(codeOf(() => bencode.encode(Number.NaN))).toBe('ERR_BENCODE_NOT_INTEGER')
    expect(codeOf(() => bencode.encode({ a: () => 1 }))).toBe('ERR_BENCODE_UNSUPPORTED_TYPE')
    expect(codeOf(() => bencode.encode(Symbol('x')))).toBe('ERR_BENCODE_UNSUPPORTED_TYPE')
    expect(codeOf(() => bencode.encode(new Map([[1, 2]])))).toBe('ERR_BENCODE_KEY_TYPE')
  })

  it('decodePrefix stops after the first value and reports the bytes used', () => {
    const msg = b('d8:msg_typei1e5:piecei0ee' + 'RAWMETADATA')
    const { value, used } = bencode.decodePrefix(msg)
    expect(value).toEqual({ msg_type: 1, piece: 0 })
    expect(used).toBe(msg.length - 'RAWMETADATA'.length)
  })

  it('decodes byte strings as text with the utf8 encoding option', () => {
    expect(bencode.decode(b('l2:hi0:e'), { encoding: 'utf8' })).toEqual(['hi', ''])
    expect(bencode.decode(te.encode('d1:a4:üüe'), { encoding: 'utf8' })).toEqual({ a: 'üü' })
  })

  it('gives zero-copy views by default; copy: true gives copies', () => {
    const input = b('d1:a3:xyze')
    const copied = bencode.decode(input, { copy: true }) as { a: Uint8Array }
    const viewed = bencode.decode(input) as { a: Uint8Array }
    input[6] = 'Q'.charCodeAt(0)
    expect(new TextDecoder().decode(copied.a)).toBe('xyz')
    expect(new TextDecoder().decode(viewed.a)).toBe('Qyz')
  })

  it('a Node Buffer input gives plain Uint8Arrays, and copy: true really copies (Buffer.slice would not)', () => {
    const input = Buffer.from('d1:a3:xyze')
    expect((bencode.decode(input) as { a: Uint8Array }).a.constructor).toBe(Uint8Array)
    const v = bencode.decode(input, { copy: true }) as { a: Uint8Array }
    expect(v.a.constructor).toBe(Uint8Array)
    input[6] = 'Q'.charCodeAt(0)
    expect(new TextDecoder().decode(v.a)).toBe('xyz')
  })

  it('turns keys that are not UTF-8 into hex, as npm bencode does', () => {
    const raw = new Uint8Array([...b('d2:'), 0xff, 0xfe, ...b('i1ee')])
    expect(bencode.decode(raw)).toEqual({ fffe: 1 })
    expect(npmBencode.decode(raw)).toEqual({ fffe: 1 })
  })
})

describe('bencode: differential against npm bencode', () => {
  it.each(torrents)('real torrent %s decodes identically and re-encodes byte for byte', (name) => {
    const bytes = readFileSync(join(fixturesDir, name))
    const ours = bencode.decode(bytes)
    const theirs = npmBencode.decode(bytes)
    expect(ours).toEqual(theirs)
    expect(Buffer.from(bencode.encode(ours))).toEqual(Buffer.from(npmBencode.encode(theirs)))
  })

  it('random values encode to the same bytes and decode to the same values', () => {
    const rand = rng(1234)
    const key = () => {
      const n = randInt(rand, 0, 12)
      let s = ''
      for (let i = 0; i < n; i++) s += String.fromCharCode(rand() < 0.9 ? randInt(rand, 0x20, 0x7e) : randInt(rand, 0xa0, 0x7ff))
      return s
    }
    const value = (depth: number): unknown => {
      const r = rand()
      if (depth > 4 || r < 0.3) return randInt(rand, -1e12, 1e12)
      if (r < 0.6) return randomBytes(rand, randInt(rand, 0, 40))
      if (r < 0.8) return Array.from({ length: randInt(rand, 0, 6) }, () => value(depth + 1))
      const obj: Record<string, unknown> = {}
      for (let i = randInt(rand, 0, 6); i > 0; i--) obj[key()] = value(depth + 1)
      return obj
    }
    for (let i = 0; i < 500; i++) {
      const v = value(0)
      const ours = bencode.encode(v)
      expect(Buffer.from(ours)).toEqual(Buffer.from(npmBencode.encode(v)))
      expect(bencode.decode(ours)).toEqual(npmBencode.decode(ours))
      expect(bencode.decode(ours)).toEqual(v)
    }
  })
})

describe('bencode: bad input (cases 1-6)', () => {
  it('case 1: 100k nested lists -> depth error, catchable, no stack overflow', () => {
    const deep = b('l'.repeat(100_000) + 'e'.repeat(100_000))
    expect(codeOf(() => bencode.decode(deep))).toBe('ERR_BENCODE_DEPTH')
    expect(codeOf(() => bencode.decode(b('l'.repeat(101) + 'e'.repeat(101))))).toBe('ERR_BENCODE_DEPTH')
    expect(bencode.decode(b('l'.repeat(100) + 'e'.repeat(100)))).toBeDefined()
    expect(codeOf(() => bencode.decode(b('lllleeee'), { maxDepth: 3 }))).toBe('ERR_BENCODE_DEPTH')
  })

  it('case 2: string length prefixes that overflow or run past the input -> error, never a short string', () => {
    expect(codeOf(() => bencode.decode(b('18446744073709551615:abc')))).toBe('ERR_BENCODE_STRING_LENGTH')
    expect(codeOf(() => bencode.decode(b('99999999999999999999999999:abc')))).toBe('ERR_BENCODE_STRING_LENGTH')
    expect(codeOf(() => bencode.decode(b('4:abc')))).toBe('ERR_BENCODE_STRING_LENGTH')
    expect(codeOf(() => bencode.decode(b('l10:abce')))).toBe('ERR_BENCODE_STRING_LENGTH')
    expect(codeOf(() => bencode.decode(b('4abcd')))).toBe('ERR_BENCODE_INVALID_BYTE')
  })

  it('case 3: leading zeros, -0, unsorted and duplicate keys', () => {
    expect(codeOf(() => bencode.decode(b('i-0e')))).toBe('ERR_BENCODE_NEGATIVE_ZERO')
    expect(codeOf(() => bencode.decode(b('i03e')))).toBe('ERR_BENCODE_LEADING_ZERO')
    expect(codeOf(() => bencode.decode(b('i-03e')))).toBe('ERR_BENCODE_LEADING_ZERO')
    expect(codeOf(() => bencode.decode(b('03:abc')))).toBe('ERR_BENCODE_LEADING_ZERO')
    expect(codeOf(() => bencode.decode(b('ie')))).toBe('ERR_BENCODE_EMPTY_INTEGER')
    expect(codeOf(() => bencode.decode(b('i-e')))).toBe('ERR_BENCODE_EMPTY_INTEGER')
    expect(codeOf(() => bencode.decode(b('i1.5e')))).toBe('ERR_BENCODE_INVALID_BYTE')
    expect(codeOf(() => bencode.decode(b('i+1e')))).toBe('ERR_BENCODE_INVALID_BYTE')
    // Unsorted keys: accepted by default (real torrents have them), rejected in strict mode.
    expect(bencode.decode(b('d1:bi1e1:ai2ee'))).toEqual({ b: 1, a: 2 })
    expect(codeOf(() => bencode.decode(b('d1:bi1e1:ai2ee'), { strict: true }))).toBe('ERR_BENCODE_UNSORTED_KEYS')
    expect(codeOf(() => bencode.decode(b('d1:ai1e1:ai2ee')))).toBe('ERR_BENCODE_DUPLICATE_KEY')
    expect(codeOf(() => bencode.decode(b('d1:ai1e1:bi1e1:ai2ee')))).toBe('ERR_BENCODE_DUPLICATE_KEY')
    expect(codeOf(() => bencode.decode(b('d1:ai1e1:be')))).toBe('ERR_BENCODE_MISSING_VALUE')
    expect(codeOf(() => bencode.decode(b('di1ei2ee')))).toBe('ERR_BENCODE_KEY_NOT_STRING')
  })

  it('case 3: the raw bytes of a value are the bytes as sent, even when keys are unsorted', () => {
    const info = 'd6:lengthi5e4:name1:x12:piece lengthi16384e6:pieces0:1:ai1ee' // 'a' after 'pieces': unsorted
    const torrent = b('d8:announce3:url4:info' + info + 'e')
    const { value, raw } = bencode.decodeWithRaw(torrent)
    expect(new TextDecoder().decode(raw.info)).toBe(info)
    expect(new TextDecoder().decode(raw.announce)).toBe('3:url')
    // A re-encoding sorts the keys, so hashing it would give a different info-hash.
    expect(new TextDecoder().decode(bencode.encode((value as Record<string, unknown>).info))).not.toBe(info)
  })

  it('case 4: integers beyond 2^53 are BigInt, beyond int64 an error, never rounded', () => {
    expect(bencode.decode(b('i9007199254740993e'))).toBe(9007199254740993n)
    expect(bencode.decode(b('i-9007199254740993e'))).toBe(-9007199254740993n)
    expect(bencode.decode(b('i9223372036854775807e'))).toBe(9223372036854775807n)
    expect(codeOf(() => bencode.decode(b('i9223372036854775808e')))).toBe('ERR_BENCODE_INTEGER_OVERFLOW')
    expect(codeOf(() => bencode.decode(b('i-9223372036854775809e')))).toBe('ERR_BENCODE_INTEGER_OVERFLOW')
    expect(codeOf(() => bencode.decode(b('i99999999999999999999999999e')))).toBe('ERR_BENCODE_INTEGER_OVERFLOW')
  })

  it('case 5: a __proto__ key is plain data and the prototype is unchanged', () => {
    const v = bencode.decode(b('d9:__proto__d5:pwnedi1eee')) as Record<string, unknown>
    expect(Object.getPrototypeOf(v)).toBe(Object.prototype)
    expect(Object.keys(v)).toEqual(['__proto__'])
    expect(Object.getOwnPropertyDescriptor(v, '__proto__')?.value).toEqual({ pwned: 1 })
    expect((v as { pwned?: number }).pwned).toBeUndefined()
    expect(({} as { pwned?: number }).pwned).toBeUndefined()
    // and it survives a round trip
    expect(new TextDecoder().decode(bencode.encode(v))).toBe('d9:__proto__d5:pwnedi1eee')
  })

  it('case 6: more tokens than the limit (default 2,000,000) -> rejected', () => {
    const many = b('l' + 'i0e'.repeat(3_000_000) + 'e')
    expect(codeOf(() => bencode.decode(many))).toBe('ERR_BENCODE_TOO_MANY_TOKENS')
    expect(codeOf(() => bencode.decode(b('li1ei2ei3ee'), { maxTokens: 3 }))).toBe('ERR_BENCODE_TOO_MANY_TOKENS')
    expect(bencode.decode(b('li1ei2ei3ee'), { maxTokens: 4 })).toEqual([1, 2, 3])
  })

  it('rejects empty, truncated and trailing input', () => {
    expect(codeOf(() => bencode.decode(new Uint8Array(0)))).toBe('ERR_BENCODE_EMPTY')
    expect(codeOf(() => bencode.decode(b('li1e')))).toBe('ERR_BENCODE_TRUNCATED')
    expect(codeOf(() => bencode.decode(b('i12')))).toBe('ERR_BENCODE_TRUNCATED')
    expect(codeOf(() => bencode.decode(b('i1ei2e')))).toBe('ERR_BENCODE_TRAILING_DATA')
    expect(codeOf(() => bencode.decode(b('e')))).toBe('ERR_BENCODE_INVALID_BYTE')
    expect(codeOf(() => bencode.decode(b('x')))).toBe('ERR_BENCODE_INVALID_BYTE')
  })

  it('every truncation and random corruption of real torrents fails with a BencodeError or decodes', () => {
    const rand = rng(99)
    for (const name of torrents) {
      const bytes = new Uint8Array(readFileSync(join(fixturesDir, name)))
      for (let cut = 0; cut < bytes.length; cut += Math.max(1, bytes.length >> 6)) {
        expect(() => bencode.decode(bytes.subarray(0, cut))).toThrow(BencodeError)
      }
      for (let i = 0; i < 200; i++) {
        const m = bytes.slice()
        for (let k = randInt(rand, 1, 4); k > 0; k--) m[randInt(rand, 0, m.length - 1)] = randInt(rand, 0, 255)
        try {
          bencode.decode(m)
        } catch (err) {
          expect(err).toBeInstanceOf(BencodeError)
        }
      }
    }
  })

  it('reports the failing byte position', () => {
    try {
      bencode.decode(b('d3:fooi03ee'))
      expect.unreachable()
    } catch (err) {
      expect((err as BencodeError).position).toBe(6)
    }
  })
})
