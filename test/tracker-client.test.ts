/**
 * TrackerClient orchestration against local HTTP trackers with crafted answers, on a fake clock: interval floor
 * and quadratic backoff (case 25), BEP 12 tiers, events, tracker id, stop timeout, warnings.
 */
import { createServer, type Server } from 'node:http'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { bencode } from '../src/bencode/index.js'
import { encodeCompactPeers, TrackerClient, type Timers, type TrackerClientOptions, type TrackerError, type TrackerPeerEvent } from '../src/tracker/index.js'

const IH = 'ab'.repeat(20)
const PID = '2d5757303030312d' + '01'.repeat(12)

class FakeTimers implements Timers {
  t = 5_000_000
  private seq = 0
  private q: Array<{ at: number, id: number, fn: () => void }> = []
  now (): number { return this.t }
  setTimeout (fn: () => void, ms: number): unknown {
    const id = ++this.seq
    this.q.push({ at: this.t + ms, id, fn })
    return id
  }

  clearTimeout (h: unknown): void { this.q = this.q.filter(x => x.id !== h) }
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

const settle = async (): Promise<void> => { for (let i = 0; i < 6; i++) await new Promise(resolve => setTimeout(resolve, 5)) }

interface Hit { tracker: string, path: string, event: string | null, params: URLSearchParams, trackerid: string | null }
type Reply = Record<string, unknown> | Uint8Array | number | 'hang'
type Answer = Reply | ((hit: Hit) => Reply)

let server: Server
let base: string
const hits: Hit[] = []
const answers = new Map<string, Answer>()

beforeAll(async () => {
  server = createServer((req, res) => {
    const url = new URL(req.url!, 'http://x')
    const tracker = url.searchParams.get('t') ?? '?'
    const hit: Hit = { tracker, path: url.pathname, event: url.searchParams.get('event'), params: url.searchParams, trackerid: url.searchParams.get('trackerid') }
    if (url.pathname === '/announce') hits.push(hit)
    let a = answers.get(tracker) ?? { interval: 1800, peers: new Uint8Array(0) }
    if (typeof a === 'function') a = a(hit)
    if (a === 'hang') return
    if (typeof a === 'number') { res.statusCode = a; res.end(); return }
    res.end(a instanceof Uint8Array ? a : bencode.encode(a))
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}/announce`
})
afterAll(async () => {
  server.closeAllConnections()
  await new Promise(resolve => server.close(resolve))
})

const clients: TrackerClient[] = []
afterEach(() => {
  for (const c of clients.splice(0)) c.destroy()
  hits.length = 0
  answers.clear()
})

const url = (name: string): string => `${base}?t=${name}`

function client (announce: TrackerClientOptions['announce'], extra: Partial<TrackerClientOptions> = {}): { c: TrackerClient, timers: FakeTimers, warnings: TrackerError[], peers: TrackerPeerEvent[] } {
  const timers = new FakeTimers()
  const c = new TrackerClient({ infoHash: IH, peerId: PID, port: 6881, announce, timers, random: () => 0.999, getStats: () => ({ uploaded: 0, downloaded: 0, left: 100 }), ...extra })
  clients.push(c)
  const warnings: TrackerError[] = []
  const peers: TrackerPeerEvent[] = []
  c.on('warning', e => warnings.push(e))
  c.on('peer', p => peers.push(p))
  return { c, timers, warnings, peers }
}

/** Seconds from now until the tracker's next announce. */
function nextIn (c: TrackerClient, timers: FakeTimers, i = 0): number | undefined {
  const n = c.status()[i].nextAnnounce
  return n === undefined ? undefined : (n - timers.now()) / 1000
}

describe('TrackerClient timing (case 25)', () => {
  it('waits at least 300 s when a tracker asks for interval=1', async () => {
    answers.set('a', { interval: 1, 'min interval': 1, peers: new Uint8Array(0) })
    const { c, timers } = client([url('a')])
    c.start()
    await settle()
    expect(hits.map(h => h.event)).toEqual(['started'])
    expect(nextIn(c, timers)).toBe(300)
    expect(c.status()[0].interval).toBe(300)
    await timers.advance(299_000)
    expect(hits).toHaveLength(1)
    await timers.advance(1_000)
    expect(hits.map(h => h.event)).toEqual(['started', null])
    await timers.advance(300_000)
    expect(hits).toHaveLength(3)
  })

  it('uses the tracker interval above the floor, 1800 s when absent', async () => {
    answers.set('a', { interval: 2000, peers: new Uint8Array(0) })
    answers.set('b', { peers: new Uint8Array(0) })
    const { c, timers } = client([url('a'), url('b')])
    c.start()
    await settle()
    expect(c.status().map(s => (s.nextAnnounce! - timers.now()) / 1000)).toEqual([2000, 1800])
  })

  it('backs off quadratically on failure: 17, 55, 117, 205 s, then resets after an answer', async () => {
    answers.set('a', 500)
    const { c, timers, warnings } = client([url('a')])
    c.start()
    await settle()
    const delays: number[] = []
    for (let i = 0; i < 4; i++) {
      delays.push(nextIn(c, timers)!)
      await timers.advance(delays[i] * 1000 - 1)
      expect(hits).toHaveLength(i + 1) // not a moment early
      await timers.advance(1)
    }
    expect(delays).toEqual([17, 55, 117, 205])
    expect(hits).toHaveLength(5)
    expect(hits.every(h => h.event === 'started')).toBe(true) // started is repeated until it is answered
    expect(warnings.map(w => w.code)).toEqual(new Array(5).fill('ERR_TRACKER_HTTP'))
    expect(c.status()[0]).toMatchObject({ fails: 5, working: false })
    expect(nextIn(c, timers)).toBe(317)
    answers.set('a', { interval: 900, peers: new Uint8Array(0) })
    await timers.advance(317_000)
    expect(c.status()[0]).toMatchObject({ fails: 0, working: true, startSent: true })
    expect(nextIn(c, timers)).toBe(900)
    answers.set('a', { 'failure reason': 'overloaded' })
    await timers.advance(900_000)
    expect(nextIn(c, timers)).toBe(17)
    expect(warnings.at(-1)!.code).toBe('ERR_TRACKER_FAILURE')
  })

  it('waits longer when a failure says retry in (BEP 31); never = never again', async () => {
    answers.set('a', { 'failure reason': 'slow down', 'retry in': 30 })
    answers.set('b', { 'failure reason': 'gone', 'retry in': 'never' })
    const { c, timers } = client([url('a'), url('b')])
    c.start()
    await settle()
    expect(nextIn(c, timers, 0)).toBe(1800)
    expect(c.status()[1]).toMatchObject({ disabled: true })
    await timers.advance(3 * 3600_000)
    expect(hits.filter(h => h.tracker === 'b')).toHaveLength(1)
  })

  it('update() does not bypass the backoff of a failing tracker', async () => {
    answers.set('a', 500)
    const { c, timers } = client([url('a')])
    c.start()
    await settle()
    c.update()
    await settle()
    expect(hits).toHaveLength(1)
    expect(nextIn(c, timers)).toBe(17)
    c.update({ ignoreMinInterval: true })
    await settle()
    expect(hits).toHaveLength(2)
    expect(nextIn(c, timers)).toBe(55)
  })

  it('update() honours min interval unless told otherwise', async () => {
    answers.set('a', { interval: 1800, 'min interval': 120, peers: new Uint8Array(0) })
    const { c, timers } = client([url('a')])
    c.start()
    await settle()
    await timers.advance(10_000)
    c.update()
    await settle()
    expect(hits).toHaveLength(1)
    expect(nextIn(c, timers)).toBe(110)
    await timers.advance(110_000)
    expect(hits.map(h => h.event)).toEqual(['started', null])
    c.update({ ignoreMinInterval: true })
    await settle()
    expect(hits).toHaveLength(3)
  })
})

describe('TrackerClient announce lists (BEP 12)', () => {
  it('fails over within a tier and promotes the tracker that answers', async () => {
    answers.set('dead', 500)
    answers.set('good', { interval: 600, peers: encodeCompactPeers([{ host: '10.0.0.9', port: 9 }]) })
    const { c, timers, warnings, peers } = client([[url('dead'), url('good')]])
    expect(c.announce).toEqual([url('dead'), url('good')])
    c.start()
    await settle()
    expect(hits.map(h => h.tracker)).toEqual(['dead', 'good'])
    expect(warnings).toHaveLength(1)
    expect(peers).toEqual([{ host: '10.0.0.9', port: 9, announce: url('good') }])
    expect(c.announce).toEqual([url('good'), url('dead')])
    expect(c.status().map(s => [s.url, s.working])).toEqual([[url('good'), true], [url('dead'), false]])
    await timers.advance(600_000)
    expect(hits.map(h => h.tracker)).toEqual(['dead', 'good', 'good'])
  })

  it('backs off a tier only when all its trackers fail', async () => {
    answers.set('x', 500)
    answers.set('y', 404)
    const { c, timers } = client([[url('x'), url('y')]])
    c.start()
    await settle()
    expect(hits.map(h => h.tracker)).toEqual(['x', 'y'])
    expect(nextIn(c, timers)).toBe(17)
    await timers.advance(17_000)
    expect(hits.map(h => h.tracker)).toEqual(['x', 'y', 'x', 'y'])
    expect(nextIn(c, timers)).toBe(55)
  })

  it('announces to every tier in parallel by default (a flat list = every tracker)', async () => {
    const { c } = client([url('a'), url('b'), url('c')])
    c.start()
    await settle()
    expect(hits.map(h => h.tracker).sort()).toEqual(['a', 'b', 'c'])
  })

  it('strict BEP 12 (announceToAllTiers: false) uses the first tier that works', async () => {
    answers.set('t1', 500)
    const { c } = client([[url('t1')], [url('t2')], [url('t3')]], { announceToAllTiers: false })
    c.start()
    await settle()
    expect(hits.map(h => h.tracker)).toEqual(['t1', 't2'])
  })

  it('announceToAllTrackers: every tracker of every tier', async () => {
    const { c } = client([[url('a'), url('b')], [url('c')]], { announceToAllTrackers: true })
    c.start()
    await settle()
    expect(hits.map(h => h.tracker).sort()).toEqual(['a', 'b', 'c'])
  })

  it('reports refused URLs as warnings on start and skips them', async () => {
    const { c, warnings } = client([url('a'), 'file:///etc/passwd', base.replace('/announce', '/admin'), 'gopher://x/'])
    expect(c.announce).toEqual([url('a')])
    c.start()
    await settle()
    expect(warnings.map(w => w.code)).toEqual(['ERR_TRACKER_URL', 'ERR_TRACKER_SSRF', 'ERR_TRACKER_URL'])
    expect(hits).toHaveLength(1)
  })
})

describe('TrackerClient events and requests', () => {
  it('started → completed → (none) → stopped → started again', async () => {
    let left = 100
    const { c, timers } = client([url('a')], { getStats: () => ({ uploaded: 1, downloaded: 2, left }) })
    const updates: unknown[] = []
    c.on('update', u => updates.push(u))
    answers.set('a', { interval: 600, complete: 1, incomplete: 2, peers: new Uint8Array(0) })
    c.start()
    await settle()
    left = 0
    c.complete()
    await settle()
    await timers.advance(600_000)
    await c.stop()
    expect(hits.map(h => [h.event, h.params.get('left'), h.params.get('numwant')])).toEqual([
      ['started', '100', '50'], ['completed', '0', '50'], [null, '0', '50'], ['stopped', '0', '0']
    ])
    expect(updates[0]).toEqual({ announce: url('a'), complete: 1, incomplete: 2, interval: 600 })
    expect(c.status()[0]).toMatchObject({ startSent: false, completeSent: false })
    c.start()
    await settle()
    expect(hits.at(-1)!.event).toBe('started')
  })

  it('a client that starts as a seed never sends completed', async () => {
    const { c } = client([url('a')], { getStats: () => ({ uploaded: 0, downloaded: 0, left: 0 }) })
    c.start()
    await settle()
    c.complete()
    await settle()
    expect(hits.map(h => h.event)).toEqual(['started', null])
  })

  it('complete() during an unanswered started sends completed right after it', async () => {
    let release: (() => void) | undefined
    answers.set('a', () => 'hang')
    const { c } = client([url('a')], { requestTimeout: 60_000 })
    // answer the first request only after complete() was called
    server.once('request', (_req, res) => { release = () => res.end(bencode.encode({ interval: 600, peers: new Uint8Array(0) })) })
    c.start()
    await settle()
    c.complete()
    answers.set('a', { interval: 600, peers: new Uint8Array(0) })
    release!()
    await settle()
    expect(hits.map(h => h.event)).toEqual(['started', 'completed'])
  })

  it('echoes the tracker id and keeps the key constant', async () => {
    answers.set('a', { interval: 600, 'tracker id': 'T-42', peers: new Uint8Array(0) })
    const { c, timers } = client([url('a')], { key: 0x0badf00d })
    c.start()
    await settle()
    answers.set('a', { interval: 600, peers: new Uint8Array(0) }) // absent: the old id stays
    await timers.advance(600_000)
    await timers.advance(600_000)
    expect(hits.map(h => h.trackerid)).toEqual([null, 'T-42', 'T-42'])
    expect(new Set(hits.map(h => h.params.get('key')))).toEqual(new Set(['0BADF00D']))
    expect(c.key).toBe(0x0badf00d)
  })

  it('emits peers per answer (de-duplicated within it) and the warning message', async () => {
    answers.set('a', {
      interval: 600,
      'warning message': 'deprecated tracker',
      peers: encodeCompactPeers([{ host: '10.0.0.1', port: 1 }, { host: '10.0.0.1', port: 1 }, { host: '10.0.0.2', port: 2 }]),
      peers6: encodeCompactPeers([{ host: '2001:db8::3', port: 3 }], 6)
    })
    const { c, warnings, peers } = client([url('a')])
    c.start()
    await settle()
    expect(peers.map(p => `${p.host}:${p.port}`)).toEqual(['10.0.0.1:1', '10.0.0.2:2', '2001:db8::3:3'])
    expect(warnings.map(w => [w.code, w.announce])).toEqual([['ERR_TRACKER_WARNING', url('a')]])
    expect(c.status()[0].working).toBe(true)
  })

  it('stop() sends stopped to started trackers and gives up after stopTimeout', async () => {
    answers.set('a', (h) => h.event === 'stopped' ? 'hang' : { interval: 600, peers: new Uint8Array(0) })
    answers.set('b', (h) => h.event === 'stopped' ? 'hang' : 500)
    // real timers: the stop timeout must really fire
    const c = new TrackerClient({ infoHash: IH, peerId: PID, port: 6881, announce: [url('a'), url('b')], stopTimeout: 300 })
    clients.push(c)
    c.on('warning', () => {})
    c.start()
    await settle()
    const t0 = Date.now()
    await c.stop()
    const took = Date.now() - t0
    expect(took).toBeGreaterThanOrEqual(250)
    expect(took).toBeLessThan(2000)
    expect(hits.filter(h => h.event === 'stopped').map(h => h.tracker)).toEqual(['a']) // b never saw started
    expect(c.running).toBe(false)
  })

  it('destroy() stops all timers and requests', async () => {
    answers.set('a', 'hang')
    const { c, timers, warnings } = client([url('a')])
    c.start()
    await settle()
    c.destroy()
    await timers.advance(10 * 3600_000)
    expect(hits).toHaveLength(1)
    expect(warnings).toHaveLength(0)
    expect(() => c.start()).toThrow(/destroyed/)
  })

  it('scrapes through the client', async () => {
    // `files` is keyed by the raw info-hash; 0xab… is not UTF-8, so the answer is written by hand.
    const te = new TextEncoder()
    answers.set('s', (h) => h.path !== '/scrape'
      ? { interval: 600, peers: new Uint8Array(0) }
      : Uint8Array.from([...te.encode('d5:filesd20:'), ...new Uint8Array(20).fill(0xab), ...bencode.encode({ complete: 7, downloaded: 9, incomplete: 8 }), ...te.encode('ee')]))
    const { c, warnings } = client([url('s')])
    const events: unknown[] = []
    c.on('scrape', e => events.push(e))
    const r = await c.scrape()
    expect(r).toEqual([{ announce: url('s'), infoHash: IH, complete: 7, incomplete: 8, downloaded: 9 }])
    expect(events).toEqual(r)
    expect(warnings).toHaveLength(0)
  })
})
