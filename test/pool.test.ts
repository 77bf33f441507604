/**
 * ConnectionPool on loopback: our own Wires on both ends (two or more pools in this process), over TCP and uTP.
 */
import { createSocket } from 'node:dgram'
import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { ConnectionPool, TransportError, type PoolOptions, type PoolTorrent, type Transport } from '../src/transport/index.js'
import { closeUtp, loadUtp, type UtpConnection } from '../src/transport/utp.js'
import { Wire } from '../src/wire/index.js'
import type { WasmTorrentError } from '../src/errors.js'
import { encodeHandshake, encodeReserved } from '../src/wire-codec/index.js'
import { socketPair, waitFor, sleep } from './helpers/sockets.js'

const IH = 'aa'.repeat(20)
const IH2 = 'bb'.repeat(20)
let nextId = 1
/** A fresh peer id: '-WT0001-' + 12 bytes. */
const newPeerId = (): string => '2d5754303030312d' + (nextId++).toString(16).padStart(24, '0')
const hex2 = (h: string): Uint8Array => Uint8Array.from(h.match(/../g)!, x => parseInt(x, 16))
const codeOf = (err: unknown): string | undefined => (err as WasmTorrentError | undefined)?.code

const pools: ConnectionPool[] = []
const cleanups: Array<() => unknown> = []
afterEach(async () => {
  for (const fn of cleanups.splice(0)) await fn()
  await Promise.all(pools.splice(0).map(p => p.destroy()))
})

async function pool (opts: PoolOptions = {}, listen = true): Promise<ConnectionPool> {
  const p = new ConnectionPool({ host: '127.0.0.1', connectTimeout: 1000, handshakeTimeout: 3000, ...opts })
  pools.push(p)
  if (listen) await p.listen()
  return p
}

const addr = (p: ConnectionPool): string => `127.0.0.1:${p.port}`

/** Resolves when `cond` holds (polled), or rejects after `ms`. */
async function until (cond: () => boolean, ms = 5000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting for ' + what)
    await sleep(10)
  }
}

/** A port with nothing listening on TCP (and, most likely, UDP). */
async function closedPort (): Promise<number> {
  const s = createSocket('udp4')
  await new Promise<void>(resolve => s.bind(0, '127.0.0.1', resolve))
  const port = s.address().port
  await new Promise<void>(resolve => s.close(() => resolve()))
  return port
}

class TestExt {
  constructor (public wire: Wire) {}
}
(TestExt.prototype as unknown as { name: string }).name = 'ut_test'

describe('ConnectionPool: dialing and routing', () => {
  for (const kind of ['tcp', 'utp'] as const) {
    it(`${kind}: dials, routes the incoming wire by info-hash, runs onWire before the handshake`, async () => {
      const b = await pool()
      const a = await pool({ preferUtp: kind === 'utp' })
      const pidA = newPeerId()
      const pidB = newPeerId()
      const order: string[] = []
      // B has two torrents; A dials for the second one.
      const tb1 = b.addTorrent(IH, { peerId: newPeerId(), onWire: () => order.push('wrong torrent') })
      const tb2 = b.addTorrent(IH2, {
        peerId: pidB,
        pieces: 10,
        onWire: w => { order.push('b.onWire:' + (w.peerId ?? 'none')); w.use(TestExt as never) }
      })
      const ta = a.addTorrent(IH2, {
        peerId: pidA,
        onWire: w => { order.push('a.onWire'); w.use(TestExt as never) },
        onReady: () => order.push('a.onReady')
      })
      const got = Promise.all([waitFor<Wire>(ta, 'wire'), waitFor<Wire>(tb2, 'wire')])
      expect(ta.addPeer(addr(b))).toBe(true)
      expect(ta.addPeer(addr(b))).toBe(false) // known and active
      const [[wa], [wb]] = await got
      expect(wa.type).toBe(kind + 'Outgoing')
      expect(wb.type).toBe(kind + 'Incoming')
      expect(wa.peerId).toBe(pidB)
      expect(wb.peerId).toBe(pidA)
      expect(wa.infoHash).toBe(IH2)
      expect(wb.pieceCount).toBe(10) // set from the registration once the torrent is known
      expect(wb.remoteAddress).toBe('127.0.0.1')
      // B's hook ran after the peer's handshake (peer id known) and before ours went out.
      expect(order).toContain('b.onWire:' + pidA)
      expect(order.indexOf('a.onWire')).toBeLessThan(order.indexOf('a.onReady'))
      expect(order).not.toContain('wrong torrent')
      await until(() => wa.peerExtendedMapping.ut_test !== undefined && wb.peerExtendedMapping.ut_test !== undefined, 3000, 'extended handshakes')
      expect(wa.peerExtendedHandshake.p).toBe(b.port)
      expect(ta.wires).toEqual([wa])
      expect(tb2.wires).toEqual([wb])
      expect(tb1.wires).toEqual([])
      expect(ta.peer(addr(b))).toMatchObject({ state: 'connected', transport: kind })
      expect(b.stats().torrents[IH2]).toMatchObject({ wires: 1, connecting: 0 })
    })
  }

  it('TCP refused falls back to uTP (a uTP-only peer)', async () => {
    const create = loadUtp()!
    const port = await closedPort()
    const pidPeer = newPeerId()
    const raw = create({ allowHalfOpen: false })
    await new Promise<void>(resolve => raw.listen(port, '127.0.0.1', resolve))
    cleanups.push(() => closeUtp(raw))
    raw.on('connection', (c: UtpConnection) => {
      const w = new Wire(c, { type: 'utpIncoming' })
      w.once('handshake', () => w.handshake(IH, pidPeer))
      cleanups.push(() => w.destroy())
    })
    const a = await pool()
    const ta = a.addTorrent(IH, { peerId: newPeerId() })
    const got = waitFor<Wire>(ta, 'wire')
    ta.addPeer(`127.0.0.1:${port}`)
    const [w] = await got
    expect(w.type).toBe('utpOutgoing')
    expect(w.peerId).toBe(pidPeer)
    expect(a.stats().dialFailures).toEqual({}) // the TCP refusal is part of one attempt, not a failure
  })

  it('an incoming handshake for an unknown info-hash is closed with ERR_POOL_UNKNOWN_INFO_HASH', async () => {
    const b = await pool()
    b.addTorrent(IH, { peerId: newPeerId() })
    // Plaintext dials: the pool sees the handshake (with MSE the responder refuses the torrent; see the MSE tests).
    const a = await pool({ backoff: [], secure: 0 })
    const ta = a.addTorrent(IH2, { peerId: newPeerId() })
    const closed = waitFor<Wire | Error>(b, 'wireClose')
    const gaveUp = waitFor(ta, 'peerGivenUp')
    ta.addPeer(addr(b))
    const [, reason, ih] = await closed
    expect(codeOf(reason)).toBe('ERR_POOL_UNKNOWN_INFO_HASH')
    expect(ih).toBeNull()
    await gaveUp // the dialer counted a failed attempt (closed before the handshakes completed)
    // Closed before the peer's handshake over TCP: retried at once over uTP, then given up (backoff []).
    expect(b.stats().closes.ERR_POOL_UNKNOWN_INFO_HASH).toBe(2)
    expect(ta.peer(addr(b))).toMatchObject({ state: 'idle', failures: 1 })
  })

  it('accept(): an externally connected stream is routed like an incoming connection', async () => {
    const b = await pool({}, false)
    const tb = b.addTorrent(IH, { peerId: newPeerId() })
    const [s1, s2] = await socketPair()
    const got = waitFor<Wire>(tb, 'wire')
    const wb = b.accept(s2, { type: 'tcpIncoming', remoteAddress: '127.0.0.1', remotePort: s1.localPort })
    expect(wb).not.toBeNull()
    const peer = new Wire(s1)
    cleanups.push(() => peer.destroy())
    const ready = waitFor(peer, 'ready')
    peer.handshake(IH, newPeerId())
    await ready
    expect((await got)[0]).toBe(wb)
  })

  it('removeTorrent closes its wires with ERR_POOL_TORRENT_REMOVED; later handshakes for it are unknown', async () => {
    const b = await pool()
    const a = await pool({ backoff: [100], secure: 0 }) // plaintext: the refusal comes from the pool, not MSE
    const tb = b.addTorrent(IH, { peerId: newPeerId() })
    const ta = a.addTorrent(IH, { peerId: newPeerId() })
    const got = waitFor<Wire>(tb, 'wire')
    ta.addPeer(addr(b))
    const [wb] = await got
    const closed = waitFor(wb, 'close')
    tb.destroy()
    expect(codeOf((await closed)[0])).toBe('ERR_POOL_TORRENT_REMOVED')
    expect(b.getTorrent(IH)).toBeNull()
    // A redials (after its backoff) and is now refused as unknown.
    const refused = waitFor<unknown>(b, 'wireClose', 5000)
    expect(codeOf((await refused)[1])).toBe('ERR_POOL_UNKNOWN_INFO_HASH')
  })
})

describe('ConnectionPool: self and duplicate connections', () => {
  for (const kind of ['tcp', 'utp'] as const) {
    it(`${kind}: dialing our own address is detected, both ends close, the address is never dialed again`, async () => {
      const a = await pool({ preferUtp: kind === 'utp', backoff: [50, 50, 50] })
      const ta = a.addTorrent(IH, { peerId: newPeerId() })
      const reasons: string[] = []
      a.on('wireClose', (w, r) => reasons.push(w.type + ':' + (codeOf(r) ?? 'CLEAN')))
      const self = waitFor<string>(a, 'selfConnection')
      ta.addPeer(addr(a))
      const [key] = await self
      expect(key).toBe(addr(a))
      await until(() => reasons.length === 2, 3000, 'both ends closed')
      expect(reasons.sort()).toEqual([`${kind}Incoming:ERR_POOL_SELF_CONNECTION`, `${kind}Outgoing:ERR_POOL_SELF_CONNECTION`])
      expect(ta.peer(addr(a))?.state).toBe('self')
      expect(ta.addPeer(addr(a))).toBe(false)
      // Other torrents of the pool never dial it either.
      const t2 = a.addTorrent(IH2, { peerId: newPeerId() })
      expect(t2.addPeer(addr(a))).toBe(false)
      await sleep(300)
      expect(reasons.length).toBe(2)
      expect(a.stats().selfConnections).toBe(1)
      expect(a.stats().connections).toBe(0)
    })
  }

  it('two connections in the same direction: the newer one is closed with ERR_POOL_DUPLICATE', async () => {
    // Incoming twice from one peer id (two dialers sharing it): B keeps the first.
    const b = await pool()
    const tb = b.addTorrent(IH, { peerId: newPeerId() })
    const shared = newPeerId()
    const a1 = await pool()
    const a2 = await pool({ backoff: [] })
    const t1 = a1.addTorrent(IH, { peerId: shared })
    const t2 = a2.addTorrent(IH, { peerId: shared })
    const first = waitFor<Wire>(tb, 'wire')
    t1.addPeer(addr(b))
    const [w1] = await first
    const closed = waitFor<unknown>(b, 'wireClose')
    t2.addPeer(addr(b))
    const [wClosed, reason] = await closed
    expect(codeOf(reason)).toBe('ERR_POOL_DUPLICATE')
    expect(wClosed).not.toBe(w1)
    expect(tb.wires).toEqual([w1])
    expect(w1.destroyed).toBe(false)
    expect(b.stats().duplicates).toBe(1)

    // Outgoing twice to one peer id (two addresses, same peer): A keeps the first.
    const sharedB = newPeerId()
    const b1 = await pool()
    const b2 = await pool()
    b1.addTorrent(IH2, { peerId: sharedB })
    b2.addTorrent(IH2, { peerId: sharedB })
    const a = await pool()
    const ta = a.addTorrent(IH2, { peerId: newPeerId() })
    const got = waitFor<Wire>(ta, 'wire')
    ta.addPeer(addr(b1))
    const [wa] = await got
    const closedA = waitFor<unknown>(a, 'wireClose')
    ta.addPeer(addr(b2))
    const [wa2, reasonA] = await closedA
    expect(codeOf(reasonA)).toBe('ERR_POOL_DUPLICATE')
    expect((wa2 as Wire).type).toBe('tcpOutgoing')
    expect(ta.wires).toEqual([wa])
    await sleep(100)
    // The second address is not redialed: the peer is connected through the first.
    expect(ta.peer(addr(b2))?.state).toBe('idle')
    expect(a.stats().dialFailures).toEqual({})
  })

  for (const kind of ['tcp', 'utp'] as const) {
    it(`${kind}: both sides dial each other at once: both keep the same connection (lower listen port keeps its outgoing)`, async () => {
      const p1 = await pool({ preferUtp: kind === 'utp', backoff: [100, 100] })
      const p2 = await pool({ preferUtp: kind === 'utp', backoff: [100, 100] })
      const t1 = p1.addTorrent(IH, { peerId: newPeerId() })
      const t2 = p2.addTorrent(IH, { peerId: newPeerId() })
      t1.addPeer(addr(p2))
      t2.addPeer(addr(p1))
      await until(() => p1.stats().duplicates + p2.stats().duplicates >= 1, 5000, 'a duplicate')
      await until(() => t1.wires.length === 1 && t2.wires.length === 1 && p1.stats().connections === 1 && p2.stats().connections === 1, 5000, 'one connection each')
      await sleep(500) // nothing is redialed afterwards
      expect(p1.stats().connections).toBe(1)
      expect(p2.stats().connections).toBe(1)
      const [w1] = t1.wires
      const [w2] = t2.wires
      const low = p1.port < p2.port ? w1 : w2
      const high = low === w1 ? w2 : w1
      expect(low.type).toBe(kind + 'Outgoing')
      expect(high.type).toBe(kind + 'Incoming')
      expect(t1.peer(addr(p2))?.state).toBe('connected')
      expect(t2.peer(addr(p1))?.state).toBe('connected')
      expect(p1.stats().dialFailures).toEqual({})
      expect(p2.stats().dialFailures).toEqual({})
    })
  }
})

describe('ConnectionPool: limits', () => {
  it('per-torrent limit: the third peer is closed with ERR_POOL_TORRENT_FULL', async () => {
    const b = await pool()
    const tb = b.addTorrent(IH, { peerId: newPeerId(), maxConns: 2 })
    const dialers = await Promise.all([pool({ backoff: [] }), pool({ backoff: [] }), pool({ backoff: [] })])
    const ts = dialers.map(p => p.addTorrent(IH, { peerId: newPeerId() }))
    for (const t of ts.slice(0, 2)) {
      const got = waitFor(t, 'wire')
      t.addPeer(addr(b))
      await got
    }
    const refused = waitFor<unknown>(b, 'wireClose')
    ts[2].addPeer(addr(b))
    expect(codeOf((await refused)[1])).toBe('ERR_POOL_TORRENT_FULL')
    expect(tb.wires.length).toBe(2)
    expect(tb.numConns).toBe(2)
  })

  it('global limit: an incoming socket over maxConns is refused before a wire is made', async () => {
    const b = await pool({ maxConns: 1 })
    b.addTorrent(IH, { peerId: newPeerId() })
    const a1 = await pool()
    const a2 = await pool({ backoff: [], utp: false, secure: 0 }) // one attempt (no plaintext retry after MSE)
    const t1 = a1.addTorrent(IH, { peerId: newPeerId() })
    const t2 = a2.addTorrent(IH, { peerId: newPeerId() })
    const got = waitFor(t1, 'wire')
    t1.addPeer(addr(b))
    await got
    const gaveUp = waitFor(t2, 'peerGivenUp')
    t2.addPeer(addr(b))
    await gaveUp
    expect(b.stats().refused.ERR_POOL_FULL).toBe(1)
    expect(b.stats().connections).toBe(1)
  })

  it('per-torrent limit on our side: no more dials than maxConns', async () => {
    const targets = await Promise.all([pool(), pool(), pool()])
    for (const p of targets) p.addTorrent(IH, { peerId: newPeerId() })
    const a = await pool()
    const ta = a.addTorrent(IH, { peerId: newPeerId(), maxConns: 2 })
    for (const p of targets) ta.addPeer(addr(p))
    await until(() => ta.wires.length === 2, 5000, 'two wires')
    await sleep(200)
    expect(ta.numConns).toBe(2)
    expect(ta.peers.filter(p => p.state === 'queued').length).toBe(1)
    // A slot frees: the queued address is dialed.
    ta.wires[0].destroy()
    await until(() => ta.wires.length === 2 && ta.peers.every(p => p.state !== 'queued'), 5000, 'the queued peer dialed')
  })

  it('half-open limit: at most maxHalfOpen dials in flight', async () => {
    // A transport whose dials hang until the timeout: what an unresponsive host looks like.
    let inFlight = 0
    let maxInFlight = 0
    const transport: Transport = {
      tcp: true,
      utp: false,
      port: 0,
      listen: () => Promise.reject(new Error('no')),
      dial: (_kind, host, port, opts) => new Promise((_resolve, reject) => {
        inFlight++
        maxInFlight = Math.max(maxInFlight, inFlight)
        setTimeout(() => {
          inFlight--
          reject(new TransportError('ERR_TRANSPORT_CONNECT_TIMEOUT', `${host}:${port}`))
        }, opts.timeout)
      }),
      close: async () => {}
    }
    const a = await pool({ transport, maxHalfOpen: 2, connectTimeout: 100, backoff: [] }, false)
    const ta = a.addTorrent(IH, { peerId: newPeerId() })
    for (let i = 1; i <= 5; i++) ta.addPeer(`127.0.0.${i}:6881`)
    expect(a.stats().halfOpen).toBe(2)
    expect(ta.peers.filter(p => p.state === 'queued').length).toBe(3)
    await until(() => ta.peers.every(p => p.state === 'idle'), 3000, 'all given up')
    expect(maxInFlight).toBe(2)
    expect(a.stats().dialFailures.ERR_TRANSPORT_CONNECT_TIMEOUT).toBe(5)
  })
})

describe('ConnectionPool: backoff', () => {
  it('retries a failing address after each backoff delay, then gives up', async () => {
    const a = await pool({ utp: false, backoff: [100, 200, 300] })
    const ta = a.addTorrent(IH, { peerId: newPeerId() })
    const port = await closedPort()
    const times: number[] = []
    ta.on('dialFailed', (_addr, err) => { times.push(Date.now()); expect(err.code).toBe('ERR_TRANSPORT_CONNECT_REFUSED') })
    const gaveUp = waitFor(ta, 'peerGivenUp')
    ta.addPeer(`127.0.0.1:${port}`)
    expect(ta.peer(`127.0.0.1:${port}`)?.state).toBe('dialing')
    await gaveUp
    expect(times.length).toBe(4)
    const gaps = times.slice(1).map((t, i) => t - times[i])
    for (const [i, want] of [100, 200, 300].entries()) {
      expect(gaps[i]).toBeGreaterThanOrEqual(want - 5)
      expect(gaps[i]).toBeLessThan(want + 250)
    }
    expect(ta.peer(`127.0.0.1:${port}`)).toMatchObject({ state: 'idle', failures: 4 })
    // Added again (a new tracker announce): one more round.
    expect(ta.addPeer(`127.0.0.1:${port}`)).toBe(true)
  })

  it('an established connection that closes is redialed after the first backoff delay', async () => {
    const b = await pool()
    const tb = b.addTorrent(IH, { peerId: newPeerId() })
    const a = await pool({ backoff: [150, 1000] })
    const ta = a.addTorrent(IH, { peerId: newPeerId() })
    const first = waitFor<Wire>(ta, 'wire')
    ta.addPeer(addr(b))
    const [w1] = await first
    const again = waitFor<Wire>(ta, 'wire')
    const t0 = Date.now()
    tb.wires[0].destroy()
    const [w2] = await again
    expect(w2).not.toBe(w1)
    expect(Date.now() - t0).toBeGreaterThanOrEqual(140)
    expect(ta.peer(addr(b))?.failures).toBe(1)
  })

  it('a protocol violation bans the address for the torrent and is counted', async () => {
    const b = await pool()
    b.addTorrent(IH, { peerId: newPeerId() })
    const a = await pool({ backoff: [50] })
    const ta = a.addTorrent(IH, { peerId: newPeerId() })
    const got = waitFor<Wire>(b, 'wire')
    ta.addPeer(addr(b))
    const [wb] = await got
    const closed = waitFor<unknown>(a, 'wireClose')
    // B sends a message id nobody knows: A closes with a WireProtocolError.
    ;(wb as unknown as { push (b: Uint8Array): void }).push(new Uint8Array([0, 0, 0, 1, 99]))
    expect(codeOf((await closed)[1])).toBe('ERR_WIRE_UNKNOWN_MESSAGE')
    expect(a.stats().violations).toBe(1)
    expect(a.stats().closes.ERR_WIRE_UNKNOWN_MESSAGE).toBe(1)
    await sleep(200)
    expect(ta.peer(addr(b))?.state).toBe('banned')
    expect(ta.addPeer(addr(b))).toBe(false)
  })
})

describe('ConnectionPool: blocklist', () => {
  it('a blocked address is never dialed (blockedPeer)', async () => {
    const b = await pool()
    b.addTorrent(IH, { peerId: newPeerId() })
    const seen: string[] = []
    const a = await pool({ blocklist: ip => { seen.push(ip); return ip === '127.0.0.1' } })
    const ta = a.addTorrent(IH, { peerId: newPeerId() })
    const blocked = waitFor<string>(ta, 'blockedPeer')
    expect(ta.addPeer(`[::ffff:127.0.0.1]:${b.port}`)).toBe(false)
    expect((await blocked)[0]).toBe(addr(b))
    expect(seen).toEqual(['127.0.0.1'])
    expect(a.stats().halfOpen).toBe(0)
    expect(b.stats().connections).toBe(0)
    expect(a.stats().blocked).toBe(1)
  })

  it('a blocklist set later stops queued/retried addresses too', async () => {
    const a = await pool({ utp: false, backoff: [50, 50, 50] })
    const ta = a.addTorrent(IH, { peerId: newPeerId() })
    const port = await closedPort()
    const failed = waitFor(ta, 'dialFailed')
    ta.addPeer(`127.0.0.1:${port}`)
    await failed
    const blocked = waitFor(a, 'blockedPeer')
    a.blocklist = () => true
    await blocked
    expect(ta.peer(`127.0.0.1:${port}`)?.state).toBe('idle')
  })

  for (const kind of ['tcp', 'utp'] as const) {
    it(`${kind}: an incoming connection from a blocked address is refused on accept`, async () => {
      const b = await pool({ blocklist: ip => ip === '127.0.0.1' })
      b.addTorrent(IH, { peerId: newPeerId() })
      const a = await pool({ preferUtp: kind === 'utp', backoff: [] })
      const ta = a.addTorrent(IH, { peerId: newPeerId() })
      const blocked = waitFor<string | null>(b, 'blockedPeer')
      ta.addPeer(addr(b))
      const [address, ih] = await blocked
      expect(address).toMatch(/^127\.0\.0\.1:\d+$/)
      expect(ih).toBeNull()
      expect(b.stats().refused.ERR_POOL_BLOCKED).toBe(1)
      expect(b.stats().connections).toBe(0)
    })
  }
})

describe('ConnectionPool: listening, utp option, destroy', () => {
  it('TCP and uTP listen on the same port number', async () => {
    const p = await pool()
    expect(p.utp).toBe(true)
    const udp = createSocket('udp4')
    const err = await new Promise<NodeJS.ErrnoException | null>(resolve => {
      udp.once('error', resolve)
      udp.bind(p.port, '127.0.0.1', () => resolve(null))
    })
    udp.close()
    expect(err?.code).toBe('EADDRINUSE')
  })

  it('utp: false opens no UDP socket and dials TCP only, even with preferUtp', async () => {
    const b = await pool({ utp: false })
    expect(b.utp).toBe(false)
    const udp = createSocket('udp4')
    await new Promise<void>((resolve, reject) => { udp.once('error', reject); udp.bind(b.port, '127.0.0.1', resolve) })
    udp.close()
    const a = await pool({ utp: false, preferUtp: true })
    b.addTorrent(IH, { peerId: newPeerId() })
    const ta = a.addTorrent(IH, { peerId: newPeerId() })
    const got = waitFor<Wire>(ta, 'wire')
    ta.addPeer(addr(b))
    expect((await got)[0].type).toBe('tcpOutgoing')
  })

  it('an explicit port whose UDP twin is taken fails with ERR_TRANSPORT_LISTEN', async () => {
    const udp = createSocket('udp4')
    await new Promise<void>(resolve => udp.bind(0, '127.0.0.1', resolve))
    cleanups.push(() => udp.close())
    const p = await pool({}, false)
    await expect(p.listen(udp.address().port)).rejects.toMatchObject({ code: 'ERR_TRANSPORT_LISTEN' })
  })

  it('destroy() closes every wire (ERR_POOL_DESTROYED), the TCP listener and the UDP socket', async () => {
    const b = await pool()
    const a = await pool({ preferUtp: true })
    b.addTorrent(IH, { peerId: newPeerId() })
    const ta = a.addTorrent(IH, { peerId: newPeerId() })
    const got = waitFor<Wire>(ta, 'wire')
    ta.addPeer(addr(b))
    const [w] = await got
    expect(w.type).toBe('utpOutgoing')
    const closed = waitFor(w, 'close')
    const t0 = Date.now()
    await Promise.all([a.destroy(), b.destroy()])
    expect(Date.now() - t0).toBeLessThan(500)
    expect(codeOf((await closed)[0])).toBe('ERR_POOL_DESTROYED')
    expect(a.stats().connections).toBe(0)
    expect(b.stats().connections).toBe(0)
    for (const port of [a.port, b.port]) {
      // The port is free again on both protocols.
      const { createServer } = await import('node:net')
      const srv = createServer()
      await new Promise<void>((resolve, reject) => { srv.once('error', reject); srv.listen(port, '127.0.0.1', resolve) })
      await new Promise(resolve => srv.close(resolve))
      const udp = createSocket('udp4')
      await new Promise<void>((resolve, reject) => { udp.once('error', reject); udp.bind(port, '127.0.0.1', resolve) })
      await new Promise<void>(resolve => udp.close(() => resolve()))
    }
    await expect(a.listen()).rejects.toMatchObject({ code: 'ERR_POOL_DESTROYED' })
  })

  it('after destroy() a process with TCP and uTP connections exits by itself', async () => {
    const script = `
      import { ConnectionPool } from ${JSON.stringify(join(import.meta.dirname, '../src/transport/index.ts'))}
      const IH = 'aa'.repeat(20)
      const a = new ConnectionPool({ host: '127.0.0.1' })
      const b = new ConnectionPool({ host: '127.0.0.1' })
      const c = new ConnectionPool({ host: '127.0.0.1', preferUtp: true })
      await Promise.all([a.listen(), b.listen(), c.listen()])
      b.addTorrent(IH, { peerId: '22'.repeat(20) })
      const ta = a.addTorrent(IH, { peerId: '11'.repeat(20) })
      const tc = c.addTorrent(IH, { peerId: '33'.repeat(20) })
      const types = []
      const ready = Promise.all([ta, tc].map(t => new Promise(r => t.once('wire', w => { types.push(w.type); r() }))))
      ta.addPeer('127.0.0.1:' + b.port)
      tc.addPeer('127.0.0.1:' + b.port)
      await ready
      await Promise.all([a.destroy(), b.destroy(), c.destroy()])
      console.log(JSON.stringify({ types: types.sort(), at: Date.now() }))
    `
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: join(import.meta.dirname, '..'), stdio: ['ignore', 'pipe', 'pipe']
    })
    let out = ''
    let errOut = ''
    child.stdout.on('data', d => { out += d })
    child.stderr.on('data', d => { errOut += d })
    const killer = setTimeout(() => child.kill('SIGKILL'), 15000)
    const code = await new Promise<number | null>(resolve => child.once('exit', resolve))
    const exitedAt = Date.now()
    clearTimeout(killer)
    expect(errOut).toBe('')
    expect(code).toBe(0)
    const res = JSON.parse(out.trim()) as { types: string[], at: number }
    expect(res.types).toEqual(['tcpOutgoing', 'utpOutgoing'])
    // It exited promptly after destroy() resolved: nothing (libutp connections included) held it open.
    expect(exitedAt - res.at).toBeLessThan(2000)
  }, 20_000)
})

describe('Wire handshake raw: a peer that names our torrent but never completes', () => {
  it('an incoming connection that never sends a handshake is closed by the handshake timeout', async () => {
    const b = await pool({ handshakeTimeout: 1000 })
    b.addTorrent(IH, { peerId: newPeerId() })
    const { connect } = await import('node:net')
    const s = connect(b.port, '127.0.0.1')
    cleanups.push(() => s.destroy())
    const closed = waitFor<unknown>(b, 'wireClose', 4000)
    s.write(encodeHandshake(hex2(IH), hex2(newPeerId()), encodeReserved({ extended: true })).subarray(0, 30))
    expect(codeOf((await closed)[1])).toBe('ERR_WIRE_HANDSHAKE_TIMEOUT')
    expect(b.stats().unrouted).toBe(0)
  })
})
