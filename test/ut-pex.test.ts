/**
 * ut_pex (BEP 11): two of our Wires over loopback TCP, and our Wire against a raw socket for bad-input
 * case 23 (size, frequency, count and address limits) and private torrents.
 */
import type { Socket } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { Wire } from '../src/wire/index.js'
import { UtPex, utPex, formatAddress, type UtPexExtension, type UtPexClass, type PexPeer } from '../src/wire/extensions/index.js'
import { bencode } from '../src/bencode/index.js'
import { WasmTorrentError } from '../src/errors.js'
import { encodeHandshake, encodeReserved, encodeExtended } from '../src/wire-codec/index.js'
import { socketPair, waitFor, sleep } from './helpers/sockets.js'

const IH = 'cc'.repeat(20)
const PA = '2d5757303030312d' + '11'.repeat(12)
const PB = '2d5757303030312d' + '22'.repeat(12)
const hex2 = (h: string) => Uint8Array.from(h.match(/../g)!.map(x => parseInt(x, 16)))

const open: Array<Wire | Socket> = []
afterEach(() => { for (const o of open.splice(0)) o.destroy() })

async function pair (A: UtPexClass = UtPex, B: UtPexClass = UtPex): Promise<{ a: Wire, b: Wire, pa: UtPexExtension, pb: UtPexExtension }> {
  const [sa, sb] = await socketPair()
  const a = new Wire(sa)
  const b = new Wire(sb, { type: 'tcpIncoming' })
  open.push(a, b)
  const pa = a.use(A) as UtPexExtension
  const pb = b.use(B) as UtPexExtension
  b.once('handshake', () => b.handshake(IH, PB))
  const ready = Promise.all([waitFor(a, 'ready'), waitFor(b, 'ready')])
  a.handshake(IH, PA)
  await ready
  return { a, b, pa, pb }
}

function collect (ext: UtPexExtension) {
  const peers: PexPeer[] = []
  const dropped: PexPeer[] = []
  const messages: Array<{ added: PexPeer[], dropped: PexPeer[] }> = []
  const warnings: string[] = []
  ext.on('peer', p => peers.push(p))
  ext.on('dropped', p => dropped.push(p))
  ext.on('pex', m => messages.push(m))
  ext.on('warning', e => warnings.push(e.code))
  return { peers, dropped, messages, warnings }
}

const v4 = (a: number, b: number, c: number, d: number, port: number) => [a, b, c, d, port >> 8, port & 255]
const v6 = (bytes: number[], port: number) => [...bytes, port >> 8, port & 255]

/** Our wire with ut_pex against a raw socket that announced ut_pex as id 5. */
async function rawPeer (Ext: UtPexClass = UtPex, opts: { remoteAddress?: string } = {}) {
  const [sa, raw] = await socketPair()
  const wire = new Wire(sa, { remoteAddress: opts.remoteAddress })
  open.push(wire, raw)
  const ext = wire.use(Ext) as UtPexExtension
  let buf = Buffer.alloc(0)
  const got = new Promise<Buffer>(resolve => {
    raw.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d])
      // handshake (68) + the extended handshake message
      if (buf.length >= 72 && buf.length >= 72 + buf.readUInt32BE(68)) resolve(buf.subarray(74, 72 + buf.readUInt32BE(68)))
    })
  })
  wire.handshake(IH, PA)
  raw.write(encodeHandshake(hex2(IH), hex2(PB), encodeReserved({ fast: true, extended: true })))
  await waitFor(wire, 'ready')
  const ourHs = bencode.decode(await got) as any
  raw.write(encodeExtended(0, bencode.encode({ m: { ut_pex: 5 } })))
  await sleep(20)
  const send = (dict: Record<string, unknown>) => raw.write(encodeExtended(ourHs.m.ut_pex ?? 1, bencode.encode(dict)))
  return { wire, raw, ext, ourHs, send, ...collect(ext) }
}

async function closeCode (wire: Wire): Promise<string | undefined> {
  if (wire.destroyed) return (wire.closeReason as WasmTorrentError | null)?.code
  const [err] = await waitFor<Error | undefined>(wire, 'close')
  return (err as WasmTorrentError | undefined)?.code
}

describe('ut_pex between two of our wires', () => {
  it('sends added/added.f/added6/dropped/dropped6 and the peer decodes addresses and flags', async () => {
    const { pa, pb } = await pair(utPex({ interval: 200 }))
    const got = collect(pb)
    for (let i = 0; i < 100 && !(pa.supported && pb.supported); i++) await sleep(10)
    expect(pa.supported && pb.supported).toBe(true)
    pa.sendPex({
      added: [
        { host: '203.0.113.8', port: 6881, flags: { encryption: true, seed: true } },
        { host: '192.0.2.34', port: 51413, flags: 0x04 | 0x10 },
        { host: '2001:db8::1', port: 443, flags: { holepunch: true, utp: true } },
        { host: '[2001:db8:4700::1111]', port: 1, flags: 0xe0 } // reserved bits pass through
      ]
    })
    await waitFor(pb, 'pex')
    expect(got.peers).toEqual([
      { host: '203.0.113.8', port: 6881, family: 4, flags: { encryption: true, seed: true, utp: false, holepunch: false, reachable: false, bits: 3 } },
      { host: '192.0.2.34', port: 51413, family: 4, flags: { encryption: false, seed: false, utp: true, holepunch: false, reachable: true, bits: 0x14 } },
      { host: '2001:db8::1', port: 443, family: 6, flags: { encryption: false, seed: false, utp: true, holepunch: true, reachable: false, bits: 0x0c } },
      { host: '2001:db8:4700::1111', port: 1, family: 6, flags: { encryption: false, seed: false, utp: false, holepunch: false, reachable: false, bits: 0xe0 } }
    ])
    pa.sendPex({ dropped: [{ host: '203.0.113.8', port: 6881 }, { host: '2001:0db8:0::1', port: 443 }] })
    await waitFor(pb, 'pex', 2000)
    expect(got.dropped.map(p => [p.host, p.port, p.family])).toEqual([['203.0.113.8', 6881, 4], ['2001:db8::1', 443, 6]])
    expect(got.messages[1].added).toEqual([])
    expect(got.warnings).toEqual([])
  })

  it('at most one message a minute: later changes wait for the interval, then go out as one diff', async () => {
    const Fast = utPex({ interval: 600 })
    const { pa, pb } = await pair(Fast, UtPex)
    const got = collect(pb)
    pa.sendPex({ added: [{ host: '203.0.113.8', port: 1000 }] })
    await waitFor(pb, 'pex')
    const t0 = Date.now()
    pa.sendPex({ added: [{ host: '203.0.113.4', port: 1000 }] })
    pa.sendPex({ dropped: [{ host: '203.0.113.8', port: 1000 }] })
    pa.sendPex({ added: [{ host: '198.51.100.1', port: 2000 }], dropped: [{ host: '198.51.100.1', port: 2000 }] }) // never sent
    pa.sendPex({ dropped: [{ host: '198.51.100.9', port: 2000 }] }) // never announced: no drop sent
    await sleep(300)
    expect(got.messages.length).toBe(1)
    await waitFor(pb, 'pex', 2000)
    expect(Date.now() - t0).toBeGreaterThanOrEqual(250)
    expect(got.messages.length).toBe(2)
    expect(got.messages[1].added.map(p => p.host)).toEqual(['203.0.113.4'])
    expect(got.messages[1].dropped.map(p => `${p.host}:${p.port}`)).toEqual(['203.0.113.8:1000'])
  })

  it('with the default interval, a second message is held back for a minute', async () => {
    const { pa, pb } = await pair()
    const got = collect(pb)
    pa.sendPex({ added: [{ host: '203.0.113.8', port: 1000 }] })
    await waitFor(pb, 'pex')
    pa.sendPex({ added: [{ host: '203.0.113.4', port: 1000 }] })
    await sleep(500)
    expect(got.messages.length).toBe(1)
  })

  it('sends at most 50 added per message; the rest go in the next one', async () => {
    const { pa, pb } = await pair(utPex({ interval: 300 }))
    const got = collect(pb)
    const many = Array.from({ length: 120 }, (_, i) => ({ host: `198.51.100.${i}`, port: 1000 + i }))
    pa.sendPex({ added: many })
    await waitFor(pb, 'pex')
    expect(got.messages[0].added.length).toBe(50)
    await waitFor(pb, 'pex', 2000)
    await waitFor(pb, 'pex', 2000)
    expect(got.messages.map(m => m.added.length)).toEqual([50, 50, 20])
    expect(got.peers.map(p => p.port)).toEqual(many.map(p => p.port))
  })

  it('changes queued before the peer\'s extended handshake are sent once it arrives', async () => {
    const [sa, sb] = await socketPair()
    const a = new Wire(sa)
    const b = new Wire(sb)
    open.push(a, b)
    const pa = a.use(UtPex) as UtPexExtension
    const pb = b.use(UtPex) as UtPexExtension
    expect(pa.sendPex({ added: [{ host: '203.0.113.8', port: 1 }] })).toBe(true)
    b.once('handshake', () => b.handshake(IH, PB))
    a.handshake(IH, PA)
    const [msg] = await waitFor<{ added: PexPeer[] }>(pb, 'pex')
    expect(msg.added.map(p => p.host)).toEqual(['203.0.113.8'])
  })

  it('rejects entries that are not addresses', async () => {
    const { pa } = await pair()
    for (const bad of [{ host: 'example.com', port: 1 }, { host: '192.0.2.4', port: 0 }, { host: '192.0.2.4', port: 70000 }, { host: '300.1.1.1', port: 1 }]) {
      expect(() => pa.sendPex({ added: [bad] })).toThrowError(expect.objectContaining({ code: 'ERR_PEX_INVALID_PEER' }))
    }
  })
})

describe('ut_pex bad input (case 23, raw peer)', () => {
  it('a message over 500 KiB closes the wire (ERR_PEX_MESSAGE_TOO_LARGE)', async () => {
    const p = await rawPeer()
    p.send({ added: new Uint8Array(501 * 1024 - (501 * 1024) % 6) })
    expect(await closeCode(p.wire)).toBe('ERR_PEX_MESSAGE_TOO_LARGE')
    expect(p.peers).toEqual([])
  })

  it('a message of 499 KiB is accepted (entries then capped at 50)', async () => {
    const p = await rawPeer()
    const n = Math.floor(499 * 1024 / 6) - 10
    const added = new Uint8Array(n * 6)
    for (let i = 0; i < n; i++) added.set(v4(203, 0, 113, i & 255, 1000 + (i >> 8)), i * 6)
    p.send({ added })
    await waitFor(p.ext, 'pex')
    expect(p.peers.length).toBe(50)
    expect(p.wire.destroyed).toBe(false)
  })

  it('an undecodable message or one that is not a dict closes the wire (ERR_PEX_INVALID_MESSAGE)', async () => {
    for (const payload of [new TextEncoder().encode('d5:added'), new TextEncoder().encode('i1e'), new Uint8Array(0)]) {
      const p = await rawPeer()
      p.raw.write(encodeExtended(p.ourHs.m.ut_pex, payload))
      expect(await closeCode(p.wire)).toBe('ERR_PEX_INVALID_MESSAGE')
    }
  })

  it('more than 6 messages a minute: the extra ones are ignored', async () => {
    const p = await rawPeer()
    for (let i = 0; i < 9; i++) p.send({ added: Uint8Array.from(v4(203, 0, 113, i, 1000)), 'added.f': Uint8Array.from([0]) })
    await sleep(200)
    expect(p.messages.length).toBe(6)
    expect(p.peers.map(x => x.host)).toEqual(['203.0.113.0', '203.0.113.1', '203.0.113.2', '203.0.113.3', '203.0.113.4', '203.0.113.5'])
    expect(p.ext.ignoredMessages).toBe(3)
    expect(p.warnings.filter(w => w === 'ERR_PEX_TOO_FREQUENT').length).toBe(3)
    expect(p.wire.destroyed).toBe(false)
  })

  it('more than 50 added (IPv4 and IPv6 together) are truncated to 50; dropped likewise', async () => {
    const p = await rawPeer()
    const added = Uint8Array.from(Array.from({ length: 40 }, (_, i) => v4(198, 51, 100, i, 1000)).flat())
    const added6 = Uint8Array.from(Array.from({ length: 40 }, (_, i) => v6([0x20, 1, 0xd, 0xb8, ...Array(11).fill(0), i], 2000)).flat())
    const dropped = Uint8Array.from(Array.from({ length: 70 }, (_, i) => v4(192, 0, 2, i, 1000)).flat())
    p.send({ added, 'added.f': new Uint8Array(40).fill(2), added6, 'added6.f': new Uint8Array(40).fill(4), dropped })
    await waitFor(p.ext, 'pex')
    expect(p.peers.length).toBe(50)
    expect(p.peers.filter(x => x.family === 4).length).toBe(40)
    expect(p.peers.filter(x => x.family === 6).map(x => x.host).slice(0, 2)).toEqual(['2001:db8::', '2001:db8::1'])
    expect(p.peers.every(x => x.flags.seed === (x.family === 4) && x.flags.utp === (x.family === 6))).toBe(true)
    expect(p.dropped.length).toBe(50)
  })

  it('addresses that cannot be right are ignored: port 0, 0.0.0.0, broadcast, multicast, reserved, ::, ff00::, v4-mapped', async () => {
    const p = await rawPeer()
    const added = Uint8Array.from([
      v4(203, 0, 113, 8, 0), v4(0, 0, 0, 0, 1000), v4(0, 1, 2, 3, 1000), v4(255, 255, 255, 255, 1000), v4(224, 0, 0, 1, 1000),
      v4(239, 255, 255, 250, 1000), v4(240, 0, 0, 1, 1000), v4(203, 0, 113, 8, 1000)
    ].flat())
    const added6 = Uint8Array.from([
      v6(Array(16).fill(0), 1000), v6([0xff, 2, ...Array(13).fill(0), 1], 1000),
      v6([...Array(10).fill(0), 0xff, 0xff, 203, 0, 113, 8], 1000), v6([0x20, 0x01, 0x0d, 0xb8, ...Array(11).fill(0), 1], 1000)
    ].flat())
    p.send({ added, added6 })
    await waitFor(p.ext, 'pex')
    expect(p.peers.map(x => `${x.host}:${x.port}`)).toEqual(['203.0.113.8:1000', '2001:db8::1:1000'])
    expect(p.peers[0].flags.bits).toBe(0) // no added.f: flags 0
    expect(p.warnings).toContain('ERR_PEX_BAD_ADDRESS')
  })

  it('local addresses are ignored from a remote peer, kept from a local one; loopback only from loopback', async () => {
    const local = Uint8Array.from([
      v4(10, 0, 0, 1, 1000), v4(172, 16, 0, 1, 1000), v4(192, 168, 1, 1, 1000), v4(169, 254, 0, 1, 1000),
      v4(127, 0, 0, 1, 1000), v4(172, 32, 0, 1, 1000) // 172.32 is not private
    ].flat())
    const local6 = Uint8Array.from([
      v6([0xfe, 0x80, ...Array(13).fill(0), 1], 1000), v6([0xfd, 0, ...Array(13).fill(0), 1], 1000), v6([...Array(15).fill(0), 1], 1000)
    ].flat())
    const hosts = (peers: PexPeer[]) => peers.map(x => x.host)

    const remote = await rawPeer(UtPex, { remoteAddress: '203.0.113.7' })
    remote.send({ added: local, added6: local6 })
    await waitFor(remote.ext, 'pex')
    expect(hosts(remote.peers)).toEqual(['172.32.0.1'])

    const lan = await rawPeer(UtPex, { remoteAddress: '192.168.1.20' })
    lan.send({ added: local, added6: local6 })
    await waitFor(lan.ext, 'pex')
    expect(hosts(lan.peers)).toEqual(['10.0.0.1', '172.16.0.1', '192.168.1.1', '169.254.0.1', '172.32.0.1', 'fe80::1', 'fd00::1'])

    const loop = await rawPeer() // really 127.0.0.1
    loop.send({ added: local, added6: local6 })
    await waitFor(loop.ext, 'pex')
    expect(hosts(loop.peers)).toEqual(['10.0.0.1', '172.16.0.1', '192.168.1.1', '169.254.0.1', '127.0.0.1', '172.32.0.1', 'fe80::1', 'fd00::1', '::1'])
  })

  it('added.f of the wrong length is not used; duplicates in a message are reported once', async () => {
    const p = await rawPeer()
    const added = Uint8Array.from([v4(203, 0, 113, 8, 1000), v4(203, 0, 113, 4, 1000), v4(203, 0, 113, 8, 1000)].flat())
    p.send({ added, 'added.f': Uint8Array.from([2, 2]) })
    await waitFor(p.ext, 'pex')
    expect(p.peers.map(x => [x.host, x.flags.bits])).toEqual([['203.0.113.8', 0], ['203.0.113.4', 0]])
  })

  it('private torrents: ut_pex is not advertised, input is ignored, nothing is sent', async () => {
    const p = await rawPeer(utPex({ private: true }))
    expect(p.ourHs.m.ut_pex).toBeUndefined()
    expect(p.ext.private).toBe(true)
    expect(p.ext.supported).toBe(false)
    let sent = 0
    p.raw.on('data', () => sent++)
    p.raw.write(encodeExtended(1, bencode.encode({ added: Uint8Array.from(v4(203, 0, 113, 8, 1000)) })))
    expect(p.ext.sendPex({ added: [{ host: '203.0.113.8', port: 1 }] })).toBe(false)
    await sleep(100)
    expect(p.peers).toEqual([])
    expect(sent).toBe(0)
    expect(p.wire.destroyed).toBe(false)
  })
})

describe('formatAddress', () => {
  it('prints IPv6 in RFC 5952 form', () => {
    const f = (h: string) => formatAddress(Uint8Array.from(h.match(/../g)!.map(x => parseInt(x, 16))))
    expect(f('00000000000000000000000000000001')).toBe('::1')
    expect(f('00000000000000000000000000000000')).toBe('::')
    expect(f('20010db8000000000001000000000001')).toBe('2001:db8::1:0:0:1')
    expect(f('20010db8000100000001000100010001')).toBe('2001:db8:1:0:1:1:1:1')
    expect(f('fe800000000000000000000000000000')).toBe('fe80::')
    expect(f('0102030405060708090a0b0c0d0e0f10')).toBe('102:304:506:708:90a:b0c:d0e:f10')
    expect(formatAddress(Uint8Array.from([192, 0, 2, 1]))).toBe('192.0.2.1')
  })
})
