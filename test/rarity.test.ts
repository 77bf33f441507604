import { describe, it, expect } from 'vitest'
import { Availability, Bitfield, DEFAULT_PRIORITY } from '../src/bitfield/index.js'
import { WasmTorrentError } from '../src/errors.js'
import { wasm } from '../src/wasm/index.js'

// Deterministic PRNG (mulberry32) for the test data, so failures reproduce. (The pickers' own tie-break
// seed is random on purpose.)
function rng (seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) | 0
    let t = Math.imul(a ^ (a >>> 15), 1 | a)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

function randomBits (n: number, density: number, r: () => number): boolean[] {
  return Array.from({ length: n }, () => r() < density)
}

function toBitfield (bits: boolean[]): Bitfield {
  const bf = new Bitfield(bits.length)
  bits.forEach((b, i) => { if (b) bf.set(i) })
  return bf
}

function codeOf (fn: () => unknown): string | undefined {
  try {
    fn()
  } catch (e) {
    expect(e).toBeInstanceOf(WasmTorrentError)
    return (e as WasmTorrentError).code
  }
  return undefined
}

// ---- Obviously-correct reference pickers ----

function isCandidate (i: number, peer: boolean[] | null, want: boolean[], prio: number[]): boolean {
  return want[i] && (peer === null || peer[i]) && prio[i] > 0
}

/** Every piece pickRarest may return: highest priority tier, then lowest availability. */
function refRarestTies (peer: boolean[] | null, want: boolean[], prio: number[], avail: number[]): number[] {
  let bestP = 0
  let bestA = Infinity
  let ties: number[] = []
  for (let i = 0; i < want.length; i++) {
    if (!isCandidate(i, peer, want, prio)) continue
    if (prio[i] > bestP || (prio[i] === bestP && avail[i] < bestA)) {
      bestP = prio[i]
      bestA = avail[i]
      ties = [i]
    } else if (prio[i] === bestP && avail[i] === bestA) {
      ties.push(i)
    }
  }
  return ties
}

/** First candidate of the highest tier, scanning from cursor and wrapping. */
function refSequential (peer: boolean[] | null, want: boolean[], prio: number[], cursor: number): number {
  const n = want.length
  if (!(Number.isInteger(cursor) && cursor >= 0 && cursor < n)) cursor = 0
  let best = -1
  let bestP = 0
  for (let k = 0; k < n; k++) {
    const i = (cursor + k) % n
    if (isCandidate(i, peer, want, prio) && prio[i] > bestP) {
      best = i
      bestP = prio[i]
    }
  }
  return best
}

/** A random world: an Availability fed with random peers and haves, and its reference state. */
function randomWorld (n: number, r: () => number, npeers: number) {
  const av = new Availability(n)
  const ref = new Array<number>(n).fill(0)
  const peers: boolean[][] = []
  const bfs: Bitfield[] = []
  for (let p = 0; p < npeers; p++) {
    const bits = randomBits(n, [0, 0.1, 0.5, 0.9, 1][p % 5], r)
    const bf = toBitfield(bits)
    av.addPeer(bf)
    bits.forEach((b, i) => { if (b) ref[i]++ })
    peers.push(bits)
    bfs.push(bf)
  }
  // A few `have` messages: set the peer's bit first, count only new bits (as the wire does).
  for (let k = 0; k < n && npeers > 0; k++) {
    const p = Math.floor(r() * npeers)
    const i = Math.floor(r() * n)
    if (!bfs[p].get(i)) {
      bfs[p].set(i)
      peers[p][i] = true
      av.have(i)
      ref[i]++
    }
  }
  // Random priority ranges over few tiers, so ties are common; some pieces never picked.
  const prio = new Array<number>(n).fill(DEFAULT_PRIORITY)
  for (let k = 0; k < 4 && n > 0; k++) {
    const from = Math.floor(r() * n)
    const to = from + Math.floor(r() * (n - from + 1))
    const value = [0, 1, 2, 7, 255][Math.floor(r() * 5)]
    av.setPriority(from, to, value)
    prio.fill(value, from, to)
  }
  const destroy = (): void => {
    for (const bf of bfs) bf.destroy()
    av.destroy()
  }
  return { av, ref, peers, bfs, prio, destroy }
}

const SIZES = [0, 1, 2, 7, 8, 9, 31, 63, 64, 65, 100, 127, 128, 129, 1000, 1003, 4099]

describe('Availability counts', () => {
  it('addPeer/have match a reference; removing every peer returns to all zeros', () => {
    const r = rng(10)
    for (const n of SIZES) {
      const w = randomWorld(n, r, 60)
      for (let i = 0; i < n; i++) expect(w.av.get(i)).toBe(w.ref[i])
      // Remove in random order, checking halfway.
      const order = w.bfs.map((_, k) => k).sort(() => r() - 0.5)
      order.forEach((k, step) => {
        w.av.removePeer(w.bfs[k])
        w.peers[k].forEach((b, i) => { if (b) w.ref[i]-- })
        if (step === order.length >> 1) for (let i = 0; i < n; i++) expect(w.av.get(i)).toBe(w.ref[i])
      })
      for (let i = 0; i < n; i++) expect(w.av.get(i)).toBe(0)
      w.destroy()
    }
  })

  it('symmetry over many random peers joining and leaving', () => {
    const r = rng(11)
    const n = 2053
    const av = new Availability(n)
    const live: Bitfield[] = []
    for (let step = 0; step < 2000; step++) {
      if (live.length > 0 && r() < 0.45) {
        const k = Math.floor(r() * live.length)
        av.removePeer(live[k])
        live[k].destroy()
        live.splice(k, 1)
      } else {
        const bf = toBitfield(randomBits(n, r(), r))
        av.addPeer(bf)
        live.push(bf)
      }
    }
    for (const bf of live) {
      av.removePeer(bf)
      bf.destroy()
    }
    for (let i = 0; i < n; i++) expect(av.get(i)).toBe(0)
    av.destroy()
  })

  it('counts have-all peers as one offset', () => {
    const av = new Availability(10)
    const bf = toBitfield([true, false, true, false, false, false, false, false, false, true])
    av.addPeer(bf)
    av.haveAll()
    av.haveAll()
    expect(av.haveAllCount).toBe(2)
    expect(av.get(0)).toBe(3)
    expect(av.get(1)).toBe(2)
    av.removeHaveAll()
    expect(av.get(9)).toBe(2)
    av.removeHaveAll()
    expect(codeOf(() => av.removeHaveAll())).toBe('ERR_AVAILABILITY_UNDERFLOW')
    bf.destroy()
    av.destroy()
  })

  it('rejects bad arguments with typed errors', () => {
    const av = new Availability(10)
    const small = new Bitfield(9)
    expect(codeOf(() => av.addPeer(small))).toBe('ERR_BITFIELD_SIZE_MISMATCH')
    expect(codeOf(() => av.pickRarest(null, small))).toBe('ERR_BITFIELD_SIZE_MISMATCH')
    expect(codeOf(() => av.pickSequential(small, small))).toBe('ERR_BITFIELD_SIZE_MISMATCH')
    for (const i of [-1, 10, 2.5]) {
      expect(codeOf(() => av.have(i))).toBe('ERR_PIECE_INDEX')
      expect(codeOf(() => av.get(i))).toBe('ERR_PIECE_INDEX')
    }
    expect(codeOf(() => av.setPriority(-1, 3, 1))).toBe('ERR_PIECE_RANGE')
    expect(codeOf(() => av.setPriority(0, 11, 1))).toBe('ERR_PIECE_RANGE')
    expect(codeOf(() => av.setPriority(5, 4, 1))).toBe('ERR_PIECE_RANGE')
    expect(codeOf(() => av.setPriority(0, 10, 256))).toBe('ERR_PIECE_PRIORITY')
    expect(codeOf(() => av.setPriority(0, 10, -1))).toBe('ERR_PIECE_PRIORITY')
    expect(codeOf(() => new Availability(-1))).toBe('ERR_BITFIELD_SIZE')
    av.setPriority(3, 3, 0) // empty range is fine
    expect(av.getPriority(3)).toBe(DEFAULT_PRIORITY)
    small.destroy()
    const ok = new Bitfield(10)
    av.destroy()
    expect(codeOf(() => av.get(0))).toBe('ERR_BITFIELD_DESTROYED')
    expect(codeOf(() => av.addPeer(ok))).toBe('ERR_BITFIELD_DESTROYED')
    expect(codeOf(() => av.pickRarest(null, ok))).toBe('ERR_BITFIELD_DESTROYED')
    ok.destroy()
    av.destroy() // no-op
  })
})

describe('pickRarest against the reference', () => {
  it('returns a tied best candidate (or -1 exactly when there is none)', () => {
    const r = rng(12)
    for (const n of SIZES) {
      for (let trial = 0; trial < 4; trial++) {
        const w = randomWorld(n, r, [0, 3, 20][trial % 3])
        const want = randomBits(n, [1, 0.5, 0.05, 0][trial], r)
        const wantBf = toBitfield(want)
        for (let pick = 0; pick < 40; pick++) {
          const usePeer = w.peers.length > 0 && pick % 4 !== 0
          const k = usePeer ? Math.floor(r() * w.peers.length) : -1
          const peer = usePeer ? w.peers[k] : null
          const ties = refRarestTies(peer, want, w.prio, w.ref)
          const got = w.av.pickRarest(usePeer ? w.bfs[k] : null, wantBf)
          if (ties.length === 0) expect(got).toBe(-1)
          else expect(ties).toContain(got)
        }
        wantBf.destroy()
        w.destroy()
      }
    }
  })

  it('0 and 1 pieces', () => {
    const a0 = new Availability(0)
    const w0 = new Bitfield(0)
    expect(a0.pickRarest(null, w0)).toBe(-1)
    expect(a0.pickSequential(null, w0, 0)).toBe(-1)
    const a1 = new Availability(1)
    const w1 = new Bitfield(1)
    const p1 = new Bitfield(1)
    expect(a1.pickRarest(null, w1)).toBe(-1)
    w1.set(0)
    expect(a1.pickRarest(null, w1)).toBe(0)
    expect(a1.pickRarest(p1, w1)).toBe(-1)
    p1.set(0)
    expect(a1.pickRarest(p1, w1)).toBe(0)
    expect(a1.pickSequential(p1, w1, 0)).toBe(0)
    a1.setPriority(0, 1, 0)
    expect(a1.pickRarest(p1, w1)).toBe(-1)
    expect(a1.pickSequential(p1, w1, 0)).toBe(-1)
    for (const x of [a0, w0, a1, w1, p1]) x.destroy()
  })

  it('takes the higher priority tier before rarity and never picks priority 0', () => {
    const n = 200
    const av = new Availability(n)
    const want = new Bitfield(n).setAll()
    for (let k = 0; k < 5; k++) av.haveAll()
    for (let i = 0; i < n; i++) for (let c = 0; c < i % 7; c++) av.have(i)
    av.setPriority(0, n, 0)
    expect(av.pickRarest(null, want)).toBe(-1)
    av.setPriority(150, 160, 1)
    av.setPriority(190, 200, 3)
    for (let k = 0; k < 50; k++) {
      const p = av.pickRarest(null, want)
      expect(p >= 190 && p < 200 && p % 7 === 0).toBe(true) // 196: only tier-3 piece with count 0
    }
    av.setPriority(190, 200, 0)
    for (let k = 0; k < 50; k++) {
      const p = av.pickRarest(null, want)
      expect([154]).toContain(p) // the only tier-1 piece with i % 7 === 0 in [150, 160)
    }
    av.destroy()
    want.destroy()
  })

  it('breaks ties uniformly at random, never picking a non-tied or unwanted piece', () => {
    const n = 1003 // not a multiple of 8 or 64
    const av = new Availability(n)
    const want = new Bitfield(n)
    const peer = new Bitfield(n).setAll()
    // Baseline: everything wanted has availability 3.
    for (let i = 0; i < n; i++) {
      for (let c = 0; c < 3; c++) av.have(i)
      want.set(i)
    }
    // Tied candidates at availability 1, across word and byte boundaries and the byte tail.
    const tied = [0, 7, 8, 63, 64, 65, 127, 500, 991, 999, 1000, 1002]
    for (const i of tied) lower(i, 2)
    // Rarer pieces that must never be picked: unwanted, priority 0, or not held by the peer.
    const traps = [5, 300, 301, 998]
    for (const i of traps) lower(i, 3)
    want.clear(5)
    av.setPriority(300, 301, 0)
    peer.clear(301)
    av.setPriority(998, 999, 0)

    const counts = new Map<number, number>()
    const picks = 24000
    for (let k = 0; k < picks; k++) {
      const p = av.pickRarest(peer, want)
      counts.set(p, (counts.get(p) ?? 0) + 1)
    }
    expect([...counts.keys()].sort((a, b) => a - b)).toEqual(tied)
    const expected = picks / tied.length // 2000, standard deviation ~43
    let chi2 = 0
    for (const i of tied) {
      const c = counts.get(i)!
      expect(c).toBeGreaterThan(expected * 0.8)
      expect(c).toBeLessThan(expected * 1.2)
      chi2 += (c - expected) ** 2 / expected
    }
    // 11 degrees of freedom: P(chi2 > 45) is about 5e-6.
    expect(chi2).toBeLessThan(45)
    for (const x of [av, want, peer]) x.destroy()

    function lower (i: number, times: number): void {
      const bf = new Bitfield(n)
      bf.set(i)
      for (let c = 0; c < times; c++) av.removePeer(bf)
      bf.destroy()
    }
  })

  it('two tied candidates in one byte are each picked about half the time', () => {
    const av = new Availability(16)
    const want = new Bitfield(16)
    want.set(10)
    want.set(11)
    let ten = 0
    const picks = 10000
    for (let k = 0; k < picks; k++) if (av.pickRarest(null, want) === 10) ten++
    expect(ten).toBeGreaterThan(picks * 0.45)
    expect(ten).toBeLessThan(picks * 0.55)
    av.destroy()
    want.destroy()
  })
})

describe('pickSequential against the reference', () => {
  it('finds the first highest-tier candidate from the cursor, wrapping around', () => {
    const r = rng(13)
    for (const n of SIZES) {
      for (let trial = 0; trial < 4; trial++) {
        const w = randomWorld(n, r, [0, 3, 10][trial % 3])
        const want = randomBits(n, [1, 0.5, 0.03, 0][trial], r)
        const wantBf = toBitfield(want)
        const cursors = [0, 1, n - 1, n, -1, 2.5, 7, 8, 63, 64, 65]
        for (let k = 0; k < 30; k++) cursors.push(Math.floor(r() * n))
        for (const cursor of cursors) {
          for (const k of [-1, 0, 1]) {
            if (k >= w.peers.length) continue
            const peer = k < 0 ? null : w.peers[k]
            const got = w.av.pickSequential(k < 0 ? null : w.bfs[k], wantBf, cursor)
            expect(got).toBe(refSequential(peer, want, w.prio, cursor))
          }
        }
        wantBf.destroy()
        w.destroy()
      }
    }
  })

  it('wraps to pieces before the cursor', () => {
    const av = new Availability(100)
    const want = new Bitfield(100)
    want.set(3)
    want.set(70)
    expect(av.pickSequential(null, want, 50)).toBe(70)
    expect(av.pickSequential(null, want, 71)).toBe(3)
    expect(av.pickSequential(null, want, 70)).toBe(70)
    av.setPriority(3, 4, 2)
    expect(av.pickSequential(null, want, 50)).toBe(3) // higher tier wins over order
    av.destroy()
    want.destroy()
  })
})

describe('priority tiers', () => {
  it('topPriority follows raises and lowers, and sequential picks follow it', () => {
    const n = 300
    const av = new Availability(n)
    const want = new Bitfield(n).setAll()
    expect(av.topPriority()).toBe(DEFAULT_PRIORITY)
    av.setPriority(200, 210, 9)
    expect(av.topPriority()).toBe(9)
    expect(av.pickSequential(null, want, 0)).toBe(200)
    av.setPriority(250, 251, 4)
    av.setPriority(200, 205, 2) // 205..209 still at 9
    expect(av.topPriority()).toBe(9)
    expect(av.pickSequential(null, want, 0)).toBe(205)
    av.setPriority(205, 210, 3) // top tier gone: 4 at 250 is the highest now
    expect(av.topPriority()).toBe(4)
    expect(av.pickSequential(null, want, 260)).toBe(250)
    av.setPriority(0, n, 0)
    expect(av.topPriority()).toBe(0)
    expect(av.pickSequential(null, want, 10)).toBe(-1)
    av.setPriority(7, 8, 1)
    expect(av.pickSequential(null, want, 10)).toBe(7)
    av.setPriority(0, n, 255)
    expect(av.pickSequential(null, want, 10)).toBe(10)
    av.destroy()
    want.destroy()
  })
})

describe('Availability memory', () => {
  it('counts and picks stay right after memory grows', () => {
    const r = rng(14)
    const w = randomWorld(3001, r, 30)
    const mem = wasm().memory
    const before = mem.buffer.byteLength
    const many: Bitfield[] = []
    while (mem.buffer.byteLength < before + (4 << 20)) many.push(new Bitfield(8 << 20))
    for (let i = 0; i < 3001; i++) expect(w.av.get(i)).toBe(w.ref[i])
    const want = new Array<boolean>(3001).fill(true)
    const wantBf = new Bitfield(3001).setAll()
    for (let k = 0; k < 20; k++) {
      expect(refRarestTies(w.peers[k], want, w.prio, w.ref)).toContain(w.av.pickRarest(w.bfs[k], wantBf))
    }
    for (const m of many) m.destroy()
    wantBf.destroy()
    w.destroy()
  })

  it('destroy frees the counts and priorities', () => {
    const mem = wasm().memory
    new Availability(1 << 18).destroy()
    const size = mem.buffer.byteLength
    for (let k = 0; k < 300; k++) new Availability(1 << 18).destroy() // 1.25 MiB each: 375 MiB if leaked
    expect(mem.buffer.byteLength).toBe(size)
  })
})
