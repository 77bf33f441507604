/**
 * LSD (BEP 14) over a real network: three namespaces on a bridge (in a fourth), each with its own stack.
 *   a 10.214.0.1  — Lsd driver (default rate limits) and a second Lsd with short intervals ("a2")
 *   b 10.214.0.2  — Lsd driver
 *   c 10.214.0.3 (+ 10.215.0.3, off-link for a and b) — a raw multicast listener/injector that counts packets
 * No tracker, no multicast route (Lsd joins and sends by interface address), TTL 1.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { spawn } from 'node:child_process'
import { execFileSync } from 'node:child_process'
import { Lab, netnsSupported, sweepStaleLabs, type Driver, type DriverMessage } from './helpers/netns.js'
import { needs } from './helpers/system.js'
import { parseLsdMessage, formatLsdMessage, LSD_GROUP_V4, LSD_PORT } from '../src/lsd/index.js'

const ok = needs('root + ip netns (network namespaces)', netnsSupported())

const X = 'aa'.repeat(20)
const enc = (s: string | Uint8Array): string => Buffer.from(typeof s === 'string' ? Buffer.from(s, 'latin1') : s).toString('base64')
const sleep = (ms: number): Promise<void> => new Promise(resolve => setTimeout(resolve, ms))
const hash = (n: number): string => n.toString(16).padStart(2, '0').repeat(20)

describe.skipIf(!ok)('LSD between network namespaces', () => {
  const lab = new Lab()
  let a: Driver, a2: Driver, b: Driver, c: Driver
  const A = '10.214.0.1'
  const B = '10.214.0.2'
  const C = '10.214.0.3'

  /** Packets c received from `from`, parsed, with arrival times. */
  const packetsAt = (from: string, since = 0): Array<{ at: number, msg: ReturnType<typeof parseLsdMessage> }> =>
    c.messages.filter(m => m.event === 'packet' && m.from === from && m.at >= since)
      .map(m => ({ at: m.at as number, msg: parseLsdMessage(Buffer.from(m.data, 'base64')) }))
  const stats = async (d: Driver): Promise<Record<string, number>> => (await d.request({ cmd: 'stats' })).stats
  const inject = (data: string, source?: string): Promise<DriverMessage> => c.request({ cmd: 'send', data, source })

  beforeAll(async () => {
    const sw = await lab.ns('sw')
    const nsA = await lab.ns('a')
    const nsB = await lab.ns('b')
    const nsC = await lab.ns('c')
    await lab.veth({ ns: nsA, ifname: 'eth0', addr: `${A}/24` }, { ns: sw, ifname: 'pa' })
    await lab.veth({ ns: nsB, ifname: 'eth0', addr: `${B}/24` }, { ns: sw, ifname: 'pb' })
    await lab.veth({ ns: nsC, ifname: 'eth0', addr: `${C}/24` }, { ns: sw, ifname: 'pc' })
    await lab.ip(['-n', nsC, 'addr', 'add', '10.215.0.3/24', 'dev', 'eth0'])
    await lab.bridge(sw, 'br0', ['pa', 'pb', 'pc'])
    for (const ns of [nsA, nsB, nsC]) await lab.waitUp(ns, ['eth0'])
    c = lab.node(nsC, 'mcast-tool.ts', [JSON.stringify({ group: LSD_GROUP_V4, port: LSD_PORT, iface: C })])
    a = lab.node(nsA, 'lsd-driver.ts', ['{}'])
    b = lab.node(nsB, 'lsd-driver.ts', ['{}'])
    a2 = lab.node(nsA, 'lsd-driver.ts', [JSON.stringify({ interval: 1500, minTorrentInterval: 1000, minSendInterval: 200 })])
    await Promise.all([c.next(m => m.event === 'ready', 20_000), ...[a, b, a2].map(d => d.next(m => m.event === 'listening', 20_000))])
  }, 60_000)

  afterAll(async () => {
    await lab.destroy()
    expect(lab.remaining()).toEqual([])
  })

  it('two clients announcing the same torrent learn each other\'s address and port (no tracker)', async () => {
    await a.request({ cmd: 'announce', infoHash: X, port: 6881 })
    await b.request({ cmd: 'announce', infoHash: X, port: 6882 })
    const pa = await a.next(m => m.event === 'peer' && m.infoHash === X)
    const pb = await b.next(m => m.event === 'peer' && m.infoHash === X)
    expect(pa).toMatchObject({ host: B, port: 6882, infoHash: X })
    expect(pb).toMatchObject({ host: A, port: 6881, infoHash: X })
    // What went over the wire: one BEP 14 announce from each, with a cookie, one info-hash.
    // c reports packets as its driver reads them: under load A's may be reported after B's.
    await c.next(m => m.event === 'packet' && m.from === B)
    await c.next(m => m.event === 'packet' && m.from === A)
    const fromA = packetsAt(A).map(p => p.msg).filter(m => m?.infoHashes[0] === X)
    expect(fromA).toHaveLength(1)
    expect(fromA[0]).toMatchObject({ port: 6881, infoHashes: [X], host: `${LSD_GROUP_V4}:${LSD_PORT}` })
    expect(fromA[0]?.cookie).toMatch(/^[0-9a-f]{8}$/)
  })

  it('ignores its own announces (looped back, matched by cookie)', async () => {
    const s = await stats(a)
    expect(s.ownIgnored).toBeGreaterThanOrEqual(1)
    expect(a.messages.some(m => m.event === 'peer' && m.host === A)).toBe(false)
    expect(b.messages.some(m => m.event === 'peer' && m.host === B)).toBe(false)
  })

  it('rate limits: one announce per torrent per minute, one packet per second overall', async () => {
    const t0 = Date.now()
    // 20 more announce() calls for X, announced moments ago: coalesced, nothing sent.
    await a.request({ cmd: 'announce', infoHash: X, port: 6881, times: 20 })
    // Four new torrents at once: sent one per second, each once.
    const ys = [1, 2, 3, 4].map(hash)
    for (const y of ys) await a.request({ cmd: 'announce', infoHash: y, port: 6881 })
    await sleep(4500)
    const sent = packetsAt(A, t0)
    expect(sent.filter(p => p.msg?.infoHashes[0] === X)).toHaveLength(0)
    expect(sent.map(p => p.msg?.infoHashes[0]).sort()).toEqual(ys)
    for (let i = 1; i < sent.length; i++) expect(sent[i].at - sent[i - 1].at).toBeGreaterThanOrEqual(900)
    expect((await stats(a)).rateLimited).toBeGreaterThanOrEqual(20)
  })

  it('re-announces every interval, never faster than the per-torrent limit (short intervals)', async () => {
    const Z = hash(0x21)
    const t0 = Date.now()
    await a2.request({ cmd: 'announce', infoHash: Z, port: 7001 })
    await sleep(1000)
    await a2.request({ cmd: 'announce', infoHash: Z, port: 7001, times: 10 }) // coalesced (sent < 1 s ago)
    await sleep(3200)
    const zs = packetsAt(A, t0).filter(p => p.msg?.infoHashes[0] === Z)
    // interval 1.5 s: sent at ~0, ~1.5 (the coalesced re-announce waits for its slot), ~3, maybe ~4.5 s.
    expect(zs.length).toBeGreaterThanOrEqual(3)
    expect(zs.length).toBeLessThanOrEqual(4)
    for (let i = 1; i < zs.length; i++) expect(zs[i].at - zs[i - 1].at).toBeGreaterThanOrEqual(950)
  })

  it('a torrent that turns out private is no longer announced; a private one is refused', async () => {
    const P = hash(0x31)
    await expect(a.request({ cmd: 'announce', infoHash: hash(0x32), port: 6881, private: true })).rejects.toThrow(/private/)
    await a2.request({ cmd: 'announce', infoHash: P, port: 7001 })
    await c.next(m => m.event === 'packet' && m.from === A && parseLsdMessage(Buffer.from(m.data, 'base64'))?.infoHashes[0] === P)
    await a2.request({ cmd: 'setPrivate', infoHash: P, private: true })
    await a2.next(m => m.event === 'warning' && m.code === 'ERR_LSD_PRIVATE')
    // c stamps packets when it reads them: one sent just before the switch may be read a little after it.
    await sleep(300)
    const t1 = Date.now()
    await sleep(2000)
    expect(packetsAt(A, t1).filter(p => [P, hash(0x32)].includes(p.msg?.infoHashes[0] ?? ''))).toHaveLength(0)
    await a2.request({ cmd: 'remove', infoHash: hash(0x21) })
  })

  it('malformed packets are ignored and counted; the socket keeps working', async () => {
    const before = await stats(a)
    const bad = [
      enc(new Uint8Array([0, 1, 2, 3, 255, 254])),
      enc(`M-SEARCH * HTTP/1.1\r\nPort: 1\r\nInfohash: ${X}\r\n\r\n`),
      enc(`BT-SEARCH * HTTP/1.1\r\nPort: 99999\r\nInfohash: ${X}\r\n\r\n`),
      enc(`BT-SEARCH * HTTP/1.1\r\nPort: 7000\r\nPort: 7001\r\nInfohash: ${X}\r\n\r\n`),
      enc('BT-SEARCH * HTTP/1.1\r\nPort: 7000\r\nInfohash: nothex\r\n\r\n'),
      enc(`BT-SEARCH * HTTP/1.1\r\nPort: 7000\r\nInfohash: ${X}\r\n`), // no blank line
      enc(`BT-SEARCH * HTTP/1.1\r\nPort: 7000\r\nInfohash: ${X}\r\nX-Pad: ${'p'.repeat(2000)}\r\n\r\n`), // > 1500 bytes
      enc(`BT-SEARCH * HTTP/1.1\r\nPort: 7000\r\nInfohash: ${X}\r\nBroken header line\r\n\r\n`),
      enc(`BT-SEARCH * HTTP/1.1\r\nP\u00f6rt: 7000\r\nInfohash: ${X}\r\n\r\n`) // not ASCII
    ]
    for (const d of bad) await inject(d)
    await sleep(500)
    const after = await stats(a)
    expect(after.invalid - before.invalid).toBe(bad.length)
    expect(a.messages.some(m => m.event === 'peer' && m.host === C)).toBe(false)
    await inject(enc(formatLsdMessage({ port: 7000, infoHashes: [X], cookie: 'c0ffee' })))
    expect(await a.next(m => m.event === 'peer' && m.host === C)).toMatchObject({ host: C, port: 7000, infoHash: X })
    expect(await b.next(m => m.event === 'peer' && m.host === C)).toMatchObject({ host: C, port: 7000, infoHash: X })
  })

  it('announces carrying our cookie, from off-link addresses, or for unknown torrents give no peer', async () => {
    const cookieA = (await a.next(m => m.event === 'listening')).cookie as string
    const before = await stats(a)
    const peersBefore = a.messages.filter(m => m.event === 'peer').length
    await inject(enc(formatLsdMessage({ port: 7100, infoHashes: [X], cookie: cookieA }))) // spoofed "own" announce
    await inject(enc(formatLsdMessage({ port: 7101, infoHashes: [X], cookie: 'beef' })), '10.215.0.3') // off-link source
    const W = hash(0x41)
    await inject(enc(formatLsdMessage({ port: 7102, infoHashes: [W], cookie: 'beef' }))) // not a torrent of ours (yet)
    await sleep(500)
    const after = await stats(a)
    // At least the spoofed one; A's own announces, looped back by multicast, are counted here too.
    expect(after.ownIgnored - before.ownIgnored).toBeGreaterThanOrEqual(1)
    expect(after.offLink - before.offLink).toBe(1)
    expect(after.unknown - before.unknown).toBe(1)
    expect(a.messages.filter(m => m.event === 'peer').length).toBe(peersBefore)
    // Announcing W now reports the peer heard for it a moment ago, without waiting for its next announce.
    await a.request({ cmd: 'announce', infoHash: W, port: 6881 })
    expect(await a.next(m => m.event === 'peer' && m.infoHash === W)).toMatchObject({ host: C, port: 7102 })
  })

  it('destroy() closes the socket and the driver exits', async () => {
    await b.request({ cmd: 'destroy' }).catch(() => {})
    expect(await b.exited).toBe(0)
  })
})

describe.skipIf(!ok)('netns helper teardown', () => {
  it('destroy() kills processes and removes namespaces; a crashed run\'s lab is swept', async () => {
    const lab = new Lab()
    const ns = await lab.ns('x')
    const p = lab.spawn(ns, 'sleep', ['600'])
    await sleep(200)
    expect(p.running).toBe(true)
    await lab.destroy()
    expect(p.running).toBe(false)
    expect(lab.remaining()).toEqual([])

    // A namespace left by a process that is gone (simulated: the pid of a finished child), with a process in it.
    const dead = spawn('true')
    await new Promise(resolve => dead.once('exit', resolve))
    const stale = `wtns-${dead.pid}-1-stale`
    execFileSync('ip', ['netns', 'add', stale])
    const orphan = spawn('ip', ['netns', 'exec', stale, 'sleep', '600'], { stdio: 'ignore', detached: true })
    await sleep(200)
    expect(sweepStaleLabs()).toContain(stale)
    expect(execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })).not.toContain(stale)
    await new Promise(resolve => orphan.exitCode !== null || orphan.signalCode !== null ? resolve(null) : orphan.once('exit', resolve))
  })
})
