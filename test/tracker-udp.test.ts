/** UDP tracker client (BEP 15) against a crafted UDP tracker on 127.0.0.1 / ::1, with a fake clock for timeouts. */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram'
import { afterEach, describe, expect, it } from 'vitest'
import { encodeCompactPeers, UdpTrackerSocket, type AnnounceRequest, type Timers, TrackerError } from '../src/tracker/index.js'

const IH = Uint8Array.from({ length: 20 }, (_, i) => i + 1)
const IH2 = new Uint8Array(20).fill(0xee)
const PID = new TextEncoder().encode('-WW0001-udpudpudpudp')
const REQ: AnnounceRequest = { infoHash: IH, peerId: PID, port: 7001, uploaded: 5, downloaded: 6, left: null, numwant: 50, key: 0xdeadbeef, event: 'started' }

/** Timers on a fake clock: nothing fires until advance(). */
class FakeTimers implements Timers {
  t = 1_000_000
  private seq = 0
  private q: Array<{ at: number, id: number, fn: () => void, ms: number }> = []
  now (): number { return this.t }
  setTimeout (fn: () => void, ms: number): unknown {
    const id = ++this.seq
    this.q.push({ at: this.t + ms, id, fn, ms })
    return id
  }

  clearTimeout (h: unknown): void { this.q = this.q.filter(x => x.id !== h) }
  /** Delays (ms, as requested) of the timers still pending. */
  get pending (): number[] { return this.q.map(x => x.ms) }
  async advance (ms: number): Promise<void> {
    const end = this.t + ms
    for (;;) {
      this.q.sort((a, b) => a.at - b.at)
      const next = this.q[0]
      if (next === undefined || next.at > end) break
      this.q.shift()
      this.t = next.at
      next.fn()
      await settle()
    }
    this.t = end
    await settle()
  }
}

/** Lets I/O and promise chains run. */
const settle = async (): Promise<void> => { for (let i = 0; i < 5; i++) await new Promise(resolve => setTimeout(resolve, 5)) }

interface Packet { action: number, tid: number, connId: bigint, buf: Buffer, from: RemoteInfo }

/** A scriptable UDP tracker: `onPacket` returns the datagrams to answer with. */
class CraftedTracker {
  readonly sock: Socket
  readonly packets: Packet[] = []
  connId = 0x1122334455667788n
  onPacket: (p: Packet) => Buffer[] = p => this.defaultAnswer(p)
  peers = encodeCompactPeers([{ host: '10.0.0.1', port: 6881 }, { host: '10.0.0.2', port: 6882 }])

  private constructor (sock: Socket) { this.sock = sock }

  static async start (host = '127.0.0.1'): Promise<CraftedTracker> {
    const sock = createSocket(host.includes(':') ? 'udp6' : 'udp4')
    await new Promise<void>(resolve => sock.bind(0, host, resolve))
    const t = new CraftedTracker(sock)
    sock.on('message', (buf, from) => {
      const p: Packet = { connId: buf.readBigUInt64BE(0), action: buf.readUInt32BE(8), tid: buf.readUInt32BE(12), buf, from }
      t.packets.push(p)
      for (const out of t.onPacket(p)) sock.send(out, from.port, from.address)
    })
    return t
  }

  get port (): number { return this.sock.address().port }
  get actions (): number[] { return this.packets.map(p => p.action) }

  defaultAnswer (p: Packet): Buffer[] {
    if (p.action === 0) return [connectReply(p.tid, this.connId)]
    if (p.action === 1) {
      const b = Buffer.alloc(20)
      b.writeUInt32BE(1, 0); b.writeUInt32BE(p.tid, 4); b.writeUInt32BE(1800, 8); b.writeUInt32BE(3, 12); b.writeUInt32BE(4, 16)
      return [Buffer.concat([b, this.peers])]
    }
    if (p.action === 2) {
      const n = (p.buf.length - 16) / 20
      const b = Buffer.alloc(8 + 12 * n)
      b.writeUInt32BE(2, 0); b.writeUInt32BE(p.tid, 4)
      for (let i = 0; i < n; i++) { b.writeUInt32BE(10 + i, 8 + 12 * i); b.writeUInt32BE(20 + i, 12 + 12 * i); b.writeUInt32BE(30 + i, 16 + 12 * i) }
      return [b]
    }
    return []
  }

  close (): void { this.sock.close() }
}

function connectReply (tid: number, connId: bigint): Buffer {
  const b = Buffer.alloc(16)
  b.writeUInt32BE(0, 0); b.writeUInt32BE(tid, 4); b.writeBigUInt64BE(connId, 8)
  return b
}

const cleanup: Array<() => void> = []
afterEach(() => { for (const f of cleanup.splice(0)) f() })

async function setup (opts: { host?: string, timers?: Timers, maxRetransmits?: number } = {}): Promise<{ tracker: CraftedTracker, udp: UdpTrackerSocket, url: string }> {
  const tracker = await CraftedTracker.start(opts.host)
  const udp = new UdpTrackerSocket({ timers: opts.timers, maxRetransmits: opts.maxRetransmits })
  cleanup.push(() => { udp.close(); tracker.close() })
  const host = opts.host?.includes(':') === true ? `[${opts.host}]` : opts.host ?? '127.0.0.1'
  return { tracker, udp, url: `udp://${host}:${tracker.port}/announce` }
}

async function rejection (p: Promise<unknown>): Promise<TrackerError> {
  try { await p } catch (e) { return e as TrackerError }
  throw new Error('did not reject')
}

describe('UDP tracker client (BEP 15)', () => {
  it('connects, announces with the BEP 15 layout, and parses the answer', async () => {
    const { tracker, udp, url } = await setup()
    const r = await udp.announce(url, REQ)
    expect(r).toEqual({ interval: 1800, incomplete: 3, complete: 4, peers: [{ host: '10.0.0.1', port: 6881 }, { host: '10.0.0.2', port: 6882 }] })
    expect(tracker.actions).toEqual([0, 1])
    const c = tracker.packets[0]
    expect(c.buf.length).toBe(16)
    expect(c.connId).toBe(0x41727101980n)
    const a = tracker.packets[1].buf
    expect(a.length).toBe(98)
    expect(a.readBigUInt64BE(0)).toBe(tracker.connId)
    expect(a.subarray(16, 36)).toEqual(Buffer.from(IH))
    expect(a.subarray(36, 56)).toEqual(Buffer.from(PID))
    expect([a.readBigUInt64BE(56), a.readBigUInt64BE(64), a.readBigUInt64BE(72)]).toEqual([6n, 16384n, 5n]) // downloaded, left (unknown), uploaded
    expect([a.readUInt32BE(80), a.readUInt32BE(84), a.readUInt32BE(88), a.readInt32BE(92), a.readUInt16BE(96)]).toEqual([2, 0, 0xdeadbeef, 50, 7001])
    expect(tracker.packets[0].tid).not.toBe(tracker.packets[1].tid)
  })

  it('maps events and sends numwant 0 with stopped', async () => {
    const { tracker, udp, url } = await setup()
    await udp.announce(url, { ...REQ, event: 'completed', left: 0 })
    await udp.announce(url, { ...REQ, event: 'stopped' })
    await udp.announce(url, { ...REQ, event: undefined })
    const ann = tracker.packets.filter(p => p.action === 1).map(p => [p.buf.readUInt32BE(80), p.buf.readInt32BE(92)])
    expect(ann).toEqual([[1, 50], [3, 0], [0, 50]])
  })

  it('reuses the connection id for 60 s, then connects again', async () => {
    const timers = new FakeTimers()
    const { tracker, udp, url } = await setup({ timers })
    await udp.announce(url, REQ)
    await udp.announce(url, REQ)
    timers.t += 59_000
    await udp.scrape(url, [IH])
    expect(tracker.actions).toEqual([0, 1, 1, 2])
    timers.t += 1_000
    tracker.connId = 0x0102030405060708n
    await udp.announce(url, REQ)
    expect(tracker.actions).toEqual([0, 1, 1, 2, 0, 1])
    expect(tracker.packets[5].connId).toBe(0x0102030405060708n)
  })

  it('retransmits after 15·2^n s and renews an expired connection id in between', async () => {
    const timers = new FakeTimers()
    const { tracker, udp, url } = await setup({ timers, maxRetransmits: 3 })
    tracker.onPacket = p => p.action === 0 ? [connectReply(p.tid, tracker.connId)] : [] // announces vanish
    let result: TrackerError | undefined
    udp.announce(url, REQ).catch(e => { result = e })
    await settle()
    expect(tracker.actions).toEqual([0, 1])
    expect(timers.pending).toEqual([15_000])
    await timers.advance(15_000)
    expect(tracker.actions).toEqual([0, 1, 1])
    expect(timers.pending).toEqual([30_000])
    await timers.advance(30_000) // t = 45 s: the id (from t = 0) is still fresh
    expect(tracker.actions).toEqual([0, 1, 1, 1])
    expect(timers.pending).toEqual([60_000])
    await timers.advance(60_000) // t = 105 s: expired, connect first
    expect(tracker.actions).toEqual([0, 1, 1, 1, 0, 1])
    expect(timers.pending).toEqual([120_000])
    expect(result).toBeUndefined()
    await timers.advance(120_000)
    expect(result?.code).toBe('ERR_TRACKER_TIMEOUT')
    expect(udp.pendingCount).toBe(0)
  })

  it('has BEP 15 defaults: n up to 8', async () => {
    const timers = new FakeTimers()
    const { tracker, udp, url } = await setup({ timers })
    tracker.onPacket = () => []
    let result: TrackerError | undefined
    udp.announce(url, REQ).catch(e => { result = e })
    await settle()
    const delays: number[] = []
    for (let n = 0; n <= 8; n++) {
      delays.push(...timers.pending)
      await timers.advance(timers.pending[0])
    }
    expect(delays).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8].map(n => 15_000 * 2 ** n))
    expect(result?.code).toBe('ERR_TRACKER_TIMEOUT')
    expect(tracker.actions).toEqual(new Array(9).fill(0)) // never connected: only connects were sent
  })

  it('ignores answers with a wrong transaction id, wrong action, short length or wrong source', async () => {
    const { tracker, udp, url } = await setup()
    const spoofer = createSocket('udp4')
    await new Promise<void>(resolve => spoofer.bind(0, '127.0.0.1', resolve))
    cleanup.push(() => spoofer.close())
    tracker.onPacket = p => {
      if (p.action !== 1) return tracker.defaultAnswer(p)
      const good = tracker.defaultAnswer(p)[0]
      const wrongTid = Buffer.from(good); wrongTid.writeUInt32BE((p.tid + 1) >>> 0, 4); wrongTid.writeUInt32BE(999, 8)
      const short = Buffer.from(good.subarray(0, 19))
      const wrongAction = connectReply(p.tid, 5n)
      const spoofed = Buffer.from(good); spoofed.writeUInt32BE(666, 8)
      spoofer.send(spoofed, p.from.port, p.from.address)
      return [wrongTid, short, wrongAction]
    }
    let done = false
    const pending = udp.announce(url, REQ).then(r => { done = true; return r })
    await settle()
    expect(done).toBe(false)
    // now the real answer
    tracker.onPacket = p => tracker.defaultAnswer(p)
    const last = tracker.packets.at(-1)!
    tracker.sock.send(tracker.defaultAnswer(last)[0], last.from.port, last.from.address)
    const r = await pending
    expect(r.interval).toBe(1800)
  })

  it('turns an error packet into ERR_TRACKER_FAILURE and drops the connection id', async () => {
    const { tracker, udp, url } = await setup()
    tracker.onPacket = p => {
      if (p.action !== 1) return tracker.defaultAnswer(p)
      const b = Buffer.alloc(8); b.writeUInt32BE(3, 0); b.writeUInt32BE(p.tid, 4)
      return [Buffer.concat([b, Buffer.from('info_hash not whitelisted')])]
    }
    const e = await rejection(udp.announce(url, REQ))
    expect(e.code).toBe('ERR_TRACKER_FAILURE')
    expect(e.message).toBe('info_hash not whitelisted')
    expect(e.announce).toBe(url)
    tracker.onPacket = p => tracker.defaultAnswer(p)
    await udp.announce(url, REQ)
    expect(tracker.actions).toEqual([0, 1, 0, 1])
  })

  it('shares one connect between concurrent requests to a tracker', async () => {
    const { tracker, udp, url } = await setup()
    await Promise.all([udp.announce(url, REQ), udp.announce(url, { ...REQ, infoHash: IH2 }), udp.scrape(url, [IH])])
    expect(tracker.actions.sort()).toEqual([0, 1, 1, 2])
  })

  it('scrapes several info-hashes and tolerates a short answer', async () => {
    const { tracker, udp, url } = await setup()
    const r = await udp.scrape(url, [IH, IH2])
    expect(r).toEqual([
      { infoHash: Buffer.from(IH).toString('hex'), complete: 10, downloaded: 20, incomplete: 30 },
      { infoHash: Buffer.from(IH2).toString('hex'), complete: 11, downloaded: 21, incomplete: 31 }
    ])
    const s = tracker.packets.at(-1)!.buf
    expect(s.length).toBe(16 + 40)
    tracker.onPacket = p => p.action === 2 ? [tracker.defaultAnswer(p)[0].subarray(0, 8 + 12 + 5)] : tracker.defaultAnswer(p)
    expect(await udp.scrape(url, [IH, IH2])).toHaveLength(1)
  })

  it('splits scrapes of more than 74 info-hashes', async () => {
    const { tracker, udp, url } = await setup()
    const many = Array.from({ length: 80 }, (_, i) => new Uint8Array(20).fill(i))
    const r = await udp.scrape(url, many)
    expect(r).toHaveLength(80)
    expect(tracker.packets.filter(p => p.action === 2).map(p => (p.buf.length - 16) / 20)).toEqual([74, 6])
  })

  it('sends the URL path and query as BEP 41 URLData', async () => {
    const { tracker, udp, url } = await setup()
    await udp.announce(url.replace('/announce', '/announce?passkey=s3cret'), REQ)
    const a = tracker.packets.find(p => p.action === 1)!.buf
    const data = '/announce?passkey=s3cret'
    expect(a.length).toBe(98 + 2 + data.length)
    expect([a[98], a[99]]).toEqual([2, data.length])
    expect(a.subarray(100).toString()).toBe(data)
  })

  it('reads 18-byte peers from a tracker reached over IPv6', async () => {
    const { tracker, udp, url } = await setup({ host: '::1' })
    tracker.peers = encodeCompactPeers([{ host: '2001:db8::1', port: 1111 }, { host: '::ffff:10.9.8.7', port: 2222 }], 6)
    const r = await udp.announce(url, REQ)
    expect(r.peers).toEqual([{ host: '2001:db8::1', port: 1111 }, { host: '10.9.8.7', port: 2222 }])
  })

  it('aborts requests with a signal and on close()', async () => {
    const { tracker, udp, url } = await setup()
    tracker.onPacket = () => []
    const ac = new AbortController()
    const p1 = rejection(udp.announce(url, REQ, { signal: ac.signal }))
    const p2 = rejection(udp.announce(url, REQ))
    await settle()
    ac.abort()
    expect((await p1).code).toBe('ERR_TRACKER_ABORTED')
    udp.close()
    expect((await p2).code).toBe('ERR_TRACKER_ABORTED')
    expect((await rejection(udp.announce(url, REQ))).code).toBe('ERR_TRACKER_ABORTED')
  })
})
