/**
 * The per-torrent Discovery stream (issue 6 item 4) with fake sources: de-duplication and its time window,
 * address normal form, the blocklist, BEP 27 private torrents, the LSD hook, trackers, the DHT schedule, and
 * BEP 5 port messages on wires.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { Emitter } from '../src/util/emitter.js'
import { Discovery, IpBlocklist, type DiscoveryOptions, type PeerSource } from '../src/discovery/index.js'
import type { DhtLike } from '../src/dht/index.js'
import type { TrackerClient, TrackerClientOptions } from '../src/tracker/index.js'
import type { Wire } from '../src/wire/index.js'
import { sleep } from './helpers/sockets.js'

const IH = 'aa'.repeat(20)
const PID = '2d5741303031302d' + '11'.repeat(12)

class FakeDht implements DhtLike {
  port = 7777
  calls: string[] = []
  subs = new Map<string, Set<(p: { host: string, port: number }) => void>>()
  nodes: string[] = []
  fail = false
  async announce (ih: string, port: number): Promise<void> {
    this.calls.push(`announce ${ih} ${port}`)
    if (this.fail) throw new Error('No nodes to query')
  }

  async lookup (ih: string): Promise<void> {
    this.calls.push(`lookup ${ih}`)
  }

  subscribe (ih: string, fn: (p: { host: string, port: number }) => void): () => void {
    this.calls.push(`subscribe ${ih}`)
    if (!this.subs.has(ih)) this.subs.set(ih, new Set())
    this.subs.get(ih)!.add(fn)
    return () => { this.calls.push(`unsubscribe ${ih}`); this.subs.get(ih)!.delete(fn) }
  }

  addNode (host: string, port: number): void {
    this.nodes.push(`${host}:${port}`)
  }

  peer (ih: string, host: string, port: number): void {
    for (const fn of this.subs.get(ih) ?? []) fn({ host, port })
  }
}

class FakeTracker extends Emitter {
  log: string[] = []
  constructor (readonly opts: TrackerClientOptions) { super() }
  start (): void { this.log.push('start') }
  complete (): void { this.log.push('complete') }
  async stop (): Promise<void> { this.log.push('stop') }
  destroy (): void { this.log.push('destroy') }
}

const made: Discovery[] = []
afterEach(async () => { await Promise.all(made.splice(0).map(d => d.destroy())) })

function discovery (opts: Partial<DiscoveryOptions> = {}): { d: Discovery, peers: Array<[string, PeerSource]>, blocked: Array<[string, PeerSource]> } {
  const d = new Discovery({ infoHash: IH, peerId: PID, noPeersInterval: 0, ...opts })
  made.push(d)
  const peers: Array<[string, PeerSource]> = []
  const blocked: Array<[string, PeerSource]> = []
  d.on('peer', (a: string, s: PeerSource) => peers.push([a, s]))
  d.on('blockedPeer', (a: string, s: PeerSource) => blocked.push([a, s]))
  return { d, peers, blocked }
}

function fakeWire (opts: { dht: boolean, remoteAddress?: string }): Wire & Emitter & { sentPorts: number[] } {
  const w = new Emitter() as unknown as Wire & Emitter & { sentPorts: number[] }
  Object.assign(w, {
    extensions: { ut_pex: new Emitter() },
    peerExtensions: { extended: true, fast: true, dht: opts.dht },
    remoteAddress: opts.remoteAddress ?? '127.0.0.9',
    sentPorts: [] as number[]
  })
  ;(w as unknown as { port: (p: number) => void }).port = (p: number) => { w.sentPorts.push(p) }
  return w
}

describe('Discovery: one de-duplicated stream', () => {
  it('emits each address once per window, in normal form; manual offers always go through', () => {
    let now = 1_000_000
    const { d, peers } = discovery({ now: () => now, reofferAfter: 60_000 })
    expect(d.addPeer('1.2.3.4:80', 'tracker')).toBe(true)
    expect(d.addPeer({ host: '1.2.3.4', port: 80 }, 'dht')).toBe(false)
    expect(d.addPeer('[::ffff:1.2.3.4]:80', 'pex')).toBe(false) // IPv4-mapped = the same address
    expect(d.addPeer('1.2.3.4:81', 'pex')).toBe(true)
    expect(d.addPeer('[2001:DB8::1]:6881', 'lsd')).toBe(true)
    expect(d.addPeer('1.2.3.4:80', 'manual')).toBe(true) // the user asked
    now += 59_999
    expect(d.addPeer('1.2.3.4:81', 'dht')).toBe(false)
    now += 1
    expect(d.addPeer('1.2.3.4:81', 'dht')).toBe(true) // re-offered after the window (the pool may have given up)
    expect(peers).toEqual([
      ['1.2.3.4:80', 'tracker'], ['1.2.3.4:81', 'pex'], ['[2001:db8::1]:6881', 'lsd'], ['1.2.3.4:80', 'manual'], ['1.2.3.4:81', 'dht']
    ])
    const st = d.stats()
    expect(st.offered).toEqual({ manual: 1, tracker: 1, dht: 1, pex: 1, lsd: 1 })
    expect(st.repeats).toBe(3)
  })

  it('invalid addresses are invalidPeer; forget() lets an address through again', () => {
    const { d, peers } = discovery()
    const invalid: unknown[] = []
    d.on('invalidPeer', (a: unknown) => invalid.push(a))
    for (const bad of ['nope', '1.2.3.4:0', '1.2.3.4:70000', '0.0.0.0:80', '300.1.1.1:80', '', { host: 1, port: 2 }]) {
      expect(d.addPeer(bad as string, 'tracker')).toBe(false)
    }
    expect(invalid).toHaveLength(7)
    expect(d.addPeer('5.5.5.5:1', 'dht')).toBe(true)
    expect(d.addPeer('5.5.5.5:1', 'dht')).toBe(false)
    d.forget('5.5.5.5:1')
    expect(d.addPeer('5.5.5.5:1', 'dht')).toBe(true)
    expect(peers).toHaveLength(2)
  })

  it('remembers at most maxRemembered addresses (oldest forgotten first)', () => {
    const { d } = discovery({ maxRemembered: 3 })
    for (let i = 1; i <= 4; i++) expect(d.addPeer(`9.9.9.${i}:1`, 'dht')).toBe(true)
    expect(d.addPeer('9.9.9.1:1', 'dht')).toBe(true) // evicted, so new again
    expect(d.addPeer('9.9.9.4:1', 'dht')).toBe(false)
  })

  it('the blocklist: blocked addresses are never emitted; blockedPeer once per window (manual: always) with the source', () => {
    const bl = IpBlocklist.parse(['10.0.0.0/8', '2001:db8::/32'])
    const { d, peers, blocked } = discovery({ blocklist: ip => bl.contains(ip) })
    expect(d.addPeer('10.1.2.3:6881', 'tracker')).toBe(false)
    expect(d.addPeer('10.1.2.3:6881', 'dht')).toBe(false)
    expect(d.addPeer('[::ffff:10.9.9.9]:1', 'pex')).toBe(false)
    expect(d.addPeer('[2001:db8::5]:1', 'lsd')).toBe(false)
    expect(d.addPeer('10.1.2.3:6881', 'manual')).toBe(false) // manual peers are filtered too
    expect(d.addPeer('11.0.0.1:6881', 'tracker')).toBe(true)
    expect(d.addPeer('host.example:6881', 'manual')).toBe(true) // names are checked by the pool after resolving
    expect(peers).toEqual([['11.0.0.1:6881', 'tracker'], ['host.example:6881', 'manual']])
    // Repeats within the window are silent, except manual ones (the user asked, and is told why not).
    expect(blocked).toEqual([['10.1.2.3:6881', 'tracker'], ['10.9.9.9:1', 'pex'], ['[2001:db8::5]:1', 'lsd'], ['10.1.2.3:6881', 'manual']])
    expect(d.stats().blocked).toBe(4) // the dht repeat within the window counts as a repeat
    const throwing = discovery({ blocklist: () => { throw new Error('boom') } })
    expect(throwing.d.addPeer('1.1.1.1:1', 'dht')).toBe(true) // a broken predicate blocks nothing (as the pool)
  })

  it('addSource: an LSD-style emitter feeds the stream until detached', () => {
    const { d, peers } = discovery()
    const lsd = new Emitter()
    const off = d.addSource('lsd', lsd)
    lsd.emit('peer', { host: '192.0.2.1', port: 6881 })
    lsd.emit('peer', '192.0.2.2:6881')
    off()
    lsd.emit('peer', '192.0.2.3:6881')
    expect(peers).toEqual([['192.0.2.1:6881', 'lsd'], ['192.0.2.2:6881', 'lsd']])
  })

  it('after destroy() nothing is emitted', async () => {
    const { d, peers } = discovery()
    await d.destroy()
    expect(d.addPeer('1.1.1.1:1', 'manual')).toBe(false)
    expect(peers).toEqual([])
  })
})

describe('Discovery: private torrents (BEP 27)', () => {
  it('only tracker and manual peers; the DHT is never asked; no port messages', async () => {
    const dht = new FakeDht()
    const { d, peers } = discovery({ private: true, dht, dhtLookupBackoff: [5] })
    d.start(6881)
    expect(d.addPeer('1.1.1.1:1', 'dht')).toBe(false)
    expect(d.addPeer('1.1.1.2:1', 'pex')).toBe(false)
    expect(d.addPeer('1.1.1.3:1', 'lsd')).toBe(false)
    expect(d.addPeer('1.1.1.4:1', 'tracker')).toBe(true)
    expect(d.addPeer('1.1.1.5:1', 'manual')).toBe(true)
    const w = fakeWire({ dht: true })
    d.addWire(w)
    ;(w.extensions.ut_pex as unknown as Emitter).emit('peer', { host: '1.1.1.6', port: 1 })
    w.emit('port', 9999)
    d.lookup()
    await sleep(30)
    expect(dht.calls).toEqual([])
    expect(dht.nodes).toEqual([])
    expect(w.sentPorts).toEqual([])
    expect(peers.map(p => p[1])).toEqual(['tracker', 'manual'])
    expect(d.stats().refused).toBe(4)
  })

  it('a magnet that turns out private stops using the DHT', async () => {
    const dht = new FakeDht()
    const { d } = discovery({ dht, dhtLookupBackoff: [5] })
    d.start(6881)
    await sleep(20)
    expect(dht.calls.slice(0, 2)).toEqual([`subscribe ${IH}`, `announce ${IH} 6881`])
    d.setPrivate(true)
    const n = dht.calls.length
    expect(dht.calls[n - 1]).toBe(`unsubscribe ${IH}`)
    await sleep(30)
    expect(dht.calls.length).toBe(n)
    expect(d.addPeer('1.1.1.1:1', 'dht')).toBe(false)
  })
})

describe('Discovery: sources', () => {
  it('DHT: subscribe + announce with our port at start, dhtAnnounce, peers as dht, re-announce on schedule, lookups while wanting peers', async () => {
    const dht = new FakeDht()
    let want = true
    const { d, peers } = discovery({ dht, dhtAnnounceInterval: 60, dhtLookupBackoff: [10, 1000], wantPeers: () => want })
    let announces = 0
    d.on('dhtAnnounce', () => announces++)
    d.start(6881)
    await sleep(1)
    dht.peer(IH, '7.7.7.7', 7)
    dht.peer('bb'.repeat(20), '203.0.113.8', 8) // another torrent's peer
    expect(peers).toEqual([['7.7.7.7:7', 'dht']])
    await sleep(40)
    expect(dht.calls).toContain(`lookup ${IH}`) // first lookup after 10 ms
    const lookups = dht.calls.filter(c => c.startsWith('lookup')).length
    expect(lookups).toBe(1) // the next one waits 1000 ms
    await sleep(120)
    expect(dht.calls.filter(c => c.startsWith('announce')).length).toBeGreaterThanOrEqual(2) // every 60-72 ms
    expect(announces).toBeGreaterThanOrEqual(2)
    want = false
    const d2 = discovery({ dht: new FakeDht(), dhtLookupBackoff: [5], wantPeers: () => false })
    d2.d.start(1)
    await sleep(40)
    expect((d2.d as unknown as { dht: FakeDht }).dht.calls.filter(c => c.startsWith('lookup'))).toEqual([])
  })

  it('DHT failures are warnings; port 0 means lookups only', async () => {
    const dht = new FakeDht()
    dht.fail = true
    const { d } = discovery({ dht })
    const warnings: Error[] = []
    d.on('warning', (e: Error) => warnings.push(e))
    d.start(6881)
    await sleep(10)
    expect((warnings[0] as Error & { code: string }).code).toBe('ERR_DHT_ANNOUNCE')
    const dht2 = new FakeDht()
    discovery({ dht: dht2 }).d.start(0)
    await sleep(10)
    expect(dht2.calls).toEqual([`subscribe ${IH}`, `lookup ${IH}`])
  })

  it('trackers: the list given at start, peers as tracker, trackerAnnounce, complete, stop on destroy', async () => {
    let tracker: FakeTracker | null = null
    const { d, peers } = discovery({
      tracker: () => ({ announce: ['udp://127.0.0.1:1/announce'] }),
      createTracker: o => (tracker = new FakeTracker(o)) as unknown as TrackerClient
    })
    const updates: unknown[] = []
    d.on('trackerAnnounce', (u: unknown) => updates.push(u))
    d.start(6881)
    expect(tracker!.opts).toMatchObject({ infoHash: IH, peerId: PID, port: 6881, announce: ['udp://127.0.0.1:1/announce'] })
    tracker!.emit('peer', { host: '3.3.3.3', port: 3, announce: 'x' })
    tracker!.emit('update', { announce: 'x', interval: 1800 })
    d.complete()
    await d.destroy()
    expect(peers).toEqual([['3.3.3.3:3', 'tracker']])
    expect(updates).toHaveLength(1)
    expect(tracker!.log).toEqual(['start', 'complete', 'stop', 'destroy'])
    // No trackers without a port or an announce list.
    let made2 = 0
    discovery({ tracker: { announce: [] }, createTracker: () => { made2++; return new FakeTracker({} as TrackerClientOptions) as unknown as TrackerClient } }).d.start(1)
    discovery({ tracker: { announce: ['udp://127.0.0.1:1'] }, createTracker: () => { made2++; return new FakeTracker({} as TrackerClientOptions) as unknown as TrackerClient } }).d.start(0)
    expect(made2).toBe(0)
  })

  it('wires: ut_pex peers as pex; BEP 5 port messages both ways when the peer has the DHT bit', async () => {
    const dht = new FakeDht()
    const { d, peers } = discovery({ dht })
    const w = fakeWire({ dht: true, remoteAddress: '127.0.0.5' })
    d.addWire(w)
    expect(w.sentPorts).toEqual([7777])
    w.emit('port', 4242)
    expect(dht.nodes).toEqual(['127.0.0.5:4242'])
    ;(w.extensions.ut_pex as unknown as Emitter).emit('peer', { host: '6.6.6.6', port: 6 })
    expect(peers).toEqual([['6.6.6.6:6', 'pex']])
    const noBit = fakeWire({ dht: false })
    d.addWire(noBit)
    expect(noBit.sentPorts).toEqual([])
    // Our DHT still binding: the port message goes out once it listens.
    const late = new FakeDht()
    late.port = 0
    let listen!: (p: number) => void
    ;(late as DhtLike).whenListening = () => new Promise<number>(resolve => { listen = resolve })
    const w3 = fakeWire({ dht: true })
    discovery({ dht: late }).d.addWire(w3)
    expect(w3.sentPorts).toEqual([])
    listen(5151)
    await sleep(1)
    expect(w3.sentPorts).toEqual([5151])
    const noDht = discovery()
    const w2 = fakeWire({ dht: true })
    noDht.d.addWire(w2)
    w2.emit('port', 1)
    expect(w2.sentPorts).toEqual([])
  })

  it('noPeers(source) for active sources that gave nothing', async () => {
    const dht = new FakeDht()
    const { d } = discovery({ dht, noPeersInterval: 15 })
    const seen: string[] = []
    d.on('noPeers', (s: string) => seen.push(s))
    d.start(1)
    await sleep(40)
    expect(seen.length).toBeGreaterThan(0)
    expect(new Set(seen)).toEqual(new Set(['dht']))
    dht.peer(IH, '1.2.3.4', 5)
    const n = seen.length
    await sleep(40)
    expect(seen.length).toBe(n)
  })
})
