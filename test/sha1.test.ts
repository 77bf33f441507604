import { createHash } from 'node:crypto'
import { afterAll, describe, it, expect } from 'vitest'
import { sha1, WasmTorrentError } from '../src/index.js'
import { rng, randomBytes, randInt } from './helpers/random.js'

const ref = (d: Uint8Array) => createHash('sha1').update(d).digest('hex')
const hex = (d: Uint8Array) => Buffer.from(d).toString('hex')
const SIZES = [0, 1, 55, 56, 63, 64, 65, 119, 120, 127, 128, 16 * 1024, 256 * 1024 + 3, 4 * 1024 * 1024 + 1]

afterAll(() => sha1.use('auto'))

describe('sha1 seam', () => {
  it('offers the WASM engine everywhere and node:crypto in Node, which auto picks', () => {
    expect(sha1.engines).toEqual(expect.arrayContaining(['wasm', 'node:crypto']))
    sha1.use('auto')
    expect(sha1.engine).toBe('node:crypto')
    expect(() => sha1.use('nope')).toThrow(WasmTorrentError)
  })
})

describe.each(['wasm', 'node:crypto'])('sha1 engine %s', (engine) => {
  it('known vectors', () => {
    sha1.use(engine)
    const te = new TextEncoder()
    expect(sha1.hex(new Uint8Array(0))).toBe('da39a3ee5e6b4b0d3255bfef95601890afd80709')
    expect(sha1.hex(te.encode('abc'))).toBe('a9993e364706816aba3e25717850c26c9cd0d89d')
    expect(sha1.hex(te.encode('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq')))
      .toBe('84983e441c3bd26ebaae4aa1f95129e5e54670f1')
    expect(sha1.hex(new Uint8Array(1_000_000).fill(0x61))).toBe('34aa973cd4c4daa4f61eeb2bdbad27316534016f')
  })

  it.each(SIZES)('one-shot matches node:crypto at %i bytes', (size) => {
    sha1.use(engine)
    const data = randomBytes(rng(size + 1), size)
    expect(hex(sha1(data))).toBe(ref(data))
  })

  it('incremental updates with random splits match one-shot', () => {
    sha1.use(engine)
    const rand = rng(7)
    for (const size of SIZES) {
      const data = randomBytes(rand, size)
      for (let trial = 0; trial < 8; trial++) {
        const h = sha1.create()
        let off = 0
        while (off < size) {
          // Mix tiny, block-straddling and large pieces.
          const max = rand() < 0.5 ? 70 : size
          const n = Math.min(size - off, randInt(rand, 0, max))
          h.update(data.subarray(off, off + n))
          off += n
        }
        expect(hex(h.digest())).toBe(ref(data))
      }
    }
  })

  it('many incremental hashers can be open at once', () => {
    sha1.use(engine)
    const rand = rng(11)
    const inputs = Array.from({ length: 5 }, (_, i) => randomBytes(rand, 1000 + i * 333))
    const hashers = inputs.map(() => sha1.create())
    for (let off = 0; off < 3000; off += 100) {
      inputs.forEach((d, i) => hashers[i].update(d.subarray(off, off + 100)))
    }
    inputs.forEach((d, i) => expect(hex(hashers[i].digest())).toBe(ref(d)))
  })

  it('batch of equal items with a shorter last item, and batch of separate buffers', () => {
    sha1.use(engine)
    const rand = rng(3)
    for (const [itemLen, total] of [[16384, 16384 * 7 + 5], [64, 64 * 100], [1000, 999], [300 * 1024, 300 * 1024 * 2 + 1]]) {
      const data = randomBytes(rand, total)
      const out = sha1.batch(data, itemLen)
      const count = Math.ceil(total / itemLen)
      expect(out.length).toBe(count * 20)
      for (let i = 0; i < count; i++) {
        expect(hex(out.subarray(i * 20, i * 20 + 20))).toBe(ref(data.subarray(i * itemLen, (i + 1) * itemLen)))
      }
    }
    const items = [randomBytes(rand, 0), randomBytes(rand, 77), randomBytes(rand, 5000)]
    expect(sha1.batch(items).map(hex)).toEqual(items.map(ref))
    expect(() => sha1.batch(items[1], 0)).toThrow(WasmTorrentError)
  })

  it('a digested hasher cannot be reused', () => {
    sha1.use(engine)
    const h = sha1.create()
    h.update(new Uint8Array(3))
    h.digest()
    expect(() => h.update(new Uint8Array(1))).toThrow()
    expect(() => h.digest()).toThrow()
  })
})
