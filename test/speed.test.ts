import { describe, expect, it } from 'vitest'
import { SpeedMeter } from '../src/wire/speed.js'

describe('SpeedMeter', () => {
  it('measures a steady rate from the start, not diluted by the empty window', () => {
    let t = 10_000
    const m = new SpeedMeter(5, () => t)
    for (let i = 0; i < 20; i++) { t += 100; m.add(100_000) } // 1 MB/s for 2 s
    expect(m.rate()).toBeGreaterThan(900_000)
    expect(m.rate()).toBeLessThan(1_100_000)
  })

  it('forgets bytes older than the window and reads 0 when idle', () => {
    let t = 50_000
    const m = new SpeedMeter(5, () => t)
    for (let i = 0; i < 100; i++) { t += 100; m.add(10_000) } // 100 kB/s for 10 s
    expect(m.rate()).toBeGreaterThan(90_000)
    expect(m.rate()).toBeLessThan(110_000)
    t += 6000
    expect(m.rate()).toBe(0)
  })
})
