/**
 * SHA-1 on the WASM kernel. Input is copied into kernel memory in chunks of at most CHUNK bytes, so hashing a
 * large buffer never needs a large scratch region.
 */
import { wasm, u8, u32, Region } from '../wasm/index.js'
import type { Sha1Hasher } from './types.js'

// 256 KiB: large enough that the per-call overhead vanishes, small enough to stay in L2 with the state.
const CHUNK = 256 * 1024

const scratch = new Region(CHUNK + 64)
const misc = new Region() // [0..20) state, [32..52) digest, [64..128) pending block

function miscPtr (): number {
  return misc.ensure(128)
}

/** Compresses the whole 64-byte blocks of `data` into the state at `state`; returns bytes consumed. */
function blocks (statePtr: number, data: Uint8Array): number {
  const k = wasm()
  const whole = data.length & ~63
  const buf = scratch.ensure(Math.min(CHUNK, Math.max(whole, 64)))
  for (let off = 0; off < whole; off += CHUNK) {
    const n = Math.min(CHUNK, whole - off)
    u8().set(data.subarray(off, off + n), buf)
    k.sha1Blocks(statePtr, buf, n >>> 6)
  }
  return whole
}

function finish (statePtr: number, tail: Uint8Array, total: number, out: Uint8Array, outOff: number): void {
  const k = wasm()
  const m = miscPtr()
  u8().set(tail, m + 64)
  k.sha1Final(statePtr, m + 64, tail.length, total >>> 0, Math.floor(total / 0x100000000), m + 32)
  out.set(u8().subarray(m + 32, m + 52), outOff)
}

export function wasmSha1 (data: Uint8Array): Uint8Array {
  const k = wasm()
  const out = new Uint8Array(20)
  if (data.length <= CHUNK) {
    const buf = scratch.ensure(Math.max(data.length, 64))
    const m = miscPtr()
    u8().set(data, buf)
    k.sha1(buf, data.length, m + 32)
    out.set(u8().subarray(m + 32, m + 52))
    return out
  }
  const m = miscPtr()
  k.sha1Init(m)
  const used = blocks(m, data)
  finish(m, data.subarray(used), data.length, out, 0)
  return out
}

/**
 * Digests of consecutive items of `itemLen` bytes in `data` (the last may be shorter, like a torrent's last
 * piece), concatenated: 20 bytes per item.
 */
export function wasmSha1Batch (data: Uint8Array, itemLen: number): Uint8Array {
  const k = wasm()
  const count = Math.ceil(data.length / itemLen)
  const out = new Uint8Array(count * 20)
  const fullItems = Math.floor(data.length / itemLen)
  if (itemLen <= CHUNK) {
    const perCall = Math.max(1, Math.floor(CHUNK / itemLen))
    const buf = scratch.ensure(perCall * itemLen + perCall * 20)
    const outPtr = buf + perCall * itemLen
    for (let i = 0; i < fullItems; i += perCall) {
      const n = Math.min(perCall, fullItems - i)
      u8().set(data.subarray(i * itemLen, (i + n) * itemLen), buf)
      k.sha1Batch(buf, itemLen, n, outPtr)
      out.set(u8().subarray(outPtr, outPtr + n * 20), i * 20)
    }
  } else {
    for (let i = 0; i < fullItems; i++) out.set(wasmSha1(data.subarray(i * itemLen, (i + 1) * itemLen)), i * 20)
  }
  if (fullItems < count) out.set(wasmSha1(data.subarray(fullItems * itemLen)), fullItems * 20)
  return out
}

/** Incremental SHA-1: state and the partial block live in JS, so any number can be open at once. */
export class WasmSha1Hasher implements Sha1Hasher {
  private readonly state = new Uint32Array([0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476, 0xc3d2e1f0])
  private readonly pending = new Uint8Array(64)
  private pendingLen = 0
  private total = 0
  private done = false

  update (data: Uint8Array): this {
    if (this.done) throw new Error('sha1: update after digest')
    this.total += data.length
    let off = 0
    if (this.pendingLen > 0) {
      off = Math.min(64 - this.pendingLen, data.length)
      this.pending.set(data.subarray(0, off), this.pendingLen)
      this.pendingLen += off
      if (this.pendingLen < 64) return this
      this.run(this.pending)
      this.pendingLen = 0
    }
    const rest = data.subarray(off)
    if (rest.length >= 64) off += this.run(rest)
    const tail = data.subarray(off)
    this.pending.set(tail)
    this.pendingLen = tail.length
    return this
  }

  private run (data: Uint8Array): number {
    const m = miscPtr()
    const mem32 = u32()
    mem32.set(this.state, m >>> 2)
    const used = blocks(m, data)
    this.state.set(u32().subarray(m >>> 2, (m >>> 2) + 5))
    return used
  }

  digest (): Uint8Array {
    if (this.done) throw new Error('sha1: digest called twice')
    this.done = true
    const m = miscPtr()
    u32().set(this.state, m >>> 2)
    const out = new Uint8Array(20)
    finish(m, this.pending.subarray(0, this.pendingLen), this.total, out, 0)
    return out
  }
}
