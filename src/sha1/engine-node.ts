// node:crypto SHA-1 (OpenSSL, SHA-NI where the CPU has it). Reached only through the "#sha1-native" import
// condition, so browser bundles never contain node:crypto.
import { createHash } from 'node:crypto'
import type { Sha1Engine, Sha1Hasher } from './types.js'

class NodeHasher implements Sha1Hasher {
  private readonly h = createHash('sha1')
  update (data: Uint8Array): this {
    this.h.update(data)
    return this
  }

  digest (): Uint8Array {
    const d = this.h.digest()
    return new Uint8Array(d.buffer, d.byteOffset, d.byteLength)
  }
}

function digest (data: Uint8Array): Uint8Array {
  const d = createHash('sha1').update(data).digest()
  return new Uint8Array(d.buffer, d.byteOffset, d.byteLength)
}

export const nativeEngine: Sha1Engine | null = {
  name: 'node:crypto',
  digest,
  digestBatch (data, itemLen) {
    const count = Math.ceil(data.length / itemLen)
    const out = new Uint8Array(count * 20)
    for (let i = 0; i < count; i++) {
      out.set(createHash('sha1').update(data.subarray(i * itemLen, Math.min(data.length, (i + 1) * itemLen))).digest(), i * 20)
    }
    return out
  },
  createHasher: () => new NodeHasher()
}
