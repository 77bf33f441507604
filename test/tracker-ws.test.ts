/** WebSocket tracker client against a crafted WebSocket server on 127.0.0.1 (the `ws` package bittorrent-tracker brings). */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { TrackerClient, WsTrackerConnection, WsTrackerPool, type AnnounceRequest, type TrackerError, type TrackerSignalEvent } from '../src/tracker/index.js'
import { waitFor } from './helpers/sockets.js'

const IH = Uint8Array.from({ length: 20 }, (_, i) => 250 - i) // bytes ≥ 0x80: must survive JSON as binary-string chars
const IH2 = new Uint8Array(20).fill(0x11)
const PID = new TextEncoder().encode('-WW0001-wswswswswsws')
const REQ: AnnounceRequest = { infoHash: IH, peerId: PID, port: 0, uploaded: 1, downloaded: 2, left: null, numwant: 50, key: 1, event: 'started' }
const bin = (b: Uint8Array): string => String.fromCharCode(...b)

type Msg = Record<string, any> // eslint-disable-line @typescript-eslint/no-explicit-any
interface Sock { send (s: string | Buffer): void, close (): void, terminate (): void, on (e: string, fn: (...a: any[]) => void): void } // eslint-disable-line @typescript-eslint/no-explicit-any

let wss: any // eslint-disable-line @typescript-eslint/no-explicit-any
let url: string
let connections = 0
const sockets: Sock[] = []
const received: Msg[] = []
let onMessage: (m: Msg, sock: Sock) => void = () => {}

beforeAll(async () => {
  const spec = 'ws' // untyped here; installed with bittorrent-tracker
  const { WebSocketServer } = await import(spec)
  wss = new WebSocketServer({ host: '127.0.0.1', port: 0 })
  await new Promise(resolve => wss.once('listening', resolve))
  url = `ws://127.0.0.1:${wss.address().port}/announce`
  wss.on('connection', (sock: Sock) => {
    connections++
    sockets.push(sock)
    sock.on('message', (data: Buffer) => {
      const m = JSON.parse(data.toString())
      received.push(m)
      onMessage(m, sock)
    })
  })
})
afterAll(async () => { await new Promise(resolve => wss.close(resolve)) })

const pools: WsTrackerPool[] = []
const conns: WsTrackerConnection[] = []
afterEach(() => {
  for (const p of pools.splice(0)) p.close()
  for (const c of conns.splice(0)) c.close()
  for (const s of sockets.splice(0)) s.terminate()
  received.length = 0
  connections = 0
  onMessage = () => {}
})

function conn (timeoutMs = 5000): WsTrackerConnection {
  const c = new WsTrackerConnection(url, { timeoutMs })
  conns.push(c)
  return c
}

const answer = (m: Msg, extra: Msg = {}): string => JSON.stringify({ action: 'announce', info_hash: m.info_hash, interval: 120, complete: 2, incomplete: 3, ...extra })

async function rejection (p: Promise<unknown>): Promise<TrackerError> {
  try { await p } catch (e) { return e as TrackerError }
  throw new Error('did not reject')
}

describe('WebSocket tracker protocol', () => {
  it('sends WebTorrent-style announces and parses the answer', async () => {
    onMessage = (m, s) => s.send(answer(m, { 'tracker id': 'abc', 'warning message': 'hi' }))
    const r = await conn().announce(REQ)
    expect(r).toMatchObject({ interval: 120, complete: 2, incomplete: 3, warning: 'hi', peers: [] })
    expect(new TextDecoder().decode(r.trackerId)).toBe('abc')
    expect(received[0]).toEqual({
      action: 'announce', info_hash: bin(IH), peer_id: bin(PID), uploaded: 1, downloaded: 2, left: 16384, event: 'started', numwant: 0, offers: []
    })
    await conn().announce({ ...REQ, event: 'stopped', left: 0, trackerId: new TextEncoder().encode('abc') })
    expect(received[1]).toMatchObject({ event: 'stopped', numwant: 0, left: 0, trackerid: 'abc' })
    expect(received[1].offers).toBeUndefined()
  })

  it('reports failure reasons, with or without an info_hash', async () => {
    onMessage = (m, s) => s.send(JSON.stringify({ action: 'announce', info_hash: m.info_hash, 'failure reason': 'nope' }))
    const c = conn()
    expect((await rejection(c.announce(REQ))).code).toBe('ERR_TRACKER_FAILURE')
    onMessage = (_m, s) => s.send(JSON.stringify({ 'failure reason': 'invalid info_hash' }))
    const e = await rejection(c.announce(REQ))
    expect(e.code).toBe('ERR_TRACKER_FAILURE')
    expect(e.message).toContain('invalid info_hash')
  })

  it('ignores junk frames and answers for other torrents', async () => {
    onMessage = (m, s) => {
      s.send('not json')
      s.send(Buffer.from([1, 2, 3]))
      s.send('[1,2]')
      s.send(JSON.stringify({ action: 'announce', info_hash: bin(IH2), interval: 1 }))
      s.send(JSON.stringify({ action: 'nonsense' }))
      s.send(answer(m, { interval: 999 }))
    }
    expect((await conn().announce(REQ)).interval).toBe(999)
  })

  it('times out', async () => {
    expect((await rejection(conn(200).announce(REQ))).code).toBe('ERR_TRACKER_TIMEOUT')
  })

  it('fails pending requests when the socket closes, and reopens on the next request', async () => {
    onMessage = (_m, s) => s.close()
    const c = conn()
    expect((await rejection(c.announce(REQ))).code).toBe('ERR_TRACKER_NETWORK')
    onMessage = (m, s) => s.send(answer(m))
    expect((await c.announce(REQ)).complete).toBe(2)
    expect(connections).toBe(2)
  })

  it('fails to connect to a closed port with ERR_TRACKER_NETWORK', async () => {
    const c = new WsTrackerConnection('ws://127.0.0.1:1/announce', { timeoutMs: 3000 })
    conns.push(c)
    expect((await rejection(c.announce(REQ))).code).toBe('ERR_TRACKER_NETWORK')
  })

  it('scrapes', async () => {
    onMessage = (m, s) => s.send(JSON.stringify({ action: 'scrape', files: { [m.info_hash[0]]: { complete: 4, incomplete: 5, downloaded: 6 } } }))
    const r = await conn().scrape([IH])
    expect(received[0]).toEqual({ action: 'scrape', info_hash: [bin(IH)] })
    expect(r).toEqual([{ infoHash: Buffer.from(IH).toString('hex'), complete: 4, incomplete: 5, downloaded: 6 }])
  })

  it('shares one socket per tracker between torrents and routes answers by info_hash', async () => {
    const pending: Array<[Msg, Sock]> = []
    onMessage = (m, s) => {
      pending.push([m, s])
      if (pending.length === 2) for (const [pm, ps] of pending.reverse()) ps.send(answer(pm, { complete: pm.info_hash === bin(IH) ? 1 : 2 }))
    }
    const pool = new WsTrackerPool()
    pools.push(pool)
    const a = pool.acquire(url)
    const b = pool.acquire(url)
    expect(a).toBe(b)
    const [ra, rb] = await Promise.all([a.announce(REQ), b.announce({ ...REQ, infoHash: IH2 })])
    expect([ra.complete, rb.complete]).toEqual([1, 2])
    expect(connections).toBe(1)
    pool.release(a)
    expect(a.connected).toBe(true)
    pool.release(b)
    expect(a.connected).toBe(false)
  })

  it('delivers relayed offers to the torrent they are for, and sends answers back', async () => {
    onMessage = (m, s) => { if (m.answer === undefined) s.send(answer(m)) }
    const c = new TrackerClient({ infoHash: IH, peerId: PID, port: 0, announce: [url] })
    c.start()
    await waitFor(c, 'update')
    const got = waitFor<TrackerSignalEvent>(c, 'signal')
    const remote = new Uint8Array(20).fill(0x42)
    const offerId = new Uint8Array(20).fill(0x99)
    sockets[0].send(JSON.stringify({ action: 'announce', info_hash: bin(IH2), peer_id: bin(remote), offer: { sdp: 'other torrent' }, offer_id: bin(offerId) }))
    sockets[0].send(JSON.stringify({ action: 'announce', info_hash: bin(IH), peer_id: bin(PID), offer: { sdp: 'from ourselves' }, offer_id: bin(offerId) }))
    sockets[0].send(JSON.stringify({ action: 'announce', info_hash: bin(IH), peer_id: bin(remote), offer: { sdp: 'x' }, offer_id: bin(offerId) }))
    const [sig] = await got
    expect(sig).toMatchObject({ type: 'offer', peerId: '42'.repeat(20), data: { sdp: 'x' }, announce: url })
    sig.answer!({ sdp: 'y' })
    await new Promise(resolve => setTimeout(resolve, 50))
    expect(received.at(-1)).toEqual({ action: 'announce', info_hash: bin(IH), peer_id: bin(PID), to_peer_id: bin(remote), answer: { sdp: 'y' }, offer_id: bin(offerId) })
    c.destroy()
  })

  it('re-announces 17 s after the tracker drops an idle connection', async () => {
    onMessage = (m, s) => s.send(answer(m))
    let now = 1_000_000
    const queue: Array<{ at: number, fn: () => void, id: number }> = []
    let seq = 0
    const timers = {
      now: () => now,
      setTimeout: (fn: () => void, ms: number) => { queue.push({ at: now + ms, fn, id: ++seq }); return seq },
      clearTimeout: (h: unknown) => { const i = queue.findIndex(q => q.id === h); if (i >= 0) queue.splice(i, 1) }
    }
    const c = new TrackerClient({ infoHash: IH, peerId: PID, port: 0, announce: [url], timers })
    c.start()
    await waitFor(c, 'update')
    expect((c.status()[0].nextAnnounce! - now) / 1000).toBe(300)
    sockets[0].close()
    await new Promise(resolve => setTimeout(resolve, 100))
    expect(c.status()[0]).toMatchObject({ working: false })
    expect((c.status()[0].nextAnnounce! - now) / 1000).toBe(17)
    now += 17_000
    queue.sort((a, b) => a.at - b.at).filter(q => q.at <= now).forEach(q => { queue.splice(queue.indexOf(q), 1); q.fn() })
    await waitFor(c, 'update')
    expect(connections).toBe(2)
    expect(received.map(m => m.event)).toEqual(['started', undefined])
    c.destroy()
  })
})
