import { createHash } from 'node:crypto'
import { createSHA1 } from 'hash-wasm'
import { sha1 } from '../src/index.js'
import { wasmEngine } from '../src/sha1/index.js'
import type { BenchGroup } from './lib.js'
import { randomBytes, rng } from '../test/helpers/random.js'

const hw = await createSHA1()
let sink: unknown

function group (size: number): BenchGroup {
  const data = randomBytes(rng(size), size)
  const label = size >= 1 << 20 ? `${size >> 20} MiB` : `${size >> 10} KiB`
  return {
    name: `sha1: ${label}`,
    bytesPerOp: size,
    target: 1,
    cases: [
      { name: 'wasmtorrent wasm', ours: true, fn: () => { sink = wasmEngine.digest(data) } },
      { name: 'hash-wasm', baseline: true, fn: () => { hw.init(); hw.update(data); sink = hw.digest('binary') } },
      { name: 'node:crypto', fn: () => { sink = createHash('sha1').update(data).digest() } },
      { name: 'wasmtorrent sha1() seam', fn: () => { sink = sha1(data) } }
    ]
  }
}

function batchGroup (): BenchGroup {
  // 64 pieces of 256 KiB in one call: the verification workers' shape.
  const piece = 256 * 1024
  const data = randomBytes(rng(5), piece * 64)
  return {
    name: 'sha1 batch: 64 x 256 KiB',
    bytesPerOp: data.length,
    target: 1,
    cases: [
      { name: 'wasmtorrent wasm batch', ours: true, fn: () => { sink = wasmEngine.digestBatch(data, piece) } },
      {
        name: 'hash-wasm',
        baseline: true,
        fn: () => {
          for (let i = 0; i < 64; i++) { hw.init(); hw.update(data.subarray(i * piece, (i + 1) * piece)); sink = hw.digest('binary') }
        }
      },
      { name: 'node:crypto', fn: () => { for (let i = 0; i < 64; i++) sink = createHash('sha1').update(data.subarray(i * piece, (i + 1) * piece)).digest() } }
    ]
  }
}

export const groups: BenchGroup[] = [16 * 1024, 256 * 1024, 1 << 20, 4 << 20].map(group).concat(batchGroup())

export { sink }
