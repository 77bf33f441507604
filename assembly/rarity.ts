// Piece availability (how many connected peers have each piece) and the piece pickers built on it.
//
// Availability is a u32 per piece in caller memory, updated incrementally: a peer's bitfield is added when
// it arrives and subtracted when the peer goes, a `have` is a single increment done by the caller. Peers
// that have everything (have-all, seeds) are best counted by the caller as one number: a uniform offset
// changes no rarity ordering.
//
// Priorities are a u8 per piece: 0 = never pick, higher tiers first. `want` is the caller's bitfield of
// pieces it would start now (missing, selected, not fully requested).

// LUT[b] = the 8 bits of byte b (high bit first) as eight i32 lanes of 0 or 1: two v128 per byte value.
const LUT: usize = memory.data(256 * 32, 16)
for (let b = 0; b < 256; b++) {
  for (let k = 0; k < 8; k++) store<i32>(LUT + <usize>((b << 3) + k) * 4, (b >> (7 - k)) & 1)
}

/** avail[i] += delta (1 or -1) for every piece i < npieces set in bf. */
export function availAddBitfield (avail: usize, bf: usize, npieces: i32, delta: i32): void {
  const full = npieces >> 3
  for (let j = 0; j < full; j++) {
    const b = <usize>load<u8>(bf + <usize>j)
    if (b == 0) continue
    const dst = avail + (<usize>j << 5)
    const src = LUT + (b << 5)
    if (delta > 0) {
      v128.store(dst, i32x4.add(v128.load(dst), v128.load(src)))
      v128.store(dst, i32x4.add(v128.load(dst, 16), v128.load(src, 16)), 16)
    } else {
      v128.store(dst, i32x4.sub(v128.load(dst), v128.load(src)))
      v128.store(dst, i32x4.sub(v128.load(dst, 16), v128.load(src, 16)), 16)
    }
  }
  const rest = npieces & 7
  if (rest) {
    const b = <i32>load<u8>(bf + <usize>full)
    for (let k = 0; k < rest; k++) {
      if ((b >> (7 - k)) & 1) {
        const p = avail + (<usize>((full << 3) + k) << 2)
        store<i32>(p, load<i32>(p) + delta)
      }
    }
  }
}

/** avail[i] += delta for every piece. */
export function availAddAll (avail: usize, npieces: i32, delta: i32): void {
  const d = i32x4.splat(delta)
  let i = 0
  for (; i + 4 <= npieces; i += 4) {
    const p = avail + (<usize>i << 2)
    v128.store(p, i32x4.add(v128.load(p), d))
  }
  for (; i < npieces; i++) {
    const p = avail + (<usize>i << 2)
    store<i32>(p, load<i32>(p) + delta)
  }
}

let rng: u32 = 1

@inline function nextRandom (): u32 {
  let x = rng
  x ^= x << 13
  x ^= x >> 17
  x ^= x << 5
  rng = x
  return x
}

@inline function candidates (peer: usize, want: usize, byteIndex: i32): u64 {
  const wv = load<u64>(want + <usize>byteIndex)
  return peer == 0 ? wv : wv & load<u64>(peer + <usize>byteIndex)
}

/**
 * Rarest-first: among pieces set in `want` and in `peer` (0 = a peer with every piece) with prio > 0, the
 * highest priority tier, then the lowest availability; ties broken uniformly at random (reservoir sampling,
 * xorshift seeded from `seed`). Returns the piece index or -1.
 */
export function pickRarest (peer: usize, want: usize, prio: usize, avail: usize, npieces: i32, seed: u32): i32 {
  rng = seed == 0 ? 0x9e3779b9 : seed
  const nbytes = (npieces + 7) >> 3
  let best: i32 = -1
  let bestPrio: u32 = 0
  let bestAvail: u32 = 0
  let ties: u32 = 0
  let j = 0
  while (j < nbytes) {
    let x: u64
    let width: i32
    if (j + 8 <= nbytes) {
      x = bswap<u64>(candidates(peer, want, j))
      width = 8
    } else {
      const wb = <u64>load<u8>(want + <usize>j)
      x = (peer == 0 ? wb : wb & <u64>load<u8>(peer + <usize>j)) << 56
      width = 1
    }
    while (x != 0) {
      const k = <i32>clz<u64>(x)
      x &= ~(<u64>0x8000000000000000 >> k)
      const i = (j << 3) + k
      if (i >= npieces) break
      const p = <u32>load<u8>(prio + <usize>i)
      if (p == 0 || p < bestPrio) continue
      const a = load<u32>(avail + (<usize>i << 2))
      if (p > bestPrio || a < bestAvail) {
        best = i
        bestPrio = p
        bestAvail = a
        ties = 1
      } else if (a == bestAvail) {
        ties++
        if (nextRandom() % ties == 0) best = i
      }
    }
    j += width
  }
  return best
}

// Scans [from, to) in order and keeps the first candidate of the highest priority tier seen so far; stops
// at a candidate whose priority reaches seqStop (nothing later can beat it).
let seqBest: i32 = -1
let seqBestPrio: u32 = 0
let seqStop: u32 = 255

function scanSequential (peer: usize, want: usize, prio: usize, from: i32, to: i32): void {
  let i = from
  while (i < to) {
    const byteIndex = i >> 3
    let x: u64
    let base: i32
    if (byteIndex + 8 <= ((to + 7) >> 3)) {
      x = bswap<u64>(candidates(peer, want, byteIndex))
    } else {
      const wb = <u64>load<u8>(want + <usize>byteIndex)
      x = (peer == 0 ? wb : wb & <u64>load<u8>(peer + <usize>byteIndex)) << 56
    }
    base = byteIndex << 3
    // Drop bits before i.
    const skip = i - base
    if (skip > 0) x &= <u64>0xffffffffffffffff >> skip
    const width = byteIndex + 8 <= ((to + 7) >> 3) ? 64 : 8
    while (x != 0) {
      const k = <i32>clz<u64>(x)
      x &= ~(<u64>0x8000000000000000 >> k)
      const idx = base + k
      if (idx >= to) return
      const p = <u32>load<u8>(prio + <usize>idx)
      if (p > seqBestPrio) {
        seqBest = idx
        seqBestPrio = p
        if (p >= seqStop) return
      }
    }
    i = base + width
  }
}

/**
 * Sequential: the first piece at or after `cursor` (wrapping to 0) that is in `want` and in `peer`, taking
 * the highest priority tier first. Returns the piece index or -1.
 *
 * `topPrio` is the highest priority any piece has (255 if unknown). Without it the scan could not stop at
 * the first candidate: a higher tier might come later, so every pick would read to the end and wrap.
 */
export function pickSequential (peer: usize, want: usize, prio: usize, npieces: i32, cursor: i32, topPrio: u32): i32 {
  seqBest = -1
  seqBestPrio = 0
  seqStop = topPrio == 0 || topPrio > 255 ? 255 : topPrio
  if (cursor < 0 || cursor >= npieces) cursor = 0
  scanSequential(peer, want, prio, cursor, npieces)
  if (seqBestPrio < seqStop && cursor > 0) scanSequential(peer, want, prio, 0, cursor)
  return seqBest
}
