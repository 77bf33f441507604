import { describe, expect, it } from 'vitest'
import { RateLimiter } from '../src/engine/throttle.js'

describe('RateLimiter (token bucket)', () => {
  it('-1 is unlimited, 0 blocks everything, a rate refills over time', () => {
    let t = 0
    const now = () => t
    expect(new RateLimiter(-1, null, now).tryTake(1e12)).toBe(true)
    const blocked = new RateLimiter(0, null, now)
    expect(blocked.tryTake(1)).toBe(false)
    expect(blocked.delay(1)).toBe(Infinity)
    const r = new RateLimiter(100_000, null, now)
    expect(r.tryTake(100_000)).toBe(true) // a full second of burst
    expect(r.tryTake(1)).toBe(false)
    expect(r.delay(50_000)).toBe(500)
    t = 500
    expect(r.tryTake(50_000)).toBe(true)
    expect(r.tryTake(1)).toBe(false)
    t = 10_000
    expect(r.tryTake(100_001)).toBe(false) // the burst is capped at one second
    expect(r.tryTake(100_000)).toBe(true)
  })

  it('a child takes from its parent too, and from neither when one cannot grant', () => {
    let t = 0
    const now = () => t
    const global = new RateLimiter(50_000, null, now)
    const a = new RateLimiter(40_000, global, now)
    const b = new RateLimiter(-1, global, now)
    expect(a.tryTake(30_000)).toBe(true)
    expect(b.tryTake(30_000)).toBe(false) // only 20,000 left globally
    expect(b.tryTake(20_000)).toBe(true)
    expect(a.tryTake(10_000)).toBe(false) // a has 10,000 but the parent has none
    t = 1000
    expect(a.tryTake(10_000)).toBe(true)
  })

  it('limits change at runtime and wake queued takers', async () => {
    const r = new RateLimiter(0)
    let woke = false
    r.whenAvailable(1000, () => { woke = r.tryTake(1000) })
    await new Promise(resolve => setTimeout(resolve, 50))
    expect(woke).toBe(false)
    r.setRate(-1)
    expect(woke).toBe(true)
  })

  it('queued takers on a child wake when the parent is unblocked', async () => {
    const parent = new RateLimiter(0)
    const child = new RateLimiter(-1, parent)
    let woke = false
    child.whenAvailable(500, () => { woke = child.tryTake(500) })
    await new Promise(resolve => setTimeout(resolve, 20))
    expect(woke).toBe(false)
    parent.setRate(1_000_000)
    expect(woke).toBe(true)
  })
})
