import type { Socket } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { Wire } from '../src/wire/index.js'
import { Bitfield } from '../src/bitfield/index.js'
import { WasmTorrentError } from '../src/errors.js'
import {
  encodeHandshake, encodeReserved, encodeHave, encodeBitfield, encodePiece, encodeHaveAll, encodeReject,
  encodeExtended, encodeRequest
} from '../src/wire-codec/index.js'
import { socketPair, waitFor, sleep } from './helpers/sockets.js'

const IH = 'aa'.repeat(20)
const PA = '2d5757303030312d' + '11'.repeat(12)
const PB = '2d5757303030312d' + '22'.repeat(12)
const hex2 = (h: string) => Uint8Array.from(h.match(/../g)!.map(x => parseInt(x, 16)))

const open: Array<Wire | Socket> = []
afterEach(() => { for (const o of open.splice(0)) o.destroy() })

/** Two wires over a loopback TCP pair, both handshaken. */
async function wirePair (opts: { fastA?: boolean, fastB?: boolean, pieces?: number } = {}): Promise<[Wire, Wire]> {
  const [sa, sb] = await socketPair()
  const a = new Wire(sa, { type: 'tcpOutgoing', pieces: opts.pieces ?? 100 })
  const b = new Wire(sb, { type: 'tcpIncoming', pieces: opts.pieces ?? 100 })
  open.push(a, b)
  b.once('handshake', () => b.handshake(IH, PB, { fast: opts.fastB ?? true }))
  const ready = Promise.all([waitFor(a, 'ready'), waitFor(b, 'ready')])
  a.handshake(IH, PA, { fast: opts.fastA ?? true })
  await ready
  return [a, b]
}

/** Our wire against a raw socket we write crafted bytes to; returns after the handshakes. */
async function rawPeer (opts: { fast?: boolean, extended?: boolean, pieces?: number } = {}): Promise<{ wire: Wire, raw: Socket }> {
  const [sa, raw] = await socketPair()
  const wire = new Wire(sa, { pieces: opts.pieces ?? 100 })
  open.push(wire, raw)
  const gotOurs = new Promise<void>(resolve => raw.once('data', () => resolve()))
  wire.handshake(IH, PA)
  await gotOurs
  raw.write(encodeHandshake(hex2(IH), hex2(PB), encodeReserved({ fast: opts.fast ?? true, extended: opts.extended ?? true })))
  await waitFor(wire, 'ready')
  return { wire, raw }
}

async function closeCode (wire: Wire): Promise<string | undefined> {
  if (wire.destroyed) return (wire.closeReason as WasmTorrentError | null)?.code
  const [err] = await waitFor<Error | undefined>(wire, 'close')
  return (err as WasmTorrentError | undefined)?.code
}

describe('Wire: handshakes and negotiation', () => {
  it('exchanges handshakes, peer ids, and extended handshakes; fast is on only if both ends announce it', async () => {
    const [a, b] = await wirePair()
    expect(a.peerId).toBe(PB)
    expect(b.peerId).toBe(PA)
    expect(a.infoHash).toBe(IH)
    expect(a.hasFast && b.hasFast && a.hasExtended).toBe(true)
    for (let i = 0; i < 100 && a.peerExtendedHandshake.reqq === undefined; i++) await sleep(10)
    const hs = a.peerExtendedHandshake as any
    expect(hs.reqq).toBe(500)
    expect(new TextDecoder().decode(hs.v)).toBe('wasmtorrent')
    expect(Array.from(hs.yourip)).toEqual([127, 0, 0, 1])

    const [c, d] = await wirePair({ fastB: false })
    expect(c.hasFast).toBe(false)
    expect(d.hasFast).toBe(false)
  })

  it("emits 'ready' once, after the extensions' handshake hooks, when answering from a 'handshake' listener", async () => {
    const [sa, sb] = await socketPair()
    const a = new Wire(sa)
    const b = new Wire(sb)
    open.push(a, b)
    const order: string[] = []
    class Probe { onHandshake () { order.push('ext') } }
    ;(Probe.prototype as { name?: string }).name = 'probe'
    b.use(Probe as never)
    b.on('ready', () => order.push('ready'))
    b.once('handshake', () => b.handshake(IH, PB))
    a.handshake(IH, PA)
    await waitFor(a, 'ready')
    await sleep(50)
    expect(order).toEqual(['ext', 'ready'])
  })

  it("'close' listeners can still read peerPieces", async () => {
    const [a] = await wirePair()
    let count = -1
    a.once('close', () => { count = a.peerPieces!.count() })
    a.destroy()
    expect(count).toBe(0)
  })

  it('a peer speaking another protocol is disconnected with ERR_WIRE_BAD_PROTOCOL', async () => {
    const [sa, raw] = await socketPair()
    const wire = new Wire(sa)
    open.push(wire, raw)
    raw.write('GET / HTTP/1.1\r\n\r\n')
    expect(await closeCode(wire)).toBe('ERR_WIRE_BAD_PROTOCOL')
  })

  it('a handshake for another torrent is refused', async () => {
    const [sa, raw] = await socketPair()
    const wire = new Wire(sa)
    open.push(wire, raw)
    wire.handshake(IH, PA)
    raw.write(encodeHandshake(hex2('bb'.repeat(20)), hex2(PB)))
    expect(await closeCode(wire)).toBe('ERR_WIRE_INFO_HASH')
  })

  it('closes with ERR_WIRE_HANDSHAKE_TIMEOUT when the peer never handshakes', async () => {
    const [sa, raw] = await socketPair()
    const wire = new Wire(sa, { handshakeTimeout: 300 })
    open.push(wire, raw)
    expect(await closeCode(wire)).toBe('ERR_WIRE_HANDSHAKE_TIMEOUT')
  })
})

describe('Wire: messages', () => {
  it('delivers choke/unchoke/interest/have/bitfield with symmetric names and states', async () => {
    const [a, b] = await wirePair()
    const seen: string[] = []
    for (const e of ['choke', 'unchoke', 'interested', 'uninterested', 'have', 'bitfield']) b.on(e, (...args: unknown[]) => seen.push(e + (typeof args[0] === 'number' ? ':' + args[0] : '')))
    const bf = new Bitfield(100)
    bf.set(3); bf.set(99)
    a.bitfield(bf)
    a.interested()
    a.unchoke()
    a.have(7)
    a.have(7) // duplicate haves are not re-emitted
    a.choke()
    a.uninterested()
    await waitFor(b, 'uninterested')
    expect(seen).toEqual(['bitfield', 'interested', 'unchoke', 'have:7', 'choke', 'uninterested'])
    expect(b.peerPieces!.get(3) && b.peerPieces!.get(99) && b.peerPieces!.get(7)).toBe(true)
    expect(b.peerPieces!.count()).toBe(3)
    expect(a.amChoking).toBe(true)
    expect(b.peerChoking).toBe(true)
    expect(b.peerInterested).toBe(false)
    bf.destroy()
  })

  it('requests blocks, answers them through respond(), and counts bytes both ways', async () => {
    const [a, b] = await wirePair()
    const block = new Uint8Array(16384).map((_, i) => i & 255)
    b.on('request', (index, begin, length, respond) => respond(null, block.subarray(0, length)))
    b.unchoke()
    await waitFor(a, 'unchoke')
    const got = await Promise.all([0, 16384, 32768].map(begin => new Promise<Uint8Array>((resolve, reject) => {
      expect(a.request(5, begin, 16384, (err, data) => err ? reject(err) : resolve(data!))).toBe(true)
    })))
    expect(got.every(g => g.length === 16384 && g[100] === 100)).toBe(true)
    expect(a.downloaded).toBe(3 * 16384)
    await sleep(20)
    expect(b.uploaded).toBe(3 * 16384)
    expect(a.requestCount).toBe(0)
    expect(a.downloadSpeed()).toBeGreaterThan(0)
  })

  it('refuses to request while choked (unless allowed fast) and fails pending requests on choke without BEP 6', async () => {
    const [a, b] = await wirePair({ fastB: false })
    expect(a.request(1, 0, 16384)).toBe(false)
    b.unchoke()
    await waitFor(a, 'unchoke')
    const failed = new Promise<Error>(resolve => a.request(1, 0, 16384, err => resolve(err!)))
    b.on('request', () => b.choke()) // choke instead of answering
    expect(((await failed) as WasmTorrentError).code).toBe('ERR_WIRE_CHOKED')
  })

  it('with BEP 6, a choke rejects pending requests explicitly', async () => {
    const [a, b] = await wirePair()
    b.unchoke()
    await waitFor(a, 'unchoke')
    b.on('request', () => b.choke())
    const err = await new Promise<Error>(resolve => a.request(2, 0, 16384, e => resolve(e!)))
    expect((err as WasmTorrentError).code).toBe('ERR_WIRE_REJECTED')
    expect(a.destroyed).toBe(false)
  })

  it('allowed-fast pieces may be requested while choked', async () => {
    const [a, b] = await wirePair()
    b.allowFast(9)
    await waitFor(a, 'allowed-fast')
    b.on('request', (i, begin, len, respond) => respond(null, new Uint8Array(len)))
    const block = await new Promise<Uint8Array>((resolve, reject) => {
      expect(a.request(9, 0, 100, (e, d) => e ? reject(e) : resolve(d!))).toBe(true)
    })
    expect(block.length).toBe(100)
    expect(a.request(8, 0, 100)).toBe(false)
  })

  it('a cancelled request gets ERR_WIRE_CANCELLED and its late block is dropped without a violation', async () => {
    const [a, b] = await wirePair()
    b.unchoke()
    await waitFor(a, 'unchoke')
    let respondLater: ((e: Error | null, d?: Uint8Array) => void) | undefined
    b.on('request', (i, begin, len, respond) => { respondLater = respond })
    const err = new Promise<Error>(resolve => a.request(3, 0, 64, e => resolve(e!)))
    await waitFor(b, 'request')
    a.cancel(3, 0, 64)
    expect(((await err) as WasmTorrentError).code).toBe('ERR_WIRE_CANCELLED')
    await waitFor(b, 'cancel')
    respondLater!(null, new Uint8Array(64)) // the peer noticed the cancel: sends a reject (BEP 6), not the block
    await sleep(50)
    expect(a.destroyed).toBe(false)
    expect(a.downloaded).toBe(0)
  })

  it('a request that is not answered in time fails with ERR_WIRE_REQUEST_TIMEOUT and is cancelled', async () => {
    const [sa, sb] = await socketPair()
    const a = new Wire(sa, { pieces: 10, requestTimeout: 500 })
    const b = new Wire(sb, { pieces: 10 })
    open.push(a, b)
    b.once('handshake', () => b.handshake(IH, PB))
    a.handshake(IH, PA)
    await waitFor(a, 'ready')
    b.unchoke()
    await waitFor(a, 'unchoke')
    const err = await new Promise<Error>(resolve => a.request(1, 0, 10, e => resolve(e!)))
    expect((err as WasmTorrentError).code).toBe('ERR_WIRE_REQUEST_TIMEOUT')
    await waitFor(b, 'cancel', 3000)
  })

  it('sends keep-alives when idle and closes an inactive peer', async () => {
    const [sa, sb] = await socketPair()
    const a = new Wire(sa, { keepAliveInterval: 500 })
    const b = new Wire(sb, { inactivityTimeout: 1500 })
    open.push(a, b)
    b.once('handshake', () => b.handshake(IH, PB))
    a.handshake(IH, PA)
    await waitFor(b, 'keep-alive', 4000)
    a.destroy()
    const [sc, raw] = await socketPair()
    const c = new Wire(sc, { inactivityTimeout: 1200 })
    open.push(c, raw)
    c.handshake(IH, PA)
    raw.write(encodeHandshake(hex2(IH), hex2(PB)))
    expect(await closeCode(c)).toBe('ERR_WIRE_INACTIVE')
  })
})

describe('Wire: protocol violations disconnect with a typed reason (cases 14-22)', () => {
  it('case 14/15: a length prefix over the limit, or >= 2^31, closes before the body is buffered', async () => {
    for (const prefix of [0xffffffff, 0x80000000, 2 * 1024 * 1024]) {
      const { wire, raw } = await rawPeer()
      const b = new Uint8Array(4)
      new DataView(b.buffer).setUint32(0, prefix)
      raw.write(b)
      expect(await closeCode(wire)).toBe('ERR_WIRE_MESSAGE_TOO_LARGE')
    }
  })

  it('case 16: a have with a short payload', async () => {
    const { wire, raw } = await rawPeer()
    raw.write(Uint8Array.from([0, 0, 0, 3, 4, 0, 0]))
    expect(await closeCode(wire)).toBe('ERR_WIRE_BAD_LENGTH')
  })

  it('case 17: a bitfield of the wrong length, or with spare bits set', async () => {
    let p = await rawPeer({ pieces: 20 })
    p.raw.write(encodeBitfield(new Uint8Array(4)))
    expect(await closeCode(p.wire)).toBe('ERR_BITFIELD_LENGTH')
    p = await rawPeer({ pieces: 20 })
    p.raw.write(encodeBitfield(Uint8Array.from([0xff, 0xff, 0xff])))
    expect(await closeCode(p.wire)).toBe('ERR_BITFIELD_SPARE_BITS')
  })

  it('case 18: a have index beyond the piece count', async () => {
    const { wire, raw } = await rawPeer({ pieces: 20 })
    raw.write(encodeHave(20))
    expect(await closeCode(wire)).toBe('ERR_WIRE_HAVE_INDEX')
  })

  it('case 19: invalid requests are rejected, and repeated ones disconnect', async () => {
    const { wire, raw } = await rawPeer({ pieces: 20 })
    wire.unchoke()
    const rejects: number[] = []
    raw.on('data', (d: Buffer) => { if (d.length >= 17 && d[4] === 16) rejects.push(d.readUInt32BE(5)) })
    raw.write(encodeRequest(25, 0, 16384)) // piece out of range
    raw.write(encodeRequest(1, 0, 0)) // zero length
    raw.write(encodeRequest(1, 0, 1 << 20)) // over the block limit
    await sleep(100)
    expect(wire.destroyed).toBe(false)
    for (let i = 0; i < 25; i++) raw.write(encodeRequest(30 + i, 0, 16384))
    expect(await closeCode(wire)).toBe('ERR_WIRE_BAD_REQUESTS')
  })

  it('case 20: an unrequested piece, or an unsolicited reject, with BEP 6', async () => {
    let p = await rawPeer()
    p.raw.write(encodePiece(1, 0, new Uint8Array(16)))
    expect(await closeCode(p.wire)).toBe('ERR_WIRE_UNREQUESTED_PIECE')
    p = await rawPeer()
    p.raw.write(encodeReject(1, 0, 16384))
    expect(await closeCode(p.wire)).toBe('ERR_WIRE_UNSOLICITED_REJECT')
  })

  it('case 20 without BEP 6: an unrequested piece is dropped and not counted', async () => {
    const { wire, raw } = await rawPeer({ fast: false })
    raw.write(encodePiece(1, 0, new Uint8Array(16)))
    await sleep(100)
    expect(wire.destroyed).toBe(false)
    expect(wire.downloaded).toBe(0)
  })

  it('case 21: have-all / reject without the fast extension', async () => {
    let p = await rawPeer({ fast: false })
    p.raw.write(encodeHaveAll())
    expect(await closeCode(p.wire)).toBe('ERR_WIRE_FAST_NOT_NEGOTIATED')
    p = await rawPeer({ fast: false })
    p.raw.write(encodeReject(0, 0, 1))
    expect(await closeCode(p.wire)).toBe('ERR_WIRE_FAST_NOT_NEGOTIATED')
  })

  it('case 22: message id 0xff', async () => {
    const { wire, raw } = await rawPeer()
    raw.write(Uint8Array.from([0, 0, 0, 1, 0xff]))
    expect(await closeCode(wire)).toBe('ERR_WIRE_UNKNOWN_MESSAGE')
  })

  it('an extended handshake that is not a bencoded dict', async () => {
    const { wire, raw } = await rawPeer()
    raw.write(encodeExtended(0, new TextEncoder().encode('i42e')))
    expect(await closeCode(wire)).toBe('ERR_WIRE_EXTENDED_HANDSHAKE')
  })

  it('availability before the piece count is known is validated once it is (magnet case)', async () => {
    const [sa, raw] = await socketPair()
    const wire = new Wire(sa)
    open.push(wire, raw)
    wire.handshake(IH, PA)
    raw.write(encodeHandshake(hex2(IH), hex2(PB), encodeReserved({ fast: true, extended: true })))
    raw.write(encodeBitfield(Uint8Array.from([0b10100000])))
    raw.write(encodeHave(4))
    await sleep(100)
    expect(wire.peerPieces).toBe(null)
    wire.setPieces(5)
    expect(wire.destroyed).toBe(false)
    expect([0, 1, 2, 3, 4].map(i => wire.peerPieces!.get(i))).toEqual([true, false, true, false, true])

    const [sc, raw2] = await socketPair()
    const w2 = new Wire(sc)
    open.push(w2, raw2)
    w2.handshake(IH, PA)
    raw2.write(encodeHandshake(hex2(IH), hex2(PB), encodeReserved({ fast: true })))
    raw2.write(encodeHave(9))
    await sleep(100)
    w2.setPieces(5)
    expect(await closeCode(w2)).toBe('ERR_WIRE_HAVE_INDEX')
  })
})

describe('Wire over a dialed TCP socket (one reused read buffer, transientChunks)', () => {
  it('keeps the peer id, bitfield and blocks intact across reads that reuse the buffer', async () => {
    const { createServer } = await import('node:net')
    const { dialTcp } = await import('../src/transport/tcp.js')
    const server = createServer()
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
    const accepted = new Promise<Socket>(resolve => server.once('connection', resolve))
    const sock = await dialTcp('127.0.0.1', (server.address() as { port: number }).port, { timeout: 5000 })
    expect((sock as Socket & { transientChunks?: boolean }).transientChunks).toBe(true)
    const chunks: Uint8Array[] = []
    sock.on('data', (c: Uint8Array) => chunks.push(c))
    const a = new Wire(sock, { pieces: 100 })
    const b = new Wire(await accepted, { pieces: 100 })
    open.push(a, b)
    server.close()
    b.once('handshake', () => b.handshake(IH, PB))
    const ready = Promise.all([waitFor(a, 'ready'), waitFor(b, 'ready')])
    a.handshake(IH, PA)
    await ready
    const bf = new Bitfield(100)
    for (const i of [0, 7, 63, 99]) bf.set(i)
    const gotBitfield = waitFor(a, 'bitfield')
    const gotUnchoke = waitFor(a, 'unchoke')
    b.bitfield(bf)
    b.unchoke()
    await gotBitfield
    const blocks = Array.from({ length: 12 }, (_, i) => new Uint8Array(16384).fill(i + 1))
    b.on('request', (_i: number, begin: number, _len: number, respond: (e: Error | null, d?: Uint8Array) => void) => respond(null, blocks[begin / 16384]))
    await gotUnchoke
    const got = await Promise.all(blocks.map((_, k) => new Promise<Uint8Array>((resolve, reject) => {
      a.request(0, k * 16384, 16384, (err, data) => err ? reject(err) : resolve(data!.slice()))
    })))
    // The socket really reused one buffer for its reads, and nothing we kept changed with it.
    expect(new Set(chunks.map(c => c.buffer)).size).toBe(1)
    expect(a.peerId).toBe(PB)
    expect(Buffer.from(a.peerIdBytes!).toString('hex')).toBe(PB)
    expect([0, 7, 63, 99].every(i => a.peerPieces!.get(i))).toBe(true)
    expect(a.peerPieces!.count()).toBe(4)
    got.forEach((g, k) => expect(g.every(x => x === k + 1)).toBe(true))
  })
})
