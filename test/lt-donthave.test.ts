/** lt_donthave (BEP 54): two of our Wires over loopback TCP, and bad input from a raw socket. */
import type { Socket } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { Wire } from '../src/wire/index.js'
import { Bitfield } from '../src/bitfield/index.js'
import { LtDonthave, type LtDonthaveExtension } from '../src/wire/extensions/index.js'
import { bencode } from '../src/bencode/index.js'
import { encodeHandshake, encodeReserved, encodeExtended, encodeBitfield } from '../src/wire-codec/index.js'
import { socketPair, waitFor, sleep } from './helpers/sockets.js'

const IH = 'dd'.repeat(20)
const PA = '2d5757303030312d' + '11'.repeat(12)
const PB = '2d5757303030312d' + '22'.repeat(12)
const hex2 = (h: string) => Uint8Array.from(h.match(/../g)!.map(x => parseInt(x, 16)))

const open: Array<Wire | Socket> = []
afterEach(() => { for (const o of open.splice(0)) o.destroy() })

async function pair (pieces = 10): Promise<{ a: Wire, b: Wire, da: LtDonthaveExtension, db: LtDonthaveExtension }> {
  const [sa, sb] = await socketPair()
  const a = new Wire(sa, { pieces })
  const b = new Wire(sb, { type: 'tcpIncoming', pieces })
  open.push(a, b)
  const da = a.use(LtDonthave) as LtDonthaveExtension
  const db = b.use(LtDonthave) as LtDonthaveExtension
  b.once('handshake', () => b.handshake(IH, PB))
  const ready = Promise.all([waitFor(a, 'ready'), waitFor(b, 'ready')])
  a.handshake(IH, PA)
  await ready
  for (let i = 0; i < 100 && !(da.supported && db.supported); i++) await sleep(10)
  return { a, b, da, db }
}

/** Our wire against a raw peer that announced lt_donthave; `send(payload)` sends it an lt_donthave message. */
async function rawPeer (pieces?: number) {
  const [sa, raw] = await socketPair()
  const wire = new Wire(sa, { pieces })
  open.push(wire, raw)
  const ext = wire.use(LtDonthave) as LtDonthaveExtension
  const events: number[] = []
  const warnings: string[] = []
  ext.on('donthave', i => events.push(i))
  ext.on('warning', e => warnings.push(e.code))
  wire.handshake(IH, PA)
  raw.write(encodeHandshake(hex2(IH), hex2(PB), encodeReserved({ fast: true, extended: true })))
  raw.write(encodeExtended(0, bencode.encode({ m: { lt_donthave: 7 } })))
  await waitFor(wire, 'ready')
  const id = wire.extendedHandshake.m!.lt_donthave
  const u32 = (i: number) => { const b = Buffer.alloc(4); b.writeUInt32BE(i); return b }
  const send = (payload: Uint8Array | number) => raw.write(encodeExtended(id, typeof payload === 'number' ? u32(payload) : payload))
  return { wire, raw, ext, events, warnings, send }
}

describe('lt_donthave between two of our wires', () => {
  it('clears the bit in peerPieces and emits donthave; a redundant one is ignored', async () => {
    const { a, b, da, db } = await pair(10)
    const bf = new Bitfield(10).setAll()
    a.bitfield(bf)
    await waitFor(b, 'bitfield')
    expect(b.peerPieces!.count()).toBe(10)
    const seen: number[] = []
    db.on('donthave', i => seen.push(i))
    expect(da.donthave(3)).toBe(true)
    expect(da.donthave(9)).toBe(true)
    expect(da.donthave(3)).toBe(true) // redundant
    await waitFor(db, 'donthave')
    await sleep(50)
    expect(seen).toEqual([3, 9])
    expect(b.peerPieces!.get(3)).toBe(false)
    expect(b.peerPieces!.get(9)).toBe(false)
    expect(b.peerPieces!.count()).toBe(8)
    // A later have sets it again.
    a.have(3)
    await waitFor(b, 'have')
    expect(b.peerPieces!.get(3)).toBe(true)
    bf.destroy()
  })

  it('works after have-all (BEP 6)', async () => {
    const { a, b, da, db } = await pair(20)
    a.haveAll()
    await waitFor(b, 'have-all')
    da.donthave(19)
    const [i] = await waitFor<number>(db, 'donthave')
    expect(i).toBe(19)
    expect(b.peerPieces!.count()).toBe(19)
  })

  it('donthave() validates the index and returns false for a peer without lt_donthave', async () => {
    const { da } = await pair(10)
    for (const bad of [10, -1, 1.5, NaN]) {
      expect(() => da.donthave(bad)).toThrowError(expect.objectContaining({ code: 'ERR_DONTHAVE_INDEX' }))
    }
    const [sa, sb] = await socketPair()
    const a = new Wire(sa, { pieces: 4 })
    const b = new Wire(sb, { pieces: 4 })
    open.push(a, b)
    const ext = a.use(LtDonthave) as LtDonthaveExtension
    b.once('handshake', () => b.handshake(IH, PB))
    a.handshake(IH, PA)
    await waitFor(a, 'extended')
    expect(ext.supported).toBe(false)
    expect(ext.donthave(1)).toBe(false)
  })
})

describe('lt_donthave bad input (raw peer)', () => {
  it('an index >= the piece count or a payload that is not 4 bytes is ignored, without disconnecting', async () => {
    const p = await rawPeer(10)
    p.raw.write(encodeBitfield(Uint8Array.from([0xff, 0xc0])))
    await waitFor(p.wire, 'bitfield')
    p.send(10)
    p.send(0xffffffff)
    p.send(Uint8Array.from([0, 0, 1]))
    p.send(Uint8Array.from([0, 0, 0, 1, 0]))
    p.send(2)
    await waitFor(p.ext, 'donthave')
    await sleep(30)
    expect(p.events).toEqual([2])
    expect(p.warnings).toEqual(Array(4).fill('ERR_DONTHAVE_IGNORED'))
    expect(p.wire.peerPieces!.count()).toBe(9)
    expect(p.wire.destroyed).toBe(false)
  })

  it('before the piece count is known (magnet) it is ignored', async () => {
    const p = await rawPeer()
    p.send(1)
    await sleep(50)
    expect(p.events).toEqual([])
    expect(p.warnings).toEqual(['ERR_DONTHAVE_IGNORED'])
    expect(p.wire.destroyed).toBe(false)
  })
})
