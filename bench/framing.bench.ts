/**
 * Peer wire framing benchmarks.
 *
 * 1. Parse: an 8 MiB mixed stream (512 piece messages with 16 KiB blocks, each followed by a have and a
 *    request; a keep-alive and a 100-byte extended message every 64 pieces), fed in 64 KiB chunks (a socket
 *    read). Both sides start from scratch each op (new Framer / new Wire) and hand every decoded field and
 *    block to a listener that counts them; every op checks the counts, so neither side can skip work.
 *    bittorrent-protocol's Wire is a streamx Duplex: it is fed the peer's handshake first, is unchoking us (else
 *    it drops requests without emitting them), and gets the stream through _write(), its parser entry point, so
 *    streamx's write queue is not counted against it; the public write() path is shown too. Ours runs with its
 *    default `copy: false` (blocks are views of the pushed chunks, as bittorrent-protocol's are); `copy: true`
 *    (every block copied) is shown for reference.
 * 2. Encode 1000 request messages: our batch encoder (one kernel call) vs bittorrent-protocol's per-message
 *    encoding (Wire.prototype._message, isolated from its stream by a stand-in `this` that collects buffers),
 *    plus a straightforward JS encoder into one buffer and our single-message encoder for reference.
 */
import type { BenchGroup } from './lib.js'
import { Framer, type FrameHandler, encodeHandshake, encodeReserved } from '../src/wire-codec/index.js'
import {
  encodePiece, encodeHave, encodeRequest, encodeKeepAlive, encodeExtended, encodeRequests
} from '../src/wire-codec/encode.js'

interface WireLike {
  unchoke (): void
  on (event: string, fn: (...args: never[]) => void): void
  write (data: Uint8Array): boolean
  _write (data: Uint8Array, cb: (err: Error | null) => void): void
  _message (id: number, numbers: number[], data: Uint8Array | null): void
}
type WireCtor = new () => WireLike

const BLOCK = 16 * 1024
const PIECES = 512
const CHUNK = 64 * 1024
const REQUESTS = 1000

// ---- the stream ----

function buildStream (): { bytes: Uint8Array, expect: Counts } {
  const block = new Uint8Array(BLOCK)
  let x = 0x12345678
  for (let i = 0; i < BLOCK; i++) {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5
    block[i] = x
  }
  const parts: Uint8Array[] = []
  const expect: Counts = { pieces: 0, blockBytes: 0, haves: 0, requests: 0, keepAlives: 0, extended: 0 }
  for (let i = 0; i < PIECES; i++) {
    parts.push(encodePiece(i >>> 4, (i & 15) * BLOCK, block))
    parts.push(encodeHave(i)) // distinct indexes: bittorrent-protocol only emits the first have of a piece
    parts.push(encodeRequest(i >>> 4, (i & 15) * BLOCK, BLOCK))
    expect.pieces++; expect.blockBytes += BLOCK; expect.haves++; expect.requests++
    if ((i & 63) === 63) {
      parts.push(encodeKeepAlive())
      parts.push(encodeExtended(1, new Uint8Array(100).fill(0x61)))
      expect.keepAlives++; expect.extended++
    }
  }
  const total = parts.reduce((n, p) => n + p.length, 0)
  const bytes = new Uint8Array(total)
  let o = 0
  for (const p of parts) { bytes.set(p, o); o += p.length }
  return { bytes, expect }
}

interface Counts { pieces: number, blockBytes: number, haves: number, requests: number, keepAlives: number, extended: number }

const { bytes: stream, expect } = buildStream()
// Separate buffers, as socket reads are.
const chunks: Uint8Array[] = []
for (let o = 0; o < stream.length; o += CHUNK) chunks.push(stream.slice(o, o + CHUNK))
const handshake = encodeHandshake(new Uint8Array(20).fill(1), new Uint8Array(20).fill(2), encodeReserved({ extended: true }))

function zero (): Counts {
  return { pieces: 0, blockBytes: 0, haves: 0, requests: 0, keepAlives: 0, extended: 0 }
}

function check (who: string, c: Counts): void {
  for (const k of Object.keys(expect) as (keyof Counts)[]) {
    if (c[k] !== expect[k]) throw new Error(`${who}: ${k} = ${c[k]}, expected ${expect[k]}`)
  }
}

// ---- ours ----

function counter (c: Counts): FrameHandler {
  return {
    onPiece (_index, _begin, block) { c.pieces++; c.blockBytes += block.length },
    onHave () { c.haves++ },
    onRequest () { c.requests++ },
    onKeepAlive () { c.keepAlives++ },
    onExtended () { c.extended++ }
  }
}

function parseOurs (copy: boolean): Counts {
  const c = zero()
  const f = new Framer(counter(c), { copy })
  for (const chunk of chunks) f.push(chunk)
  f.dispose()
  return c
}

// ---- bittorrent-protocol ----

let Wire: WireCtor

function newWire (c: Counts): WireLike {
  const wire = new Wire()
  wire.unchoke()
  wire.on('piece', (_index: number, _offset: number, buffer: Uint8Array) => { c.pieces++; c.blockBytes += buffer.length })
  wire.on('have', () => { c.haves++ })
  wire.on('request', () => { c.requests++ })
  wire.on('keep-alive', () => { c.keepAlives++ })
  wire.on('extended', () => { c.extended++ })
  return wire
}

const noop = (): void => {}

function parseTheirsDirect (): Counts {
  const c = zero()
  const wire = newWire(c)
  wire._write(handshake, noop)
  for (const chunk of chunks) wire._write(chunk, noop)
  return c
}

async function parseTheirsStream (): Promise<Counts> {
  const c = zero()
  const wire = newWire(c)
  wire.write(handshake)
  for (const chunk of chunks) wire.write(chunk)
  // streamx processes writes in microtasks; wait until the last message (an extended one) has been seen.
  for (let spins = 0; c.extended < expect.extended; spins++) {
    if (spins > 1e6) throw new Error('bittorrent-protocol did not process the stream')
    await new Promise<void>(resolve => setImmediate(resolve))
  }
  return c
}

// ---- encoding ----

const triples = new Uint32Array(REQUESTS * 3)
for (let i = 0; i < REQUESTS; i++) {
  triples[i * 3] = 100 + (i >>> 4)
  triples[i * 3 + 1] = (i & 15) * BLOCK
  triples[i * 3 + 2] = BLOCK
}

function encodeTheirs (): Uint8Array[] {
  const out: Uint8Array[] = []
  const self = { _push (b: Uint8Array) { out.push(b) } }
  const message = Wire.prototype._message
  for (let i = 0; i < REQUESTS; i++) message.call(self, 6, [triples[i * 3], triples[i * 3 + 1], triples[i * 3 + 2]], null)
  return out
}

function encodePlainJs (): Uint8Array {
  const b = new Uint8Array(REQUESTS * 17)
  const v = new DataView(b.buffer)
  for (let i = 0, o = 0; i < REQUESTS; i++, o += 17) {
    v.setUint32(o, 13)
    b[o + 4] = 6
    v.setUint32(o + 5, triples[i * 3])
    v.setUint32(o + 9, triples[i * 3 + 1])
    v.setUint32(o + 13, triples[i * 3 + 2])
  }
  return b
}

function encodeSingles (): Uint8Array[] {
  const out: Uint8Array[] = []
  for (let i = 0; i < REQUESTS; i++) out.push(encodeRequest(triples[i * 3], triples[i * 3 + 1], triples[i * 3 + 2]))
  return out
}

function sameBytes (a: Uint8Array, parts: Uint8Array[]): boolean {
  let o = 0
  for (const p of parts) {
    for (let i = 0; i < p.length; i++) if (a[o + i] !== p[i]) return false
    o += p.length
  }
  return o === a.length
}

export async function groups (): Promise<BenchGroup[]> {
  const spec = 'bittorrent-protocol'
  Wire = ((await import(spec)) as { default: WireCtor }).default
  // Both sides must see every message before anything is timed.
  check('ours (copy)', parseOurs(true))
  check('ours (no copy)', parseOurs(false))
  check('bittorrent-protocol _write', parseTheirsDirect())
  check('bittorrent-protocol write', await parseTheirsStream())
  const batch = encodeRequests(triples)
  if (!sameBytes(batch, encodeTheirs()) || !sameBytes(batch, [encodePlainJs()]) || !sameBytes(batch, encodeSingles())) {
    throw new Error('request encoders disagree')
  }

  return [
    {
      name: `wire parse: ${(stream.length / 2 ** 20).toFixed(1)} MiB mixed stream, 64 KiB chunks`,
      bytesPerOp: stream.length,
      target: 3,
      cases: [
        { name: 'wasmtorrent Framer (default, blocks are views)', fn: () => check('ours', parseOurs(false)), ours: true },
        { name: 'wasmtorrent Framer (copy: true)', fn: () => check('ours', parseOurs(true)) },
        { name: 'bittorrent-protocol Wire._write', fn: () => check('theirs', parseTheirsDirect()), baseline: true },
        { name: 'bittorrent-protocol Wire.write (stream)', fn: async () => check('theirs', await parseTheirsStream()) }
      ]
    },
    {
      name: `wire encode: ${REQUESTS} requests`,
      bytesPerOp: REQUESTS * 17,
      cases: [
        { name: 'wasmtorrent encodeRequests (batch)', fn: () => encodeRequests(triples), ours: true },
        { name: 'wasmtorrent encodeRequest x1000', fn: encodeSingles },
        { name: 'plain JS DataView loop, one buffer', fn: encodePlainJs },
        { name: 'bittorrent-protocol _message x1000', fn: encodeTheirs, baseline: true }
      ]
    }
  ]
}
