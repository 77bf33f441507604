/**
 * ut_metadata (BEP 9): two of our Wires over loopback TCP (fetch and serve, sizes around the 16 KiB piece
 * boundary), and our Wire against a raw socket for bad-input cases 10-13.
 */
import { createHash, randomBytes } from 'node:crypto'
import type { Socket } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { Wire } from '../src/wire/index.js'
import { utMetadata, type UtMetadata, type UtMetadataClass } from '../src/wire/extensions/index.js'
import { bencode } from '../src/bencode/index.js'
import { WasmTorrentError, WireProtocolError } from '../src/errors.js'
import { encodeHandshake, encodeReserved, encodeExtended } from '../src/wire-codec/index.js'
import { socketPair, waitFor, sleep } from './helpers/sockets.js'

const PA = '2d5757303030312d' + '11'.repeat(12)
const PB = '2d5757303030312d' + '22'.repeat(12)
const PC = '2d5757303030312d' + '33'.repeat(12)
const hex2 = (h: string) => Uint8Array.from(h.match(/../g)!.map(x => parseInt(x, 16)))
const sha1hex = (b: Uint8Array) => createHash('sha1').update(b).digest('hex')
const KiB = 1024

const open: Array<Wire | Socket> = []
afterEach(() => { for (const o of open.splice(0)) o.destroy() })

function metadataOf (size: number): { metadata: Uint8Array, infoHash: string } {
  const metadata = new Uint8Array(randomBytes(size))
  return { metadata, infoHash: sha1hex(metadata) }
}

/** Two wires over loopback, each with its own ut_metadata class (two torrents' views of one swarm). */
async function pair (infoHash: string, A: UtMetadataClass, B: UtMetadataClass): Promise<{ a: Wire, b: Wire, ea: UtMetadata, eb: UtMetadata }> {
  const [sa, sb] = await socketPair()
  const a = new Wire(sa)
  const b = new Wire(sb, { type: 'tcpIncoming' })
  open.push(a, b)
  const ea = a.use(A) as UtMetadata
  const eb = b.use(B) as UtMetadata
  b.once('handshake', () => b.handshake(infoHash, PB))
  const ready = Promise.all([waitFor(a, 'ready'), waitFor(b, 'ready')])
  a.handshake(infoHash, PA)
  await ready
  return { a, b, ea, eb }
}

/** Messages our wire sends to a raw peer, parsed (after its 68-byte handshake). */
class RawReader {
  buf = Buffer.alloc(0)
  handshakeSeen = false
  readonly messages: Array<{ id: number, payload: Buffer }> = []
  private waiters: Array<() => void> = []
  constructor (raw: Socket) {
    raw.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d])
      if (!this.handshakeSeen) {
        if (this.buf.length < 68) return
        this.buf = this.buf.subarray(68)
        this.handshakeSeen = true
      }
      while (this.buf.length >= 4) {
        const len = this.buf.readUInt32BE(0)
        if (this.buf.length < 4 + len) break
        if (len > 0) this.messages.push({ id: this.buf[4], payload: this.buf.subarray(5, 4 + len) })
        this.buf = this.buf.subarray(4 + len)
      }
      for (const w of this.waiters.splice(0)) w()
    })
  }

  /** Extended messages with id `extId` (0 = handshake). */
  extended (extId: number): Buffer[] {
    return this.messages.filter(m => m.id === 20 && m.payload[0] === extId).map(m => m.payload.subarray(1))
  }

  async waitFor<T> (pred: () => T | undefined | false, timeoutMs = 5000): Promise<T> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const v = pred()
      if (v) return v
      if (Date.now() > deadline) throw new Error('timed out waiting for the raw peer to receive something')
      await new Promise<void>(resolve => { this.waiters.push(resolve); setTimeout(resolve, 50) })
    }
  }
}

/** Our wire (with ut_metadata) against a raw socket that announced `hs` as its extended handshake. */
async function rawPeer (infoHash: string, Ext: UtMetadataClass, hs: Record<string, unknown> | null) {
  const [sa, raw] = await socketPair()
  const wire = new Wire(sa)
  open.push(wire, raw)
  const ext = wire.use(Ext) as UtMetadata
  const reader = new RawReader(raw)
  wire.handshake(infoHash, PA)
  raw.write(encodeHandshake(hex2(infoHash), hex2(PB), encodeReserved({ fast: true, extended: true })))
  await waitFor(wire, 'ready')
  const ourHs = await reader.waitFor(() => reader.extended(0)[0])
  const ourId = (bencode.decode(ourHs) as any).m.ut_metadata as number
  if (hs !== null) raw.write(encodeExtended(0, bencode.encode(hs)))
  /** Sends a ut_metadata message to our wire (with the id our handshake announced). */
  const send = (dict: Record<string, unknown>, data?: Uint8Array) => {
    const head = bencode.encode(dict)
    raw.write(encodeExtended(ourId, data ? Buffer.concat([head, data]) : head))
  }
  /** ut_metadata messages our wire sent to the raw peer (id 3 in the raw peer's handshake), decoded. */
  const sent = () => reader.extended(3).map(p => {
    const { value, used } = bencode.decodePrefix(p)
    return { ...(value as any), data: p.subarray(used) } as { msg_type: number, piece: number, total_size?: number, data: Buffer }
  })
  return { wire, raw, ext, reader, send, sent, ourHs: bencode.decode(ourHs) as any }
}

async function closeCode (wire: Wire): Promise<string | undefined> {
  if (wire.destroyed) return (wire.closeReason as WasmTorrentError | null)?.code
  const [err] = await waitFor<Error | undefined>(wire, 'close')
  return (err as WasmTorrentError | undefined)?.code
}

async function rejection (p: Promise<unknown>): Promise<WasmTorrentError> {
  try {
    await p
  } catch (err) {
    expect(err).toBeInstanceOf(WasmTorrentError)
    return err as WasmTorrentError
  }
  throw new Error('expected a rejection')
}

describe('ut_metadata between two of our wires', () => {
  // Sizes around the 16 KiB piece size: one tiny piece, exactly one piece, one byte over, an exact multiple,
  // odd multi-piece sizes, and one over the 1 MiB serving burst.
  for (const size of [1, 100, 16 * KiB, 16 * KiB + 1, 3 * 16 * KiB, 50_001, 200 * KiB + 7]) {
    it(`fetches and verifies ${size} bytes of metadata`, async () => {
      const { metadata, infoHash } = metadataOf(size)
      const Seed = utMetadata({ metadata })
      const Leech = utMetadata()
      const { ea, eb } = await pair(infoHash, Seed, Leech)
      const events: Uint8Array[] = []
      eb.on('metadata', m => events.push(m))
      const got = await eb.fetch()
      expect(got.length).toBe(size)
      expect(Buffer.from(got).equals(Buffer.from(metadata))).toBe(true)
      expect(events.length).toBe(1)
      expect(Leech.metadata).toBe(got)
      expect(eb.peerMetadataSize).toBe(size)
      expect(ea.served).toBe(Math.ceil(size / (16 * KiB)))
      // Once known, fetch() resolves at once with the same bytes and nothing more is requested.
      expect(await eb.fetch()).toBe(got)
      await sleep(20)
      expect(ea.served).toBe(Math.ceil(size / (16 * KiB)))
    })
  }

  it('a large fetch is served beyond the burst at the per-peer rate (1 MiB at once, then 1 MiB/s)', async () => {
    const { metadata, infoHash } = metadataOf(1536 * KiB + 3) // 97 pieces: 64 at once, 33 at 64/s
    const { eb } = await pair(infoHash, utMetadata({ metadata }), utMetadata())
    const t0 = Date.now()
    const got = await eb.fetch()
    const ms = Date.now() - t0
    expect(sha1hex(got)).toBe(infoHash)
    expect(ms).toBeGreaterThan(350) // 33 pieces at 64/s ~ 500 ms
    expect(ms).toBeLessThan(5000)
  })

  it('one fetch per wire: concurrent fetch() calls share one run', async () => {
    const { metadata, infoHash } = metadataOf(40_000)
    const { ea, eb } = await pair(infoHash, utMetadata({ metadata }), utMetadata())
    const p1 = eb.fetch()
    const p2 = eb.fetch()
    expect(p2).toBe(p1)
    expect(eb.fetching).toBe(true)
    const [m1, m2] = await Promise.all([p1, p2])
    expect(m1).toBe(m2)
    expect(ea.served).toBe(3)
    expect(eb.fetching).toBe(false)
  })

  it('the class shares the metadata: a wire that fetched it lets the torrent serve it on its other wires', async () => {
    const { metadata, infoHash } = metadataOf(70_000)
    const A = utMetadata({ metadata })
    const B = utMetadata()
    const C = utMetadata()
    const { eb } = await pair(infoHash, A, B)
    await eb.fetch()
    // Torrent B's next wire serves what B's first wire fetched: C fetches it from B.
    const { ea: eb2, eb: ec } = await pair(infoHash, B, C)
    expect(eb2.metadata).not.toBe(null)
    expect(sha1hex(await ec.fetch())).toBe(infoHash)
    expect(eb2.served).toBe(5)
  })

  it('advertises metadata_size only when known before the extended handshake; setMetadata later serves it', async () => {
    const { metadata, infoHash } = metadataOf(20_000)
    const A = utMetadata()
    const B = utMetadata()
    const { a, b, ea, eb } = await pair(infoHash, A, B)
    for (let i = 0; i < 100 && b.peerExtendedHandshake.m === undefined; i++) await sleep(10)
    expect(b.peerExtendedHandshake.metadata_size).toBeUndefined()
    expect(eb.peerMetadataSize).toBe(null)
    // Not a source without metadata_size: fails at once, nothing requested.
    expect((await rejection(eb.fetch())).code).toBe('ERR_METADATA_SIZE')
    expect(() => ea.setMetadata(new Uint8Array(10))).toThrowError(/info-hash/)
    ea.setMetadata(metadata)
    expect(A.metadata).toBe(metadata)
    expect(a.extendedHandshake.metadata_size).toBe(20_000)
  })

  it('setting the torrent metadata resolves fetches running on other wires', async () => {
    const { metadata, infoHash } = metadataOf(30_000)
    // The seeder never answers: its requests are swallowed.
    const [sa, sb] = await socketPair()
    const a = new Wire(sa)
    const b = new Wire(sb)
    open.push(a, b)
    const Leech = utMetadata()
    const eb = b.use(Leech) as UtMetadata
    a.extendedHandshake.m!.ut_metadata = 7 // a advertises ut_metadata without the extension installed
    a.extendedHandshake.metadata_size = 30_000
    b.once('handshake', () => b.handshake(infoHash, PB))
    a.handshake(infoHash, PA)
    await waitFor(b, 'ready')
    const p = eb.fetch()
    await sleep(50)
    expect(eb.fetching).toBe(true)
    Leech.setMetadata(metadata)
    expect(await p).toBe(metadata)
    expect(eb.fetching).toBe(false)
  })

  it('a peer without ut_metadata, or without BEP 10, is not a source (ERR_METADATA_UNSUPPORTED)', async () => {
    const { infoHash } = metadataOf(100)
    const [sa, sb] = await socketPair()
    const a = new Wire(sa)
    const b = new Wire(sb)
    open.push(a, b)
    const eb = b.use(utMetadata()) as UtMetadata
    b.once('handshake', () => b.handshake(infoHash, PB))
    a.handshake(infoHash, PA)
    const p = eb.fetch() // before any handshake: waits for the peer's extended handshake
    expect((await rejection(p)).code).toBe('ERR_METADATA_UNSUPPORTED')

    const [sc, sd] = await socketPair()
    const c = new Wire(sc)
    const d = new Wire(sd)
    open.push(c, d)
    const ed = d.use(utMetadata()) as UtMetadata
    d.once('handshake', () => d.handshake(infoHash, PB))
    c.handshake(infoHash, PA, { extended: false })
    await waitFor(d, 'ready')
    expect((await rejection(ed.fetch())).code).toBe('ERR_METADATA_UNSUPPORTED')
  })

  it('a fetch on a wire that closes rejects with the close reason', async () => {
    const { infoHash } = metadataOf(100)
    const { b, eb } = await pair(infoHash, utMetadata(), utMetadata())
    b.destroy(new WasmTorrentError('ERR_TEST', 'closed by the test'))
    expect((await rejection(eb.fetch())).code).toBe('ERR_TEST')
  })
})

describe('ut_metadata bad input (raw peer)', () => {
  it('case 10: metadata_size 0, negative, not an integer, missing, or over the cap -> not a source, nothing requested', async () => {
    const { infoHash } = metadataOf(100)
    const cap = 30 * 1024 * 1024
    for (const size of [0, -1, 'abc', undefined, cap + 1, 2 ** 40]) {
      const hs: Record<string, unknown> = { m: { ut_metadata: 3 } }
      if (size !== undefined) hs.metadata_size = size
      const p = await rawPeer(infoHash, utMetadata(), hs)
      const err = await rejection(p.ext.fetch())
      expect(err.code).toBe('ERR_METADATA_SIZE')
      expect(p.ext.peerMetadataSize).toBe(null)
      await sleep(30)
      expect(p.sent()).toEqual([])
      expect(p.wire.destroyed).toBe(false)
    }
    // The cap is an option; exactly the cap is accepted.
    const p = await rawPeer(infoHash, utMetadata({ maxSize: 1000 }), { m: { ut_metadata: 3 }, metadata_size: 1000 })
    void p.ext.fetch().catch(() => {})
    await p.reader.waitFor(() => p.sent().length > 0)
    expect(p.ext.peerMetadataSize).toBe(1000)
  })

  it('case 11: a data message for a piece out of range, duplicate or unrequested is dropped; the fetch goes on', async () => {
    const { metadata, infoHash } = metadataOf(40_000) // 3 pieces
    const p = await rawPeer(infoHash, utMetadata(), { m: { ut_metadata: 3 }, metadata_size: 40_000 })
    const fetched = p.ext.fetch()
    await p.reader.waitFor(() => p.sent().length === 3)
    expect(p.sent().map(m => [m.msg_type, m.piece])).toEqual([[0, 0], [0, 1], [0, 2]])
    const piece = (i: number) => metadata.subarray(i * 16384, Math.min(40_000, (i + 1) * 16384))
    p.send({ msg_type: 1, piece: 3, total_size: 40_000 }, new Uint8Array(100)) // out of range
    p.send({ msg_type: 1, piece: -1, total_size: 40_000 }, new Uint8Array(16384))
    p.send({ msg_type: 2, piece: 9 }) // reject for something never requested
    p.send({ msg_type: 7, piece: 0 }) // unknown msg_type: ignored
    p.send({ msg_type: 1, piece: 0, total_size: 40_000 }, piece(0))
    p.send({ msg_type: 1, piece: 0, total_size: 40_000 }, new Uint8Array(16384)) // duplicate: dropped
    p.send({ msg_type: 1, piece: 1, total_size: 40_000 }, piece(1))
    p.send({ msg_type: 1, piece: 2, total_size: 40_000 }, piece(2))
    const got = await fetched
    expect(Buffer.from(got).equals(Buffer.from(metadata))).toBe(true)
    expect(p.wire.destroyed).toBe(false)
  })

  it('case 11: total_size disagreeing with metadata_size fails the fetch (ERR_METADATA_TOTAL_SIZE), wire stays open', async () => {
    const { infoHash } = metadataOf(100)
    const p = await rawPeer(infoHash, utMetadata(), { m: { ut_metadata: 3 }, metadata_size: 20_000 })
    const warnings: WasmTorrentError[] = []
    p.ext.on('warning', e => warnings.push(e))
    const fetched = p.ext.fetch()
    await p.reader.waitFor(() => p.sent().length === 2)
    p.send({ msg_type: 1, piece: 0, total_size: 30_000 }, new Uint8Array(16384))
    const err = await rejection(fetched)
    expect(err).toBeInstanceOf(WireProtocolError)
    expect(err.code).toBe('ERR_METADATA_TOTAL_SIZE')
    expect(warnings.map(w => w.code)).toEqual(['ERR_METADATA_TOTAL_SIZE'])
    expect(p.ext.badSource?.code).toBe('ERR_METADATA_TOTAL_SIZE')
    // A bad source is not asked again.
    expect((await rejection(p.ext.fetch())).code).toBe('ERR_METADATA_TOTAL_SIZE')
    await sleep(30)
    expect(p.wire.destroyed).toBe(false)
    expect(p.sent().length).toBe(2)
  })

  it('case 11: a short non-last piece, or a wrong-length last piece, fails the fetch (ERR_METADATA_PIECE_LENGTH)', async () => {
    const { infoHash } = metadataOf(100)
    let p = await rawPeer(infoHash, utMetadata(), { m: { ut_metadata: 3 }, metadata_size: 20_000 })
    let fetched = p.ext.fetch()
    await p.reader.waitFor(() => p.sent().length === 2)
    p.send({ msg_type: 1, piece: 0, total_size: 20_000 }, new Uint8Array(16000))
    expect((await rejection(fetched)).code).toBe('ERR_METADATA_PIECE_LENGTH')
    expect(p.wire.destroyed).toBe(false)

    p = await rawPeer(infoHash, utMetadata(), { m: { ut_metadata: 3 }, metadata_size: 20_000 })
    fetched = p.ext.fetch()
    await p.reader.waitFor(() => p.sent().length === 2)
    p.send({ msg_type: 1, piece: 1, total_size: 20_000 }, new Uint8Array(16384)) // last piece should be 3616
    expect((await rejection(fetched)).code).toBe('ERR_METADATA_PIECE_LENGTH')
  })

  it('case 11: a message over 17 KiB closes the wire (ERR_METADATA_MESSAGE_TOO_LARGE)', async () => {
    const { infoHash } = metadataOf(100)
    const p = await rawPeer(infoHash, utMetadata(), { m: { ut_metadata: 3 }, metadata_size: 20_000 })
    const fetched = p.ext.fetch()
    await p.reader.waitFor(() => p.sent().length === 2)
    p.send({ msg_type: 1, piece: 0, total_size: 20_000 }, new Uint8Array(17 * 1024))
    expect(await closeCode(p.wire)).toBe('ERR_METADATA_MESSAGE_TOO_LARGE')
    expect(p.wire.closeReason).toBeInstanceOf(WireProtocolError)
    expect((await rejection(fetched)).code).toBe('ERR_METADATA_MESSAGE_TOO_LARGE')
  })

  it('case 11: an undecodable payload, a non-dict, or missing msg_type/piece closes the wire (ERR_METADATA_INVALID_MESSAGE)', async () => {
    const { infoHash } = metadataOf(100)
    const bad = [
      new TextEncoder().encode('d8:msg_typei1e5:piecei0e'), // truncated dict
      new TextEncoder().encode('li1ee'),
      bencode.encode({ msg_type: 1 }),
      bencode.encode({ msg_type: 'x', piece: 0 }),
      new Uint8Array(0)
    ]
    for (const payload of bad) {
      const p = await rawPeer(infoHash, utMetadata(), { m: { ut_metadata: 3 }, metadata_size: 20_000 })
      p.raw.write(encodeExtended(p.ourHs.m.ut_metadata, payload))
      expect(await closeCode(p.wire)).toBe('ERR_METADATA_INVALID_MESSAGE')
    }
  })

  it('case 12: assembled metadata that fails the hash is discarded, the peer marked bad (ERR_METADATA_HASH)', async () => {
    const { infoHash } = metadataOf(100)
    const Ext = utMetadata()
    const p = await rawPeer(infoHash, Ext, { m: { ut_metadata: 3 }, metadata_size: 20_000 })
    const warnings: string[] = []
    const events: Uint8Array[] = []
    p.ext.on('warning', e => warnings.push(e.code))
    p.ext.on('metadata', m => events.push(m))
    const fetched = p.ext.fetch()
    await p.reader.waitFor(() => p.sent().length === 2)
    p.send({ msg_type: 1, piece: 0, total_size: 20_000 }, new Uint8Array(16384).fill(1))
    p.send({ msg_type: 1, piece: 1, total_size: 20_000 }, new Uint8Array(20_000 - 16384).fill(2))
    const err = await rejection(fetched)
    expect(err.code).toBe('ERR_METADATA_HASH')
    expect(warnings).toEqual(['ERR_METADATA_HASH'])
    expect(events).toEqual([])
    expect(Ext.metadata).toBe(null)
    expect(p.ext.metadata).toBe(null)
    expect(p.ext.badSource?.code).toBe('ERR_METADATA_HASH')
    expect((await rejection(p.ext.fetch())).code).toBe('ERR_METADATA_HASH')
    expect(p.wire.destroyed).toBe(false)
  })

  it('a reject from the peer fails the fetch (ERR_METADATA_REJECTED) without marking it bad; a retry works', async () => {
    const { metadata, infoHash } = metadataOf(1000)
    const p = await rawPeer(infoHash, utMetadata(), { m: { ut_metadata: 3 }, metadata_size: 1000 })
    let fetched = p.ext.fetch()
    await p.reader.waitFor(() => p.sent().length === 1)
    p.send({ msg_type: 2, piece: 0 })
    expect((await rejection(fetched)).code).toBe('ERR_METADATA_REJECTED')
    expect(p.ext.badSource).toBe(null)
    fetched = p.ext.fetch()
    await p.reader.waitFor(() => p.sent().length === 2)
    p.send({ msg_type: 1, piece: 0, total_size: 1000 }, metadata)
    expect(await fetched).toEqual(metadata)
  })

  it('a fetch without progress times out (ERR_METADATA_TIMEOUT)', async () => {
    const { infoHash } = metadataOf(100)
    const p = await rawPeer(infoHash, utMetadata({ timeout: 300 }), { m: { ut_metadata: 3 }, metadata_size: 1000 })
    const t0 = Date.now()
    expect((await rejection(p.ext.fetch())).code).toBe('ERR_METADATA_TIMEOUT')
    expect(Date.now() - t0).toBeGreaterThanOrEqual(250)
  })

  it('case 13: requests before we have the metadata, or out of range, are rejected (msg_type 2)', async () => {
    const { metadata, infoHash } = metadataOf(40_000)
    const Ext = utMetadata()
    const p = await rawPeer(infoHash, Ext, { m: { ut_metadata: 3 } })
    expect(p.ourHs.metadata_size).toBeUndefined()
    expect(p.ourHs.m.ut_metadata).toBeGreaterThan(0)
    p.send({ msg_type: 0, piece: 0 })
    await p.reader.waitFor(() => p.sent().length === 1)
    expect(p.sent()[0]).toMatchObject({ msg_type: 2, piece: 0 })
    Ext.setMetadata(metadata)
    p.send({ msg_type: 0, piece: 2 })
    p.send({ msg_type: 0, piece: 3 }) // out of range (3 pieces)
    p.send({ msg_type: 0, piece: -1 })
    p.send({ msg_type: 0, piece: 0 })
    await p.reader.waitFor(() => p.sent().length === 5)
    const [, last, r3, rneg, first] = p.sent()
    expect(last).toMatchObject({ msg_type: 1, piece: 2, total_size: 40_000 })
    expect(Buffer.from(last.data).equals(Buffer.from(metadata.subarray(32768)))).toBe(true)
    expect(r3).toMatchObject({ msg_type: 2, piece: 3 })
    expect(r3.data.length).toBe(0)
    expect(rneg).toMatchObject({ msg_type: 2, piece: -1 })
    expect(first).toMatchObject({ msg_type: 1, piece: 0, total_size: 40_000 })
    expect(Buffer.from(first.data).equals(Buffer.from(metadata.subarray(0, 16384)))).toBe(true)
    expect(p.wire.destroyed).toBe(false)
  })

  it('a class holding one torrent\'s metadata never serves it on a wire of another torrent', async () => {
    const { metadata } = metadataOf(5000)
    const { infoHash: other } = metadataOf(10)
    const Ext = utMetadata({ metadata })
    const p = await rawPeer(other, Ext, { m: { ut_metadata: 3 }, metadata_size: 5000 })
    expect(p.ext.metadata).toBe(null)
    p.send({ msg_type: 0, piece: 0 })
    await p.reader.waitFor(() => p.sent().some(m => m.msg_type === 2))
    expect(p.sent().filter(m => m.msg_type === 1)).toEqual([])
    // fetch() asks the peer instead of returning the other torrent's metadata.
    void p.ext.fetch()
    await p.reader.waitFor(() => p.sent().some(m => m.msg_type === 0))
    expect(p.ext.fetching).toBe(true)
    p.ext.cancel()
    expect(p.ext.fetching).toBe(false)
  })

  it('advertises metadata_size when constructed with the metadata', async () => {
    const { metadata, infoHash } = metadataOf(12_345)
    const p = await rawPeer(infoHash, utMetadata({ metadata }), { m: { ut_metadata: 3 } })
    expect(p.ourHs.metadata_size).toBe(12_345)
  })

  it('serving is rate limited per peer: a burst of 64 at once, 64 queued, the rest rejected', async () => {
    const { metadata, infoHash } = metadataOf(200 * 16384)
    const p = await rawPeer(infoHash, utMetadata({ metadata }), { m: { ut_metadata: 3 } })
    const t0 = Date.now()
    for (let i = 0; i < 200; i++) p.send({ msg_type: 0, piece: i })
    // At once: about 64 served; 64 queued; the rest rejected.
    await p.reader.waitFor(() => p.sent().filter(m => m.msg_type === 1).length >= 64)
    expect(p.sent().filter(m => m.msg_type === 1).length).toBeLessThan(64 + 10)
    // The queue drains at 64 pieces/s, in request order.
    await p.reader.waitFor(() => p.sent().length === 200, 3000)
    expect(Date.now() - t0).toBeGreaterThan(600)
    const served = p.sent().filter(m => m.msg_type === 1).map(m => m.piece)
    const rejected = p.sent().filter(m => m.msg_type === 2).map(m => m.piece)
    expect(rejected.length).toBeGreaterThanOrEqual(60)
    expect(rejected.length).toBeLessThanOrEqual(72)
    expect(served).toEqual(Array.from({ length: 200 - rejected.length }, (_, i) => i))
    expect(rejected).toEqual(Array.from({ length: rejected.length }, (_, i) => 200 - rejected.length + i))
    expect(p.ext.served).toBe(served.length)
  })
})
