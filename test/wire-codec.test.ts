import { describe, it, expect } from 'vitest'
import { WireProtocolError } from '../src/errors.js'
import { wasm } from '../src/wasm/index.js'
import {
  Framer, type FrameHandler, type FramerOptions,
  encodeHandshake, decodeHandshake, encodeReserved, decodeReserved, HANDSHAKE_LENGTH,
  encodeKeepAlive, encodeChoke, encodeUnchoke, encodeInterested, encodeNotInterested, encodeHave,
  encodeBitfield, encodeRequest, encodePieceHeader, encodePiece, encodeCancel, encodePort, encodeSuggest,
  encodeHaveAll, encodeHaveNone, encodeReject, encodeAllowedFast, encodeExtended,
  encodeRequests, encodeCancels, encodeRejects, encodeHaves,
  DEFAULT_MAX_MESSAGE_LENGTH, MAX_MESSAGE_LENGTH_LIMIT, bitfieldMessageLength
} from '../src/wire-codec/index.js'

type Event = (string | number | Uint8Array)[]

/** A handler that logs every call; payloads are kept as handed out (so later pushes must not change them). */
function recorder (log: Event[]): Required<FrameHandler> {
  return {
    onKeepAlive: () => log.push(['keep-alive']),
    onChoke: () => log.push(['choke']),
    onUnchoke: () => log.push(['unchoke']),
    onInterested: () => log.push(['interested']),
    onNotInterested: () => log.push(['not-interested']),
    onHave: i => log.push(['have', i]),
    onBitfield: b => log.push(['bitfield', b]),
    onRequest: (i, b, l) => log.push(['request', i, b, l]),
    onPiece: (i, b, block) => log.push(['piece', i, b, block]),
    onCancel: (i, b, l) => log.push(['cancel', i, b, l]),
    onPort: p => log.push(['port', p]),
    onSuggest: i => log.push(['suggest', i]),
    onHaveAll: () => log.push(['have-all']),
    onHaveNone: () => log.push(['have-none']),
    onReject: (i, b, l) => log.push(['reject', i, b, l]),
    onAllowedFast: i => log.push(['allowed-fast', i]),
    onExtended: (e, p) => log.push(['extended', e, p]),
    onUnknown: (id, p) => log.push(['unknown', id, p]),
    pieceTarget: () => null
  }
}

function concat (parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let o = 0
  for (const p of parts) { out.set(p, o); o += p.length }
  return out
}

function rng (seed: number): () => number {
  let x = (seed * 2654435761) >>> 0 || 1
  return () => {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5
    return (x >>> 0) / 4294967296
  }
}

function bytes (n: number, seed: number): Uint8Array {
  const r = rng(seed)
  const b = new Uint8Array(n)
  for (let i = 0; i < n; i++) b[i] = (r() * 256) | 0
  return b
}

/** Pushes `stream` in the given chunk sizes (fresh buffers, as socket reads); returns the log. */
function parse (stream: Uint8Array, sizes: (remaining: number) => number, opts?: FramerOptions): { log: Event[], framer: Framer } {
  const log: Event[] = []
  const framer = new Framer(recorder(log), opts)
  for (let o = 0; o < stream.length;) {
    const n = Math.max(1, Math.min(sizes(stream.length - o), stream.length - o))
    framer.push(stream.slice(o, o + n))
    o += n
  }
  return { log, framer }
}

/** Events with payloads as base64 (vitest compares large typed arrays byte by byte, slowly). */
function norm (events: Event[]): unknown[] {
  return events.map(e => e.map(x => x instanceof Uint8Array ? 'b64:' + Buffer.from(x.buffer, x.byteOffset, x.byteLength).toString('base64') : x))
}

function code (fn: () => unknown): string {
  try {
    fn()
  } catch (err) {
    expect(err).toBeInstanceOf(WireProtocolError)
    return (err as WireProtocolError).code
  }
  throw new Error('expected a WireProtocolError')
}

// Every message type: [encoded, the event it must produce].
const block16k = bytes(16384, 1)
const CASES: [string, Uint8Array, Event][] = [
  ['keep-alive', encodeKeepAlive(), ['keep-alive']],
  ['choke', encodeChoke(), ['choke']],
  ['unchoke', encodeUnchoke(), ['unchoke']],
  ['interested', encodeInterested(), ['interested']],
  ['not interested', encodeNotInterested(), ['not-interested']],
  ['have', encodeHave(7), ['have', 7]],
  ['have (max u32)', encodeHave(0xffffffff), ['have', 0xffffffff]],
  ['bitfield', encodeBitfield(new Uint8Array([0xff, 0x80])), ['bitfield', new Uint8Array([0xff, 0x80])]],
  ['empty bitfield', encodeBitfield(new Uint8Array(0)), ['bitfield', new Uint8Array(0)]],
  ['request', encodeRequest(3, 16384, 16384), ['request', 3, 16384, 16384]],
  ['request (u32 fields)', encodeRequest(0x80000000, 0xfffffff0, 0xffffffff), ['request', 0x80000000, 0xfffffff0, 0xffffffff]],
  ['piece (small block)', encodePiece(5, 32, new Uint8Array([1, 2, 3])), ['piece', 5, 32, new Uint8Array([1, 2, 3])]],
  ['piece (empty block)', encodePiece(5, 0, new Uint8Array(0)), ['piece', 5, 0, new Uint8Array(0)]],
  ['piece (16 KiB block)', encodePiece(9, 16384, block16k), ['piece', 9, 16384, block16k]],
  ['cancel', encodeCancel(1, 2, 3), ['cancel', 1, 2, 3]],
  ['port', encodePort(6881), ['port', 6881]],
  ['port 65535', encodePort(65535), ['port', 65535]],
  ['suggest', encodeSuggest(11), ['suggest', 11]],
  ['have-all', encodeHaveAll(), ['have-all']],
  ['have-none', encodeHaveNone(), ['have-none']],
  ['reject', encodeReject(4, 5, 6), ['reject', 4, 5, 6]],
  ['allowed-fast', encodeAllowedFast(12), ['allowed-fast', 12]],
  ['extended handshake', encodeExtended(0, new TextEncoder().encode('d1:md11:ut_metadatai3eee')),
    ['extended', 0, new TextEncoder().encode('d1:md11:ut_metadatai3eee')]],
  ['extended (empty payload)', encodeExtended(3, new Uint8Array(0)), ['extended', 3, new Uint8Array(0)]],
  ['unknown id', new Uint8Array([0, 0, 0, 3, 0xff, 0xaa, 0xbb]), ['unknown', 0xff, new Uint8Array([0xaa, 0xbb])]]
]

describe('Framer: every message type round-trips', () => {
  for (const copy of [false, true]) {
    for (const [name, msg, event] of CASES) {
      it(`${name} (copy: ${copy})`, () => {
        const whole = parse(msg, () => msg.length, { copy })
        expect(whole.log).toEqual([event])
        expect(whole.framer.buffered).toBe(0)
        expect(parse(msg, () => 1, { copy }).log).toEqual([event])
      })
    }
  }

  it('encodes the documented bytes', () => {
    expect([...encodeKeepAlive()]).toEqual([0, 0, 0, 0])
    expect([...encodeChoke()]).toEqual([0, 0, 0, 1, 0])
    expect([...encodeHave(0x01020304)]).toEqual([0, 0, 0, 5, 4, 1, 2, 3, 4])
    expect([...encodeRequest(1, 0x4000, 0x4000)]).toEqual([0, 0, 0, 13, 6, 0, 0, 0, 1, 0, 0, 0x40, 0, 0, 0, 0x40, 0])
    expect([...encodePieceHeader(1, 2, 3)]).toEqual([0, 0, 0, 12, 7, 0, 0, 0, 1, 0, 0, 0, 2])
    expect([...encodePort(0x1ae1)]).toEqual([0, 0, 0, 3, 9, 0x1a, 0xe1])
    expect([...encodeHaveNone()]).toEqual([0, 0, 0, 1, 15])
    expect([...encodeExtended(2, new Uint8Array([0x64, 0x65]))]).toEqual([0, 0, 0, 4, 20, 2, 0x64, 0x65])
    expect(concat([encodePieceHeader(9, 16384, block16k.length), block16k])).toEqual(encodePiece(9, 16384, block16k))
  })

  it('rejects fields that do not fit the wire format', () => {
    expect(code(() => encodeHave(-1))).toBe('ERR_WIRE_INVALID_FIELD')
    expect(code(() => encodeHave(2 ** 32))).toBe('ERR_WIRE_INVALID_FIELD')
    expect(code(() => encodeRequest(1, 1.5, 1))).toBe('ERR_WIRE_INVALID_FIELD')
    expect(code(() => encodePort(65536))).toBe('ERR_WIRE_INVALID_FIELD')
    expect(code(() => encodeExtended(256, new Uint8Array(0)))).toBe('ERR_WIRE_INVALID_FIELD')
  })
})

/** A download-like stream: blocks of several sizes (around SPLIT_MIN too), haves, requests, keep-alives, extended. */
function realisticStream (seed: number, pieces = 48): { stream: Uint8Array, events: Event[] } {
  const r = rng(seed)
  const parts: Uint8Array[] = []
  const events: Event[] = []
  const add = (m: Uint8Array, e: Event): void => { parts.push(m); events.push(e) }
  add(encodeExtended(0, bytes(60, seed)), ['extended', 0, bytes(60, seed)])
  add(encodeBitfield(bytes(40, seed + 1)), ['bitfield', bytes(40, seed + 1)])
  add(encodeUnchoke(), ['unchoke'])
  for (let i = 0; i < pieces; i++) {
    const size = [16384, 16384, 16384, 7000, 1024, 1023, 300, 70000][(r() * 8) | 0]
    const block = bytes(size, seed * 1000 + i)
    add(encodePiece(i >>> 2, (i & 3) * 16384, block), ['piece', i >>> 2, (i & 3) * 16384, block])
    const smalls = (r() * 4) | 0
    for (let j = 0; j < smalls; j++) {
      const x = (r() * 5) | 0
      if (x === 0) add(encodeHave(i * 10 + j), ['have', i * 10 + j])
      else if (x === 1) add(encodeRequest(i, j * 16384, 16384), ['request', i, j * 16384, 16384])
      else if (x === 2) add(encodeKeepAlive(), ['keep-alive'])
      else if (x === 3) add(encodeExtended(2, bytes(30, i)), ['extended', 2, bytes(30, i)])
      else add(encodeCancel(i, j, 1), ['cancel', i, j, 1])
    }
  }
  add(encodeHaves([1, 2, 3]), ['have', 1]); events.push(['have', 2], ['have', 3])
  return { stream: concat(parts), events }
}

describe('Framer: chunking does not change the result', () => {
  // [name, chunk sizes, pieces per stream, seeds]
  const chunkings: [string, (r: () => number) => (remaining: number) => number, number, number][] = [
    ['1-byte chunks', () => () => 1, 6, 4],
    ['1..20-byte chunks', r => () => 1 + ((r() * 20) | 0), 10, 10],
    ['chunks splitting near every boundary', r => () => [1, 2, 3, 5, 13, 17, 4096][(r() * 7) | 0], 24, 10],
    ['socket-sized chunks', r => () => 1 + ((r() * 65536) | 0), 48, 20],
    ['mixed sizes', r => () => (r() < 0.5 ? 1 + ((r() * 8) | 0) : 1 + ((r() * 40000) | 0)), 48, 20]
  ]
  for (const copy of [false, true]) {
    for (const [name, make, pieces, seeds] of chunkings) {
      it(`${name}, ${seeds} seeds (copy: ${copy})`, () => {
        for (let seed = 1; seed <= seeds; seed++) {
          const { stream, events } = realisticStream(seed, pieces)
          const r = rng(seed + 77)
          const { log, framer } = parse(stream, make(r), { copy })
          // The log is compared only now: payloads from early pushes must have survived the later ones.
          expect(log.length).toBe(events.length)
          expect(norm(log)).toEqual(norm(events))
          expect(framer.buffered).toBe(0)
          framer.dispose()
        }
      })
    }
  }

  it('works with a tiny receive buffer (compaction and growth paths)', () => {
    for (let seed = 1; seed <= 6; seed++) {
      const { stream, events } = realisticStream(seed)
      const r = rng(seed)
      expect(norm(parse(stream, () => 1 + ((r() * 300) | 0), { bufferSize: 16 }).log)).toEqual(norm(events))
    }
  })

  it('copy: true payloads survive the caller reusing its chunk buffer', () => {
    const { stream, events } = realisticStream(3)
    const log: Event[] = []
    const framer = new Framer(recorder(log), { copy: true })
    const reused = new Uint8Array(5000)
    for (let o = 0; o < stream.length; o += 5000) {
      const n = Math.min(5000, stream.length - o)
      reused.set(stream.subarray(o, o + n))
      framer.push(reused.subarray(0, n))
      reused.fill(0xee)
    }
    expect(norm(log)).toEqual(norm(events))
  })

  it('copy: false hands out views of the pushed chunk, and copies only what spans chunks', () => {
    const msg = encodePiece(1, 0, block16k)
    const got: Uint8Array[] = []
    const framer = new Framer({ onPiece: (_i, _b, block) => got.push(block) })
    const chunk = concat([msg, msg.subarray(0, 100)])
    framer.push(chunk)
    framer.push(msg.subarray(100))
    expect(got[0].buffer).toBe(chunk.buffer)
    expect(got[1].buffer).not.toBe(chunk.buffer)
    expect(got[1]).toEqual(block16k)
  })

  it('pieceTarget: blocks of 1 KiB or more are written into the given buffers, whatever the chunking', () => {
    for (let seed = 1; seed <= 12; seed++) {
      const { stream, events } = realisticStream(seed, 32)
      const r = rng(seed + 5)
      const log: Event[] = []
      const given = new Set<Uint8Array>()
      const wrongSize = new Set<Uint8Array>()
      let odd = 0
      const framer = new Framer({
        ...recorder(log),
        pieceTarget: (_i, _b, len) => {
          // Every third block: no target (default path); every fifth: a wrong size, which must be ignored.
          if (++odd % 3 === 0) return null
          const t = new Uint8Array(odd % 5 === 0 ? len + 1 : len).fill(0xaa)
          if (t.length === len) given.add(t)
          else wrongSize.add(t)
          return t
        }
      })
      for (let o = 0; o < stream.length;) {
        const n = Math.min(r() < 0.5 ? 1 + ((r() * 20) | 0) : 1 + ((r() * 40000) | 0), stream.length - o)
        framer.push(stream.slice(o, o + n))
        o += n
      }
      expect(norm(log)).toEqual(norm(events))
      const blocks = log.filter(e => e[0] === 'piece').map(e => e[3] as Uint8Array)
      const inTargets = blocks.filter(b => given.has(b))
      // Targets of the right size were used (as the very objects), wrong-size ones never.
      expect(inTargets.length).toBeGreaterThan(0)
      for (const b of inTargets) expect(b.length).toBeGreaterThanOrEqual(1024)
      expect(blocks.some(b => wrongSize.has(b))).toBe(false)
      expect(wrongSize.size).toBeGreaterThan(0)
      framer.dispose()
    }
  })

  it('pieceTarget: a stream that ends mid-block delivers nothing; the target holds the bytes so far', () => {
    const target = new Uint8Array(16384)
    const got: Uint8Array[] = []
    const framer = new Framer({ onPiece: (_i, _b, block) => got.push(block), pieceTarget: () => target })
    const msg = encodePiece(2, 16384, block16k)
    framer.push(msg.subarray(0, 5000))
    framer.dispose()
    expect(got).toEqual([])
    expect(Buffer.from(target.subarray(0, 5000 - 13)).equals(Buffer.from(block16k.subarray(0, 5000 - 13)))).toBe(true)
  })

  it('survives handlers that grow kernel memory or drive another framer', () => {
    const { stream, events } = realisticStream(5)
    const other: Event[] = []
    const otherFramer = new Framer(recorder(other))
    const log: Event[] = []
    const rec = recorder(log)
    const handler: FrameHandler = {
      ...rec,
      onHave: i => {
        rec.onHave(i)
        const p = wasm().alloc(8 << 20) // grows memory: detaches every view taken before
        wasm().free(p)
        otherFramer.push(concat([encodeHave(i), encodeKeepAlive()]))
      }
    }
    const framer = new Framer(handler)
    for (let o = 0; o < stream.length; o += 3000) framer.push(stream.slice(o, o + 3000))
    expect(norm(log)).toEqual(norm(events))
    expect(other.filter(e => e[0] === 'have').length).toBe(events.filter(e => e[0] === 'have').length)
  })
})

describe('batch encoders', () => {
  const r = rng(42)
  const u32s = (n: number): number[] => Array.from({ length: n }, (_, i) => i % 7 === 0 ? [0, 0xffffffff, 0x80000000][i % 3] : (r() * 2 ** 32) >>> 0)

  it('produce the same bytes as the single encoders', () => {
    for (const n of [1, 2, 17, 1000]) {
      const triples = u32s(n * 3)
      const singles = (f: (i: number, b: number, l: number) => Uint8Array): Uint8Array =>
        concat(Array.from({ length: n }, (_, i) => f(triples[i * 3], triples[i * 3 + 1], triples[i * 3 + 2])))
      expect(encodeRequests(triples)).toEqual(singles(encodeRequest))
      expect(encodeRequests(Uint32Array.from(triples))).toEqual(singles(encodeRequest))
      expect(encodeCancels(triples)).toEqual(singles(encodeCancel))
      expect(encodeRejects(Uint32Array.from(triples))).toEqual(singles(encodeReject))
      const indexes = u32s(n)
      expect(encodeHaves(indexes)).toEqual(concat(indexes.map(encodeHave)))
      expect(encodeHaves(Uint32Array.from(indexes))).toEqual(concat(indexes.map(encodeHave)))
    }
  })

  it('round-trip through the Framer', () => {
    const triples = u32s(300)
    const { log } = parse(concat([encodeRequests(triples), encodeHaves(triples)]), () => 777)
    const want: Event[] = []
    for (let i = 0; i < 100; i++) want.push(['request', triples[i * 3], triples[i * 3 + 1], triples[i * 3 + 2]])
    for (const t of triples) want.push(['have', t])
    expect(log).toEqual(want)
  })

  it('handle empty input and reject bad input', () => {
    expect(encodeRequests([]).length).toBe(0)
    expect(encodeHaves(new Uint32Array(0)).length).toBe(0)
    expect(code(() => encodeRequests([1, 2]))).toBe('ERR_WIRE_INVALID_FIELD')
    expect(code(() => encodeRequests([1, 2, -3]))).toBe('ERR_WIRE_INVALID_FIELD')
    expect(code(() => encodeHaves([2 ** 32]))).toBe('ERR_WIRE_INVALID_FIELD')
    expect(code(() => encodeCancels([1, 2, 0.5]))).toBe('ERR_WIRE_INVALID_FIELD')
  })
})

describe('handshake', () => {
  const infoHash = bytes(20, 7)
  const peerId = new TextEncoder().encode('-WT0001-abcdefghijkl')
  const reserved = encodeReserved({ extended: true, fast: true })

  it('round-trips, with the protocol bytes and flags of BEP 3 / 6 / 10', () => {
    const hs = encodeHandshake(infoHash, peerId, reserved)
    expect(hs.length).toBe(HANDSHAKE_LENGTH)
    expect(hs[0]).toBe(19)
    expect(new TextDecoder().decode(hs.subarray(1, 20))).toBe('BitTorrent protocol')
    const out = decodeHandshake(concat([hs, encodeHave(1)]))
    expect(out).toEqual({ msg: { reserved, infoHash, peerId }, used: 68 })
    expect(decodeReserved(out!.msg.reserved)).toEqual({ extended: true, fast: true, dht: false })
    expect([...reserved]).toEqual([0, 0, 0, 0, 0, 0x10, 0, 0x04])
    expect(decodeReserved(encodeReserved({ dht: true }))).toEqual({ extended: false, fast: false, dht: true })
    expect([...encodeHandshake(infoHash, peerId).subarray(20, 28)]).toEqual([0, 0, 0, 0, 0, 0, 0, 0])
  })

  it('asks for more on every valid prefix', () => {
    const hs = encodeHandshake(infoHash, peerId, reserved)
    for (let n = 0; n < 68; n++) expect(decodeHandshake(hs.subarray(0, n))).toBeNull()
  })

  it('rejects a wrong protocol on its first wrong byte', () => {
    expect(code(() => decodeHandshake(new Uint8Array([18])))).toBe('ERR_WIRE_BAD_PROTOCOL')
    expect(code(() => decodeHandshake(new TextEncoder().encode('GET / HTTP/1.1\r\n')))).toBe('ERR_WIRE_BAD_PROTOCOL')
    const hs = encodeHandshake(infoHash, peerId)
    hs[12] ^= 0x20 // 'BitTorrent Protocol'
    expect(decodeHandshake(hs.subarray(0, 12))).toBeNull()
    expect(code(() => decodeHandshake(hs.subarray(0, 13)))).toBe('ERR_WIRE_BAD_PROTOCOL')
  })

  it('rejects bad field lengths', () => {
    expect(code(() => encodeHandshake(infoHash.subarray(0, 19), peerId))).toBe('ERR_WIRE_INVALID_FIELD')
    expect(code(() => encodeHandshake(infoHash, peerId, new Uint8Array(7)))).toBe('ERR_WIRE_INVALID_FIELD')
  })
})

describe('Framer: bad input', () => {
  const prefix = (n: number): Uint8Array => new Uint8Array([n >>> 24, n >>> 16, n >>> 8, n])
  const failsWith = (opts: FramerOptions, input: Uint8Array, want: string, events: Event[] = []): Framer => {
    const log: Event[] = []
    const framer = new Framer(recorder(log), opts)
    expect(code(() => framer.push(input))).toBe(want)
    expect(log).toEqual(events)
    return framer
  }

  it('(14) rejects an over-limit length prefix from its 4 bytes alone', () => {
    failsWith({}, prefix(0xffffffff), 'ERR_WIRE_MESSAGE_TOO_LARGE')
    failsWith({}, prefix(DEFAULT_MAX_MESSAGE_LENGTH + 1), 'ERR_WIRE_MESSAGE_TOO_LARGE')
    // At the limit it is accepted and waits for the body.
    const framer = new Framer({})
    framer.push(concat([prefix(DEFAULT_MAX_MESSAGE_LENGTH), new Uint8Array([5])]))
    expect(framer.buffered).toBe(5)
    expect(DEFAULT_MAX_MESSAGE_LENGTH).toBe(1024 * 1024)
  })

  it('(14) raises the limit to the largest legal bitfield, and only that far', () => {
    const pieces = 9_000_001 // ceil(pieces / 8) + 1 = 1,125,002 > 1 MiB
    const len = bitfieldMessageLength(pieces)
    expect(len).toBe(1_125_002)
    const bitfield = bytes(len - 1, 9)
    for (const opts of [{ pieces }, { maxMessageLength: 1000, pieces }]) {
      const { log } = parse(encodeBitfield(bitfield), () => 65536, opts)
      expect(norm(log)).toEqual(norm([['bitfield', bitfield]]))
      failsWith(opts, prefix(len + 1), 'ERR_WIRE_MESSAGE_TOO_LARGE')
    }
    failsWith({}, prefix(len), 'ERR_WIRE_MESSAGE_TOO_LARGE')
    const later = new Framer({})
    later.setPieces(pieces)
    expect(later.maxMessageLength).toBe(len)
    later.push(prefix(len))
    // A configured limit below the default is honoured too.
    failsWith({ maxMessageLength: 100 }, prefix(101), 'ERR_WIRE_MESSAGE_TOO_LARGE')
  })

  it('(15) a prefix >= 2^31 is an error, never a keep-alive, whatever the configured limit', () => {
    for (const n of [0x80000000, 0x80000001, 0xfffffffe]) {
      failsWith({}, prefix(n), 'ERR_WIRE_MESSAGE_TOO_LARGE')
      failsWith({ maxMessageLength: MAX_MESSAGE_LENGTH_LIMIT }, prefix(n), 'ERR_WIRE_MESSAGE_TOO_LARGE')
    }
    expect(code(() => new Framer({}, { maxMessageLength: 2 ** 31 }))).toBe('ERR_WIRE_OPTIONS')
  })

  it('(16) rejects have / request payloads of the wrong length as soon as the id byte is there', () => {
    failsWith({}, new Uint8Array([0, 0, 0, 4, 4]), 'ERR_WIRE_BAD_LENGTH') // have with 3 bytes
    failsWith({}, new Uint8Array([0, 0, 0, 12, 6]), 'ERR_WIRE_BAD_LENGTH') // request with 11 bytes
    failsWith({}, new Uint8Array([0, 0, 0x10, 0, 4]), 'ERR_WIRE_BAD_LENGTH') // have claiming 4 KiB
    failsWith({}, new Uint8Array([0, 0, 0, 4, 4, 0, 0, 1]), 'ERR_WIRE_BAD_LENGTH') // complete, still short
  })

  it('rejects fixed-length messages of the wrong length', () => {
    const bad: number[][] = [
      [0, 0, 0, 2, 0, 0], // choke with a payload
      [0, 0, 0, 2, 14, 0], // have-all with a payload
      [0, 0, 0, 4, 9, 0, 0, 0], // port with 3 bytes
      [0, 0, 0, 8, 7, 0, 0, 0, 0, 0, 0, 0], // piece with 7 bytes
      [0, 0, 0, 14, 16, ...new Array(13).fill(0)], // reject with 13 bytes
      [0, 0, 0, 6, 17, 0, 0, 0, 0, 0], // allowed-fast with 5 bytes
      [0, 0, 0, 1, 20] // extended without its id byte
    ]
    for (const b of bad) failsWith({}, new Uint8Array(b), 'ERR_WIRE_BAD_LENGTH')
  })

  it('passes unknown ids to onUnknown', () => {
    expect(parse(new Uint8Array([0, 0, 0, 1, 0xff]), () => 1).log).toEqual([['unknown', 0xff, new Uint8Array(0)]])
    expect(parse(new Uint8Array([0, 0, 0, 2, 10, 1]), () => 9).log).toEqual([['unknown', 10, new Uint8Array([1])]])
  })

  it('delivers the messages before the bad one, then stays failed', () => {
    const stream = concat([encodeHave(1), encodePiece(2, 0, block16k), encodeChoke(), prefix(0xffffffff), encodeHave(3)])
    const before: Event[] = [['have', 1], ['piece', 2, 0, block16k], ['choke']]
    for (const size of [1, 7, 100, stream.length]) {
      const log: Event[] = []
      const framer = new Framer(recorder(log))
      let err: unknown = null
      for (let o = 0; o < stream.length && err === null; o += size) {
        try { framer.push(stream.slice(o, o + size)) } catch (e) { err = e }
      }
      expect((err as WireProtocolError).code).toBe('ERR_WIRE_MESSAGE_TOO_LARGE')
      expect(log).toEqual(before)
      expect(framer.error).toBe(err)
      expect(() => framer.push(encodeHave(9))).toThrow(err as Error)
      expect(log).toEqual(before)
    }
  })

  it('stays failed after a handler throws; refuses re-entrant pushes and use after dispose', () => {
    const boom = new Error('boom')
    let n = 0
    const framer = new Framer({ onHave: () => { n++; throw boom } })
    expect(() => framer.push(concat([encodeHave(1), encodeHave(2)]))).toThrow(boom)
    expect(() => framer.push(encodeHave(3))).toThrow(boom)
    expect(n).toBe(1)

    let inner = ''
    const reentrant: Framer = new Framer({ onHave: () => { inner = code(() => reentrant.push(encodeHave(2))) } })
    reentrant.push(encodeHave(1))
    expect(inner).toBe('ERR_WIRE_REENTRANT_PUSH')

    const disposed = new Framer({})
    disposed.dispose()
    expect(code(() => disposed.push(encodeHave(1)))).toBe('ERR_WIRE_FRAMER_DISPOSED')

    // Disposed from a handler: nothing after that message is delivered, and the framer is unusable.
    const seen: number[] = []
    const selfDisposing: Framer = new Framer({ onHave: i => { seen.push(i); if (i === 2) selfDisposing.dispose() } })
    selfDisposing.push(concat([encodeHave(1), encodeHave(2), encodeHave(3), encodePiece(1, 0, block16k)]))
    expect(seen).toEqual([1, 2])
    expect(code(() => selfDisposing.push(encodeHave(4)))).toBe('ERR_WIRE_FRAMER_DISPOSED')
  })
})
