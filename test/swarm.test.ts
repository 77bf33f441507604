import { afterEach, describe, expect, it } from 'vitest'
import type { SwarmPeer } from '../src/engine/types.js'
import { waitFor } from './helpers/sockets.js'

async function waitUntil (cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time')
    await new Promise(resolve => setTimeout(resolve, 10))
  }
}
import { MapStore, makeTorrent, connect, newSwarm, destroySwarms } from './helpers/swarm.js'

afterEach(destroySwarms)

describe('Swarm: downloads between our own peers over loopback TCP', () => {
  it('a leecher downloads everything from a seeder, byte-identical, odd last piece', async () => {
    const PL = 256 * 1024
    const t = makeTorrent(3 * 1024 * 1024 + 12345, PL)
    const seeder = newSwarm(t, PL, new MapStore(PL, t.data), true)
    const store = new MapStore(PL)
    const leecher = newSwarm(t, PL, store, false)
    const verified: number[] = []
    leecher.on('verified', i => verified.push(i))
    const done = waitFor(leecher, 'done', 20000)
    await connect(seeder, leecher)
    await done
    expect(verified.sort((a, b) => a - b)).toEqual(Array.from({ length: t.n }, (_, i) => i))
    expect(Buffer.from(store.concat(t.n)).equals(Buffer.from(t.data))).toBe(true)
    expect(leecher.downloaded).toBe(t.data.length)
    expect(seeder.uploaded).toBeGreaterThanOrEqual(t.data.length)
    expect(leecher.have.isFull()).toBe(true)
  })

  it('one seeder and three leechers that also trade with each other all complete', async () => {
    const PL = 64 * 1024
    const t = makeTorrent(2 * 1024 * 1024 - 999, PL, 2)
    const seeder = newSwarm(t, PL, new MapStore(PL, t.data), true)
    const stores = [0, 1, 2].map(() => new MapStore(PL))
    const leechers = stores.map(s => newSwarm(t, PL, s, false))
    const dones = leechers.map(l => waitFor(l, 'done', 30000))
    for (const l of leechers) await connect(seeder, l)
    await connect(leechers[0], leechers[1])
    await connect(leechers[1], leechers[2])
    await connect(leechers[0], leechers[2])
    await Promise.all(dones)
    for (const s of stores) expect(Buffer.from(s.concat(t.n)).equals(Buffer.from(t.data))).toBe(true)
  })

  it('case 29: a peer sending corrupt blocks is banned while the download completes from a good peer', async () => {
    const PL = 64 * 1024
    const t = makeTorrent(1024 * 1024, PL, 3)
    const badStore = new MapStore(PL, t.data)
    badStore.corrupt = (index, offset, block) => {
      if (offset === 16384) block[7] ^= 0xff // one bad block in every piece
      return block
    }
    const bad = newSwarm(t, PL, badStore, true)
    const good = newSwarm(t, PL, new MapStore(PL, t.data), true)
    const store = new MapStore(PL)
    const leecher = newSwarm(t, PL, store, false)
    const bans: SwarmPeer[] = []
    let hashfails = 0
    leecher.on('ban', w => bans.push(w))
    leecher.on('hashfail', () => hashfails++)
    const done = waitFor(leecher, 'done', 30000)
    const [, wireToBad] = await connect(bad, leecher)
    await new Promise(resolve => setTimeout(resolve, 300)) // let the bad peer deliver first
    await connect(good, leecher)
    await done
    expect(hashfails).toBeGreaterThan(0)
    expect(bans).toContain(wireToBad)
    expect(wireToBad.destroyed).toBe(true)
    expect(Buffer.from(store.concat(t.n)).equals(Buffer.from(t.data))).toBe(true)
  })

  it('sequential strategy verifies pieces in order from a single peer', async () => {
    const PL = 32 * 1024
    const t = makeTorrent(40 * PL, PL, 4)
    const seeder = newSwarm(t, PL, new MapStore(PL, t.data), true)
    const leecher = newSwarm(t, PL, new MapStore(PL), false, { strategy: 'sequential' })
    const order: number[] = []
    leecher.on('verified', i => order.push(i))
    const done = waitFor(leecher, 'done', 20000)
    await connect(seeder, leecher)
    await done
    // Verification is asynchronous, so neighbours may swap; the order must still be nearly sorted.
    const inversions = order.reduce((n, v, i) => n + order.slice(i + 1).filter(w => w < v).length, 0)
    expect(order.length).toBe(40)
    expect(inversions).toBeLessThan(40)
    expect(order[0]).toBeLessThan(4)
  })

  it('hotswap: in sequential mode a fast peer takes the early pieces a slow peer holds', async () => {
    const PL = 64 * 1024
    const t = makeTorrent(48 * PL, PL, 6)
    // 16 KiB/s: one block a second, so the slow peer alone would need 16 s for the 16 blocks it is asked for.
    const slow = newSwarm(t, PL, new MapStore(PL, t.data), true, { uploadLimit: 16 * 1024 })
    const fast = newSwarm(t, PL, new MapStore(PL, t.data), true)
    const store = new MapStore(PL)
    const leecher = newSwarm(t, PL, store, false, { strategy: 'sequential' })
    const order: number[] = []
    const swaps: Array<[SwarmPeer, SwarmPeer, number]> = []
    leecher.on('verified', i => order.push(i))
    leecher.on('hotswap', (from, to, i) => swaps.push([from, to, i]))
    const done = waitFor(leecher, 'done', 30000)
    const [, toSlow] = await connect(slow, leecher)
    // Only requests older than 2 s move (HOTSWAP_MIN_AGE_MS), and a meter needs a moment to show the slow rate.
    await waitUntil(() => toSlow.requestCount > 0)
    await new Promise(resolve => setTimeout(resolve, 2200))
    const heldBySlow = new Set([...toSlow.requests].map(r => r.index))
    // Pieces whose requests are already old enough to move (its newest requests are not).
    const heldLong = new Set([...toSlow.requests].filter(r => r.time < Date.now() - 2000).map(r => r.index))
    expect(heldLong.has(0)).toBe(true)
    const [fastSide, toFast] = await connect(fast, leecher)
    const askedOfFast: number[] = []
    fastSide.on('request', (i: number) => { if (!askedOfFast.includes(i)) askedOfFast.push(i) })
    await done
    expect(swaps.length).toBeGreaterThan(0)
    for (const [from, to, i] of swaps) {
      expect(from).toBe(toSlow)
      expect(to).toBe(toFast)
      expect(heldBySlow.has(i)).toBe(true)
    }
    // Without hotswap the fast peer would be asked for the slow peer's pieces last (endgame); with it they come
    // right after the few new pieces it starts while its meter warms up (a pipeline of 16 blocks: 4 pieces).
    for (const i of heldLong) expect(askedOfFast.indexOf(i)).toBeLessThan(4 + heldLong.size + 2)
    expect(order.length).toBe(t.n)
    expect(Buffer.from(store.concat(t.n)).equals(Buffer.from(t.data))).toBe(true)
  })

  it('hotswap: in rarest-first mode a slow peer\'s pieces move to a fast peer instead of waiting for it', async () => {
    const PL = 64 * 1024
    const t = makeTorrent(32 * PL, PL, 7)
    const slow = newSwarm(t, PL, new MapStore(PL, t.data), true, { uploadLimit: 16 * 1024 })
    const fast = newSwarm(t, PL, new MapStore(PL, t.data), true)
    const leecher = newSwarm(t, PL, new MapStore(PL), false)
    const swaps: number[] = []
    leecher.on('hotswap', (_from, _to, i) => swaps.push(i))
    const done = waitFor(leecher, 'done', 30000)
    const [, toSlow] = await connect(slow, leecher)
    // Only requests older than 2 s move (HOTSWAP_MIN_AGE_MS), and a meter needs a moment to show the slow rate.
    await waitUntil(() => toSlow.requestCount > 0)
    await new Promise(resolve => setTimeout(resolve, 2200))
    await connect(fast, leecher)
    await done
    expect(swaps.length).toBeGreaterThan(0)
    // The slow peer delivered at most a few blocks (a second each); the rest of what it held moved.
    expect(toSlow.downloaded).toBeLessThanOrEqual(5 * 16 * 1024)
    expect(leecher.downloaded).toBe(t.data.length)
  })

  it('deselected pieces are never requested', async () => {
    const PL = 32 * 1024
    const t = makeTorrent(20 * PL, PL, 5)
    const seeder = newSwarm(t, PL, new MapStore(PL, t.data), true)
    const leecher = newSwarm(t, PL, new MapStore(PL), false, { deselect: true })
    leecher.select(5, 9)
    const requested = new Set<number>()
    const done = waitFor(leecher, 'done', 20000)
    const [wSeed] = await connect(seeder, leecher)
    wSeed.on('request', (i: number) => requested.add(i))
    await done
    expect([...requested].sort((a, b) => a - b)).toEqual([5, 6, 7, 8, 9])
    expect(leecher.have.count()).toBe(5)
  })

  it('download and upload limits are honoured, 0 blocks transfer, and limits change at runtime', async () => {
    const PL = 64 * 1024
    const t = makeTorrent(1024 * 1024, PL, 6)
    const seeder = newSwarm(t, PL, new MapStore(PL, t.data), true, { uploadLimit: 0 })
    const leecher = newSwarm(t, PL, new MapStore(PL), false, { downloadLimit: 256 * 1024 })
    const done = waitFor(leecher, 'done', 30000)
    const start = Date.now()
    await connect(seeder, leecher)
    await new Promise(resolve => setTimeout(resolve, 800))
    expect(leecher.downloaded).toBe(0) // the seeder's upload limit 0 blocks everything
    seeder.uploadLimiter.setRate(-1)
    await done
    // The leecher's 256 KiB/s limit: 1 MiB minus the one-second burst takes at least 3 s from the start
    // (a lower bound only, so a slow machine cannot fail it).
    expect(Date.now() - start).toBeGreaterThanOrEqual(2900)
    expect(leecher.have.isFull()).toBe(true)
  })
})
