// SHA-1 (FIPS 180-4): one-shot, incremental (init / whole blocks / final) and batch.
//
// State: 5 x u32 (h0..h4) in caller memory, so any number of hashes can be in flight. Digests are written
// as 20 big-endian bytes. Partial blocks between incremental calls are buffered by the caller.

import { sha1Compress } from './sha1-compress'

// Padding area (two blocks): static scratch. One instance serves one thread, and no kernel calls back into
// JS, so a call never sees another call's scratch.
const PAD: usize = memory.data(128, 16)

export function sha1Init (state: usize): void {
  store<u32>(state, 0x67452301)
  store<u32>(state, 0xefcdab89, 4)
  store<u32>(state, 0x98badcfe, 8)
  store<u32>(state, 0x10325476, 12)
  store<u32>(state, 0xc3d2e1f0, 16)
}

/** Compresses `nblocks` consecutive 64-byte blocks at `data` into the state. */
export function sha1Blocks (state: usize, data: usize, nblocks: i32): void {
  sha1Compress(state, data, nblocks)
}

/**
 * Hashes the last `len` bytes at `data` (any length; whole blocks first), pads with the total message length
 * `totalHi:totalLo` bytes, and writes the digest to `out`.
 */
export function sha1Final (state: usize, data: usize, len: i32, totalLo: u32, totalHi: u32, out: usize): void {
  const whole = len >> 6
  if (whole > 0) sha1Blocks(state, data, whole)
  const rest = len & 63
  memory.copy(PAD, data + (<usize>whole << 6), <usize>rest)
  store<u8>(PAD + <usize>rest, 0x80)
  const padBlocks = rest < 56 ? 1 : 2
  const lenAt = (padBlocks << 6) - 8
  memory.fill(PAD + <usize>rest + 1, 0, <usize>(lenAt - rest - 1))
  // Length in bits, big-endian.
  const bitsHi = (totalHi << 3) | (totalLo >>> 29)
  const bitsLo = totalLo << 3
  store<u32>(PAD + <usize>lenAt, bswap<u32>(bitsHi))
  store<u32>(PAD + <usize>lenAt + 4, bswap<u32>(bitsLo))
  sha1Blocks(state, PAD, padBlocks)
  store<u32>(out, bswap<u32>(load<u32>(state)))
  store<u32>(out, bswap<u32>(load<u32>(state, 4)), 4)
  store<u32>(out, bswap<u32>(load<u32>(state, 8)), 8)
  store<u32>(out, bswap<u32>(load<u32>(state, 12)), 12)
  store<u32>(out, bswap<u32>(load<u32>(state, 16)), 16)
}

const ONE_SHOT_STATE: usize = memory.data(20, 16)

/** One-shot digest of `len` bytes at `data` into `out`. */
export function sha1 (data: usize, len: i32, out: usize): void {
  sha1Init(ONE_SHOT_STATE)
  sha1Final(ONE_SHOT_STATE, data, len, <u32>len, 0, out)
}

/** Digests of `count` consecutive inputs of `itemLen` bytes each, written as 20-byte digests at `out`. */
export function sha1Batch (data: usize, itemLen: i32, count: i32, out: usize): void {
  for (let i = 0; i < count; i++) {
    sha1(data + <usize>i * <usize>itemLen, itemLen, out + <usize>i * 20)
  }
}
