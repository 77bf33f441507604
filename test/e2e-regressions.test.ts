/**
 * Regression tests for bugs the end-to-end interop tests found, reproduced with our own clients only (so
 * they run where no counterpart is installed). Each names the e2e case that found it.
 */
import { writeFileSync } from 'node:fs'
import type { Socket } from 'node:net'
import { join } from 'node:path'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { createTorrent, type WasmTorrentError, type WebTorrent } from '../src/index.js'
import { Wire } from '../src/wire/index.js'
import { bindUtp, closeUtp, loadUtp } from '../src/transport/utp.js'
import {
  encodeBitfield, encodeHandshake, encodeHave, encodeHaveAll, encodeHaveNone, encodePiece, encodeReject, encodeReserved, encodeUnchoke
} from '../src/wire-codec/index.js'
import { ourClient, sameFile, tempDirs, until, whenDone } from './helpers/e2e.js'
import { corruptingStoreFactory } from './helpers/corrupt-store.js'
import { randomBytes, rng } from './helpers/random.js'
import { sleep, socketPair, waitFor } from './helpers/sockets.js'

const tmp = tempDirs('wt-e2e-regr-')
const clients: WebTorrent[] = []
afterEach(async () => { await Promise.allSettled(clients.splice(0).map(c => c.destroy())) })
afterAll(() => tmp.cleanup())
const open: Array<Wire | Socket> = []
afterEach(() => { for (const o of open.splice(0)) o.destroy() })

const IH = 'aa'.repeat(20)
const PA = '2d5757303030312d' + '11'.repeat(12)
const PB = '2d5757303030312d' + '22'.repeat(12)
const hex2 = (h: string) => Uint8Array.from(h.match(/../g)!.map(x => parseInt(x, 16)))
const code = (e: unknown) => (e as WasmTorrentError | null)?.code

/** Our wire (10 pieces) against a raw fast-extension peer we write crafted bytes to. */
async function rawPeer (): Promise<{ wire: Wire, raw: Socket }> {
  const [sa, raw] = await socketPair()
  const wire = new Wire(sa, { pieces: 10 })
  open.push(wire, raw)
  const gotOurs = new Promise<void>(resolve => raw.once('data', () => resolve()))
  wire.handshake(IH, PA, { fast: true })
  await gotOurs
  raw.write(encodeHandshake(hex2(IH), hex2(PB), encodeReserved({ fast: true, extended: false })))
  await waitFor(wire, 'ready')
  return { wire, raw }
}

describe('a late bitfield / have all (aria2 1.36 sends them after its have none; found by e2e-aria2)', () => {
  it('a bitfield after have none and haves adds its pieces as haves', async () => {
    const { wire, raw } = await rawPeer()
    const haves: number[] = []
    wire.on('have', (i: number) => haves.push(i))
    raw.write(encodeHaveNone())
    raw.write(encodeHave(1))
    raw.write(encodeBitfield(Uint8Array.from([0b01100000, 0b01000000]))) // pieces 1, 2 and 9
    await sleep(50)
    expect(wire.destroyed).toBe(false)
    expect(haves).toEqual([1, 2, 9])
    expect([...Array(10).keys()].filter(i => wire.peerPieces!.get(i))).toEqual([1, 2, 9])
  })

  it('a have all after have none adds every piece as a have; a late have none changes nothing', async () => {
    const { wire, raw } = await rawPeer()
    const haves: number[] = []
    wire.on('have', (i: number) => haves.push(i))
    raw.write(encodeHaveNone())
    raw.write(encodeHave(4))
    raw.write(encodeHaveAll())
    raw.write(encodeHaveNone())
    await sleep(50)
    expect(wire.destroyed).toBe(false)
    expect(haves).toEqual([4, 0, 1, 2, 3, 5, 6, 7, 8, 9])
    expect(wire.peerPieces!.isFull()).toBe(true)
  })

  it('a late bitfield of the wrong length is still a violation (case 17)', async () => {
    const { wire, raw } = await rawPeer()
    raw.write(encodeHaveNone())
    raw.write(encodeBitfield(Uint8Array.from([0xff, 0xc0, 0x00])))
    await waitFor(wire, 'close')
    expect((wire.closeReason as WasmTorrentError).name).toBe('WireProtocolError')
  })
})

describe('a block cancelled and requested again from the same peer (BEP 6; found by e2e-swarm, case 29)', () => {
  // In endgame a block is requested from two peers; the first copy cancels the other request. When the piece
  // then fails its hash check, the block is requested again from the peer it was cancelled on: that peer owes
  // two answers (the cancelled request is answered too, with a reject or the piece). The second answer was
  // taken for an unsolicited reject / unrequested piece, a protocol violation: a good peer was closed and
  // banned, and the download stalled once no peer was left.

  it('our own peer answers both with rejects: no violation, the new request is rejected', async () => {
    const [sa, sb] = await socketPair()
    const a = new Wire(sa, { type: 'tcpOutgoing', pieces: 10 })
    const b = new Wire(sb, { type: 'tcpIncoming', pieces: 10 })
    open.push(a, b)
    b.once('handshake', () => b.handshake(IH, PB, { fast: true }))
    a.handshake(IH, PA, { fast: true })
    await Promise.all([waitFor(a, 'ready'), waitFor(b, 'ready')])
    b.unchoke()
    await waitFor(a, 'unchoke')
    let respondFirst: ((e: Error | null, d?: Uint8Array) => void) | undefined
    b.once('request', (_i: number, _b: number, _l: number, respond: typeof respondFirst) => { respondFirst = respond })
    const first = new Promise<unknown>(resolve => a.request(3, 16384, 16384, e => resolve(e)))
    await waitFor(b, 'request')
    a.cancel(3, 16384, 16384)
    expect(code(await first)).toBe('ERR_WIRE_CANCELLED')
    await waitFor(b, 'cancel')
    // Requested again while b still holds the cancelled one: b rejects the duplicate at once...
    const second = new Promise<unknown>(resolve => a.request(3, 16384, 16384, e => resolve(e)))
    await sleep(50)
    // ...and then answers the cancelled one with a reject too.
    respondFirst!(null, new Uint8Array(16384))
    expect(code(await second)).toBe('ERR_WIRE_REJECTED')
    await sleep(50)
    expect(a.destroyed).toBe(false)
  })

  it('a libtorrent-like peer rejects the cancelled request and sends the block for the new one', async () => {
    const [sa, raw] = await socketPair()
    const a = new Wire(sa, { pieces: 10 })
    open.push(a, raw)
    const gotOurs = new Promise<void>(resolve => raw.once('data', () => resolve()))
    a.handshake(IH, PA, { fast: true })
    await gotOurs
    raw.write(encodeHandshake(hex2(IH), hex2(PB), encodeReserved({ fast: true, extended: false })))
    raw.write(encodeUnchoke())
    await waitFor(a, 'unchoke')
    expect(a.request(3, 0, 16384, () => {})).toBe(true)
    a.cancel(3, 0, 16384)
    const block = new Uint8Array(16384).fill(7)
    const second = new Promise<[unknown, Uint8Array | undefined]>(resolve => a.request(3, 0, 16384, (e, d) => resolve([e, d])))
    await sleep(50)
    raw.write(encodeReject(3, 0, 16384))
    raw.write(encodePiece(3, 0, block))
    const [err, data] = await second
    expect(err).toBe(null)
    expect(Buffer.from(data!).equals(block)).toBe(true)
    await sleep(50)
    expect(a.destroyed).toBe(false)
  })
})

describe('smart ban (case 29, found by e2e-swarm)', () => {
  it('bans a corrupt peer once, marks its address banned, never redials it and refuses it when it dials back', async () => {
    const parent = tmp.dir()
    const src = join(parent, 'data.bin')
    writeFileSync(src, randomBytes(rng(29), 2 * 1024 * 1024 + 77))
    const torrent = await createTorrent(src, { pieceLength: 64 * 1024 })

    const good = await ourClient(clients, { uploadLimit: 1_000_000 }) // slow, so the bad peer gets requests
    const goodTorrent = good.add(torrent, { path: parent })
    await waitFor(goodTorrent, 'ready', 10_000)
    const bad = await ourClient(clients)
    const corrupting = corruptingStoreFactory()
    const badTorrent = bad.add(torrent, { path: parent, skipVerify: true, store: corrupting.factory })
    await waitFor(badTorrent, 'ready', 10_000)

    const us = await ourClient(clients)
    const out = tmp.dir()
    const badAddr = `127.0.0.1:${bad.torrentPort}`
    const t = us.add(torrent, { path: out, peers: [badAddr, `127.0.0.1:${good.torrentPort}`] })
    const warnings: WasmTorrentError[] = []
    t.on('warning', (e: Error) => { warnings.push(e as WasmTorrentError) })
    const wiresToBad: Wire[] = []
    t.on('wire', (w: Wire) => { if (w.peerId === bad.peerId) wiresToBad.push(w) })
    await whenDone(t, 30_000)
    expect(sameFile(src, join(out, 'data.bin'))).toBe(true)
    expect(corrupting.store!.corrupted).toBeGreaterThan(0)
    expect(warnings.some(w => w.code === 'ERR_PIECE_HASH')).toBe(true)
    // Several failed pieces blame the same peer: one ban, not one per piece.
    const bans = warnings.filter(w => w.code === 'ERR_PEER_BANNED')
    expect(bans.map(b => b.message.includes(badAddr))).toEqual([true])
    const poolTorrent = us.pool.getTorrent(t.infoHash)!
    expect(poolTorrent.peer(badAddr)?.state).toBe('banned')
    // Past the first redial delay (1 s): not dialed again.
    await sleep(1500)
    expect(wiresToBad.length).toBe(1)
    // It dials us: refused once its extended handshake names the banned listen address.
    const before = us.pool.stats().closes.ERR_POOL_BANNED ?? 0
    badTorrent.addPeer(`127.0.0.1:${us.torrentPort}`)
    await until('the banned peer to be refused', () => (us.pool.stats().closes.ERR_POOL_BANNED ?? 0) > before, 5000)
    await sleep(200)
    expect(t.wires.some(w => w.peerId === bad.peerId)).toBe(false)
  }, 60_000)
})

describe.skipIf(loadUtp() === null)('uTP socket buffers (found by e2e-libtorrent: 64 MiB over uTP took ~8 s, now ~2 s)', () => {
  it('the shared uTP socket asks for 1 MiB UDP send and receive buffers', async () => {
    const sock = await bindUtp(0, '127.0.0.1', () => {})
    try {
      const s = sock as unknown as { getRecvBufferSize (): number, getSendBufferSize (): number }
      // Linux reports twice the size asked for (bookkeeping overhead), capped by net.core.[rw]mem_max.
      expect(s.getRecvBufferSize()).toBeGreaterThanOrEqual(1024 * 1024)
      expect(s.getSendBufferSize()).toBeGreaterThanOrEqual(1024 * 1024)
    } finally {
      await closeUtp(sock)
    }
  })
})
