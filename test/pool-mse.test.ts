/**
 * MSE/PE in the connection pool (the `secure` option, src/transport/pool-encryption.ts) on loopback: pools
 * dialing pools, a pool whose transport has no MSE (it drops encrypted handshakes, as Transmission does when
 * encryption is only "tolerated"), and a peer that never answers.
 */
import { createConnection, createServer, type Socket } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { ConnectionPool, createTransport, type PoolOptions, type PoolTorrent, type Transport } from '../src/transport/index.js'
import { WebTorrent } from '../src/index.js'
import type { Wire } from '../src/wire/index.js'
import type { WasmTorrentError } from '../src/errors.js'
import { waitFor } from './helpers/sockets.js'
import { LOCAL_ONLY } from './helpers/local.js'

const IH = 'aa'.repeat(20)
let nextId = 1
const newPeerId = (): string => '2d5754303030312d' + (nextId++).toString(16).padStart(24, '0')
const codeOf = (err: unknown): string | undefined => (err as WasmTorrentError | undefined)?.code
const PLAIN_PREFIX = Buffer.concat([Buffer.from([19]), Buffer.from('BitTorrent protocol')])

const pools: ConnectionPool[] = []
const cleanups: Array<() => unknown> = []
afterEach(async () => {
  for (const fn of cleanups.splice(0)) await fn()
  await Promise.all(pools.splice(0).map(p => p.destroy()))
})

async function pool (opts: PoolOptions = {}): Promise<ConnectionPool> {
  const p = new ConnectionPool({ host: '127.0.0.1', connectTimeout: 1000, handshakeTimeout: 3000, ...opts })
  pools.push(p)
  await p.listen()
  return p
}

/** A Node transport without MSE: encrypted handshakes reach the Wire as garbage and are dropped. */
function plaintextOnly (): Transport {
  const t = createTransport({ utp: false })
  ;(t as { acceptEncrypted?: unknown }).acceptEncrypted = undefined
  return t
}

const addr = (p: ConnectionPool): string => `127.0.0.1:${p.port}`

/** A dials B for IH; resolves with both ready wires. */
async function connect (a: ConnectionPool, b: ConnectionPool): Promise<{ ta: PoolTorrent, wa: Wire, wb: Wire }> {
  const ta = a.addTorrent(IH, { peerId: newPeerId() })
  const tb = b.addTorrent(IH, { peerId: newPeerId() })
  const gotA = waitFor<Wire>(ta, 'wire')
  const gotB = waitFor<Wire>(tb, 'wire')
  ta.addPeer(addr(b))
  return { ta, wa: (await gotA)[0], wb: (await gotB)[0] }
}

/**
 * A TCP proxy in front of `target` that sees how each connection starts (MSE or a plaintext handshake) and,
 * by `admit(kind, n)` (n: the connection's number from 0), closes it at once or passes it through.
 */
async function gate (target: ConnectionPool, admit: (kind: 'mse' | 'plain', n: number) => boolean): Promise<{ port: number, seen: Array<'mse' | 'plain'> }> {
  const seen: Array<'mse' | 'plain'> = []
  const socks: Socket[] = []
  const server = createServer(c => {
    socks.push(c)
    c.once('data', (first: Buffer) => {
      const kind = first.subarray(0, PLAIN_PREFIX.length).equals(PLAIN_PREFIX) ? 'plain' : 'mse'
      const n = seen.push(kind) - 1
      if (!admit(kind, n)) { c.destroy(); return }
      c.pause()
      const up = createConnection(target.port, '127.0.0.1', () => { up.write(first); c.pipe(up).pipe(c); c.resume() })
      socks.push(up)
      up.on('error', () => c.destroy())
      c.on('error', () => up.destroy())
    })
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  cleanups.push(() => { for (const s of socks) s.destroy(); return new Promise(resolve => server.close(resolve)) })
  return { port: (server.address() as { port: number }).port, seen }
}

/** A new pool (secure 1, short backoff) dials `b` for IH through a gate; resolves with its ready wire. */
async function dialThroughGate (b: ConnectionPool, admit: (kind: 'mse' | 'plain', n: number) => boolean):
Promise<{ a: ConnectionPool, wa: Wire, seen: Array<'mse' | 'plain'> }> {
  const g = await gate(b, admit)
  const a = await pool({ backoff: [100, 100, 100] })
  const ta = a.addTorrent(IH, { peerId: newPeerId() })
  b.addTorrent(IH, { peerId: newPeerId() })
  const got = waitFor<Wire>(ta, 'wire')
  ta.addPeer(`127.0.0.1:${g.port}`)
  return { a, wa: (await got)[0], seen: g.seen }
}

describe('ConnectionPool: MSE/PE (secure)', () => {
  it('secure 1 (default): our dial opens with MSE, the responder picks plaintext; both ends report it', async () => {
    const b = await pool()
    const a = await pool()
    expect(a.secure).toBe(1)
    const { wa, wb } = await connect(a, b)
    expect(a.encryption(wa)).toBe('mse-plaintext')
    expect(b.encryption(wb)).toBe('mse-plaintext')
    expect(a.stats().encryption).toEqual({ outgoing: { 'mse-plaintext': 1 }, incoming: {} })
    expect(b.stats().encryption).toEqual({ outgoing: {}, incoming: { 'mse-plaintext': 1 } })
    expect(a.stats().mseFailures).toEqual({})
  })

  it('secure 2 dialing: RC4 only, and the pieces of a request/response cross intact', async () => {
    const b = await pool()
    const a = await pool({ secure: 2 })
    const { wa, wb } = await connect(a, b)
    expect(a.encryption(wa)).toBe('mse-rc4')
    expect(b.encryption(wb)).toBe('mse-rc4')
    // Messages both ways over the RC4 streams.
    const haveAtA = waitFor<number>(wa, 'have')
    const haveAtB = waitFor<number>(wb, 'have')
    wa.setPieces(100)
    wb.setPieces(100)
    wb.have(42)
    wa.have(7)
    expect((await haveAtA)[0]).toBe(42)
    expect((await haveAtB)[0]).toBe(7)
  })

  it('secure 0 dials in plaintext (the responder reports plaintext)', async () => {
    const b = await pool()
    const a = await pool({ secure: 0 })
    const { wa, wb } = await connect(a, b)
    expect(a.encryption(wa)).toBe('plaintext')
    expect(b.encryption(wb)).toBe('plaintext')
    expect(b.stats().encryption.incoming).toEqual({ plaintext: 1 })
  })

  it('secure 2 accepting: a plaintext dial is refused (ERR_MSE_PLAINTEXT_REFUSED) and never becomes a wire', async () => {
    const b = await pool({ secure: 2 })
    const a = await pool({ secure: 0, backoff: [] })
    const ta = a.addTorrent(IH, { peerId: newPeerId() })
    const tb = b.addTorrent(IH, { peerId: newPeerId() })
    let wires = 0
    tb.on('wire', () => wires++)
    const closed = waitFor<unknown>(b, 'wireClose')
    const gaveUp = waitFor(ta, 'peerGivenUp')
    ta.addPeer(addr(b))
    const [, reason] = await closed
    expect(codeOf((reason as Error).cause)).toBe('ERR_MSE_PLAINTEXT_REFUSED')
    await gaveUp
    expect(wires).toBe(0)
  })

  it('secure 1 against a peer that drops MSE: redialed at once in plaintext, counted, and remembered', async () => {
    const b = await pool({ transport: plaintextOnly() })
    const a = await pool({ backoff: [50, 50] })
    const { ta, wa } = await connect(a, b)
    expect(a.encryption(wa)).toBe('plaintext')
    expect(a.stats().encryption.outgoing).toEqual({ 'plaintext-fallback': 1 })
    const failures = a.stats().mseFailures
    expect(Object.keys(failures)).toHaveLength(1)
    expect(Object.keys(failures)[0]).toMatch(/^ERR_MSE_(CLOSED|STREAM)$/)
    expect(ta.peer(addr(b))).toMatchObject({ state: 'connected', failures: 0 }) // the retry cost no failure
    // The connection drops: the address is redialed in plaintext straight away (no second MSE attempt).
    const again = waitFor<Wire>(ta, 'wire')
    wa.destroy()
    await again
    expect(a.stats().encryption.outgoing).toEqual({ 'plaintext-fallback': 2 })
    expect(a.stats().mseFailures).toEqual(failures)
  })

  it('after MSE was dropped the address stays plaintext, even when the immediate plaintext redial is refused too', async () => {
    // As Transmission does: drops MSE, and refuses the redial that comes while it tears the first one down.
    const { a, wa, seen } = await dialThroughGate(await pool({ transport: plaintextOnly() }), (kind, n) => kind === 'plain' && n >= 2)
    expect(seen).toEqual(['mse', 'plain', 'plain']) // not MSE again on the second round
    expect(a.encryption(wa)).toBe('plaintext')
    expect(a.stats().mseFailures).toEqual({ ERR_MSE_CLOSED: 1 })
  })

  it('two plaintext dials refused in a row after an MSE failure: MSE is tried again (the peer may require it)', async () => {
    // A peer that requires encryption, whose first MSE connection failed on the way.
    const { a, wa, seen } = await dialThroughGate(await pool({ secure: 2 }), (kind, n) => kind === 'mse' && n > 0)
    expect(seen).toEqual(['mse', 'plain', 'plain', 'mse'])
    expect(a.encryption(wa)).toBe('mse-rc4')
  })

  it('secure 2 against a peer that drops MSE: no plaintext fallback, the address is given up', async () => {
    const b = await pool({ transport: plaintextOnly() })
    const a = await pool({ secure: 2, backoff: [], utp: false })
    const ta = a.addTorrent(IH, { peerId: newPeerId() })
    const tb = b.addTorrent(IH, { peerId: newPeerId() })
    let wires = 0
    tb.on('wire', () => wires++)
    const gaveUp = waitFor(ta, 'peerGivenUp')
    ta.addPeer(addr(b))
    await gaveUp
    expect(wires).toBe(0)
    expect(a.stats().encryption.outgoing).toEqual({})
    expect(Object.values(a.stats().mseFailures).reduce((x, y) => x + y, 0)).toBe(1)
    expect(ta.peer(addr(b))).toMatchObject({ state: 'idle', failures: 1 })
  })

  it('an MSE handshake that times out is retried once in plaintext (the peer sees a plaintext handshake)', async () => {
    // A listener that accepts and never answers: records how each connection started.
    const starts: Buffer[] = []
    const socks: Socket[] = []
    const mute = createServer(s => { socks.push(s); s.once('data', (c: Buffer) => starts.push(c.subarray(0, 20))) })
    await new Promise<void>(resolve => mute.listen(0, '127.0.0.1', resolve))
    cleanups.push(() => { for (const s of socks) s.destroy(); return new Promise(resolve => mute.close(resolve)) })
    const a = await pool({ handshakeTimeout: 1000, backoff: [], utp: false })
    const ta = a.addTorrent(IH, { peerId: newPeerId() })
    const gaveUp = waitFor(ta, 'peerGivenUp', 10_000)
    ta.addPeer(`127.0.0.1:${(mute.address() as { port: number }).port}`)
    await gaveUp
    expect(starts).toHaveLength(2)
    expect(starts[0].equals(PLAIN_PREFIX)).toBe(false) // Ya
    expect(starts[1].equals(PLAIN_PREFIX)).toBe(true)
    expect(a.stats().mseFailures).toEqual({ ERR_WIRE_HANDSHAKE_TIMEOUT: 1 })
  }, 15_000)

  it('the option is checked: pool (0, 1, 2) and client (also true / false, as webtorrent)', async () => {
    expect(() => new ConnectionPool({ secure: 3 as 2 })).toThrow(expect.objectContaining({ code: 'ERR_POOL_INVALID_ARGUMENT' }))
    expect(() => new WebTorrent({ ...LOCAL_ONLY, secure: 5 as 2 })).toThrow(expect.objectContaining({ code: 'ERR_CLIENT_OPTIONS' }))
    for (const [given, level] of [[undefined, 1], [true, 1], [false, 0], [2, 2]] as const) {
      const c = new WebTorrent({ ...LOCAL_ONLY, tracker: false, secure: given })
      cleanups.push(() => c.destroy())
      expect(c.pool.secure).toBe(level)
    }
  })
})
