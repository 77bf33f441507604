import { describe, it, expect } from 'vitest'
import v8 from 'node:v8'
import vm from 'node:vm'
import NpmBitField from 'bitfield'
import { Bitfield, MAX_BITS } from '../src/bitfield/index.js'
import { WasmTorrentError, WireProtocolError } from '../src/errors.js'
import { wasm } from '../src/wasm/index.js'

// Deterministic PRNG (mulberry32) so failures reproduce.
function rng (seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) | 0
    let t = Math.imul(a ^ (a >>> 15), 1 | a)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** Reference: a plain array of booleans. */
function randomBits (n: number, density: number, r: () => number): boolean[] {
  return Array.from({ length: n }, () => r() < density)
}

/** Reference BEP 3 packing: piece 0 = high bit of byte 0. */
function pack (bits: boolean[]): Uint8Array {
  const out = new Uint8Array((bits.length + 7) >> 3)
  bits.forEach((b, i) => { if (b) out[i >> 3] |= 0x80 >> (i & 7) })
  return out
}

function fromBits (bits: boolean[]): Bitfield {
  return Bitfield.from(pack(bits), bits.length)
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

const SIZES = [0, 1, 2, 7, 8, 9, 15, 16, 17, 63, 64, 65, 127, 128, 129, 1000, 1001, 4099]

describe('Bitfield basics', () => {
  it('uses BEP 3 bit order', () => {
    const bf = new Bitfield(20)
    bf.set(0)
    bf.set(9)
    bf.set(19)
    expect([...bf.toBytes()]).toEqual([0x80, 0x40, 0x10])
    expect(bf.get(0)).toBe(true)
    expect(bf.get(1)).toBe(false)
    expect(bf.get(9)).toBe(true)
    expect(bf.get(19)).toBe(true)
    bf.clear(9)
    bf.set(0, false)
    expect([...bf.toBytes()]).toEqual([0, 0, 0x10])
    bf.destroy()
  })

  it('starts clear; get/set/clear match a reference for many sizes', () => {
    const r = rng(1)
    for (const n of SIZES) {
      const bf = new Bitfield(n)
      expect(bf.length).toBe(n)
      expect(bf.byteLength).toBe(Math.ceil(n / 8))
      expect(bf.count()).toBe(0)
      expect(bf.isEmpty()).toBe(true)
      const ref = new Array<boolean>(n).fill(false)
      for (let k = 0; k < 3 * n; k++) {
        const i = Math.floor(r() * n)
        const v = r() < 0.6
        if (r() < 0.5) bf.set(i, v)
        else if (v) bf.set(i)
        else bf.clear(i)
        ref[i] = v
      }
      for (let i = 0; i < n; i++) expect(bf.get(i)).toBe(ref[i])
      expect([...bf.toBytes()]).toEqual([...pack(ref)])
      expect(bf.count()).toBe(ref.filter(Boolean).length)
      bf.destroy()
    }
  })

  it('get outside the field is false; set/clear outside throw ERR_BITFIELD_INDEX', () => {
    const bf = new Bitfield(10)
    bf.setAll()
    for (const i of [-1, 10, 11, 16, 1e9, 1.5, NaN]) {
      expect(bf.get(i)).toBe(false)
      expect(codeOf(() => bf.set(i))).toBe('ERR_BITFIELD_INDEX')
      expect(codeOf(() => bf.clear(i))).toBe('ERR_BITFIELD_INDEX')
    }
    // Spare bits untouched.
    expect([...bf.toBytes()]).toEqual([0xff, 0xc0])
    bf.destroy()
  })

  it('rejects bad sizes with ERR_BITFIELD_SIZE', () => {
    for (const n of [-1, 1.5, NaN, MAX_BITS + 1]) {
      expect(codeOf(() => new Bitfield(n))).toBe('ERR_BITFIELD_SIZE')
    }
  })

  it('setAll sets every bit and keeps spare bits clear; clearAll clears', () => {
    for (const n of SIZES) {
      const bf = new Bitfield(n)
      bf.setAll()
      expect(bf.count()).toBe(n)
      expect(bf.isFull()).toBe(true)
      const bytes = bf.toBytes()
      const ref = pack(new Array<boolean>(n).fill(true))
      expect([...bytes]).toEqual([...ref])
      // Round-trips through the validating constructor, which checks the spare bits.
      const again = Bitfield.from(bytes, n)
      expect(again.count()).toBe(n)
      bf.clearAll()
      expect(bf.count()).toBe(0)
      bf.destroy()
      again.destroy()
    }
  })

  it('toBytes returns a copy', () => {
    const bf = new Bitfield(16)
    const b = bf.toBytes()
    b[0] = 0xff
    expect(bf.get(0)).toBe(false)
    bf.destroy()
  })

  it('clone and copyFrom copy the bits', () => {
    const r = rng(2)
    const bits = randomBits(1001, 0.5, r)
    const a = fromBits(bits)
    const c = a.clone()
    expect([...c.toBytes()]).toEqual([...pack(bits)])
    c.clear(0)
    c.set(1)
    expect(a.get(0)).toBe(bits[0])
    const d = new Bitfield(1001)
    d.copyFrom(a)
    expect([...d.toBytes()]).toEqual([...pack(bits)])
    for (const x of [a, c, d]) x.destroy()
  })
})

describe('Bitfield.from (peer bitfield messages, bad-input case 17)', () => {
  it('accepts the exact length with clear spare bits', () => {
    const bf = Bitfield.from(new Uint8Array([0xa5, 0x80]), 9)
    expect(bf.get(0)).toBe(true)
    expect(bf.get(1)).toBe(false)
    expect(bf.get(8)).toBe(true)
    expect(bf.count()).toBe(5)
    bf.destroy()
    Bitfield.from(new Uint8Array(0), 0).destroy()
  })

  it('rejects a wrong length with WireProtocolError ERR_BITFIELD_LENGTH', () => {
    for (const [len, n] of [[1, 9], [3, 9], [0, 1], [1, 0], [2, 8], [125, 1001], [127, 1001]]) {
      let err: unknown
      try {
        Bitfield.from(new Uint8Array(len), n)
      } catch (e) {
        err = e
      }
      expect(err).toBeInstanceOf(WireProtocolError)
      expect((err as WireProtocolError).code).toBe('ERR_BITFIELD_LENGTH')
    }
  })

  it('rejects set spare bits with WireProtocolError ERR_BITFIELD_SPARE_BITS', () => {
    for (let n = 1; n < 64; n++) {
      if (n % 8 === 0) continue
      for (let k = n % 8; k < 8; k++) {
        const bytes = new Uint8Array(Math.ceil(n / 8))
        bytes[bytes.length - 1] = 0x80 >> k
        let err: unknown
        try {
          Bitfield.from(bytes, n)
        } catch (e) {
          err = e
        }
        expect(err).toBeInstanceOf(WireProtocolError)
        expect((err as WireProtocolError).code).toBe('ERR_BITFIELD_SPARE_BITS')
      }
    }
  })

  it('copies its input', () => {
    const bytes = new Uint8Array([0xff])
    const bf = Bitfield.from(bytes, 8)
    bytes[0] = 0
    expect(bf.count()).toBe(8)
    bf.destroy()
  })
})

describe('Bitfield bulk operations against a reference', () => {
  it('and / andNot / or / firstAnd / countAnd', () => {
    const r = rng(3)
    for (const n of SIZES) {
      for (let trial = 0; trial < 6; trial++) {
        const dA = [0, 0.02, 0.5, 1][trial % 4]
        const dB = [0.5, 1, 0.01, 0][trial % 4]
        const A = randomBits(n, dA, r)
        const B = randomBits(n, dB, r)
        const a = fromBits(A)
        const b = fromBits(B)

        let first = -1
        for (let i = 0; i < n; i++) if (A[i] && B[i]) { first = i; break }
        expect(a.firstAnd(b)).toBe(first)
        expect(a.countAnd(b)).toBe(A.filter((x, i) => x && B[i]).length)

        const and = a.clone().and(b)
        const andNot = a.clone().andNot(b)
        const or = a.clone().or(b)
        expect([...and.toBytes()]).toEqual([...pack(A.map((x, i) => x && B[i]))])
        expect([...andNot.toBytes()]).toEqual([...pack(A.map((x, i) => x && !B[i]))])
        expect([...or.toBytes()]).toEqual([...pack(A.map((x, i) => x || B[i]))])
        for (const x of [a, b, and, andNot, or]) x.destroy()
      }
    }
  })

  it('firstAnd finds the bit in every position of a 64-bit word and of the byte tail', () => {
    for (const n of [64, 72, 129]) {
      const a = new Bitfield(n).setAll()
      const b = new Bitfield(n)
      for (let i = 0; i < n; i++) {
        b.clearAll()
        b.set(i)
        expect(a.firstAnd(b)).toBe(i)
        expect(b.firstAnd(a)).toBe(i)
        expect(a.countAnd(b)).toBe(1)
      }
      a.destroy()
      b.destroy()
    }
  })

  it('rejects bitfields of different sizes', () => {
    const a = new Bitfield(10)
    const b = new Bitfield(11)
    expect(codeOf(() => a.and(b))).toBe('ERR_BITFIELD_SIZE_MISMATCH')
    expect(codeOf(() => a.firstAnd(b))).toBe('ERR_BITFIELD_SIZE_MISMATCH')
    a.destroy()
    b.destroy()
  })
})

describe('npm bitfield compatibility', () => {
  it('get/set agree with npm bitfield on the same operations', () => {
    const r = rng(4)
    const n = 777
    const ours = new Bitfield(n)
    const theirs = new NpmBitField(n)
    for (let k = 0; k < 3000; k++) {
      const i = Math.floor(r() * n)
      const v = r() < 0.5
      ours.set(i, v)
      theirs.set(i, v)
    }
    for (let i = -3; i < n + 20; i++) expect(ours.get(i)).toBe(theirs.get(i))
    expect([...ours.toBytes()]).toEqual([...theirs.buffer])
    ours.destroy()
  })
})

describe('Bitfield memory', () => {
  it('old bitfields read correctly after memory grows', () => {
    const r = rng(5)
    const mem = wasm().memory
    const bits = randomBits(5000, 0.5, r)
    const old = fromBits(bits)
    const before = mem.buffer
    const startBytes = before.byteLength
    const many: Bitfield[] = []
    // 1 MiB each until memory has grown at least twice.
    while (mem.buffer.byteLength < startBytes + (8 << 20)) many.push(new Bitfield(8 << 20).setAll())
    expect(mem.buffer).not.toBe(before)
    expect(before.byteLength).toBe(0) // growth detached the old buffer
    for (let i = 0; i < bits.length; i++) expect(old.get(i)).toBe(bits[i])
    expect([...old.toBytes()]).toEqual([...pack(bits)])
    expect(old.count()).toBe(bits.filter(Boolean).length)
    for (const m of many) expect(m.count()).toBe(8 << 20)
    for (const m of many) m.destroy()
    old.destroy()
  })

  it('destroy frees the memory (allocating and destroying does not grow memory)', () => {
    const mem = wasm().memory
    // Warm up so the free lists hold a block of this size.
    new Bitfield(1 << 20).destroy()
    const size = mem.buffer.byteLength
    for (let k = 0; k < 2000; k++) new Bitfield(1 << 20).destroy() // 128 KiB each: 250 MiB if leaked
    expect(mem.buffer.byteLength).toBe(size)
  })

  it('use after destroy throws ERR_BITFIELD_DESTROYED; destroy twice is a no-op', () => {
    const bf = new Bitfield(100)
    const other = new Bitfield(100)
    bf.destroy()
    bf.destroy()
    expect(bf.destroyed).toBe(true)
    expect(codeOf(() => bf.get(0))).toBe('ERR_BITFIELD_DESTROYED')
    expect(codeOf(() => bf.set(0))).toBe('ERR_BITFIELD_DESTROYED')
    expect(codeOf(() => bf.count())).toBe('ERR_BITFIELD_DESTROYED')
    expect(codeOf(() => bf.ptr)).toBe('ERR_BITFIELD_DESTROYED')
    expect(codeOf(() => other.and(bf))).toBe('ERR_BITFIELD_DESTROYED')
    expect(codeOf(() => bf.toBytes())).toBe('ERR_BITFIELD_DESTROYED')
    other.destroy()
  })

  it('the FinalizationRegistry frees bitfields that were never destroyed', async () => {
    v8.setFlagsFromString('--expose-gc')
    const gc = vm.runInNewContext('gc') as () => void
    const mem = wasm().memory
    const leakRound = (): void => {
      for (let k = 0; k < 200; k++) new Bitfield(1 << 20) // 128 KiB each, dropped without destroy()
    }
    const collect = async (): Promise<void> => {
      for (let k = 0; k < 5; k++) {
        gc()
        await new Promise(resolve => setTimeout(resolve, 10))
      }
    }
    leakRound()
    await collect()
    const size = mem.buffer.byteLength
    // Without the safety net each round would add 25 MiB.
    for (let round = 0; round < 8; round++) {
      leakRound()
      await collect()
    }
    expect(mem.buffer.byteLength).toBeLessThanOrEqual(size + (26 << 20))
  })
})
