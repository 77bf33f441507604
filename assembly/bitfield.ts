// Bitfields in BEP 3 layout: piece i is bit (7 - i % 8) of byte i / 8, so piece 0 is the high bit of byte 0.
// Spare bits (past the last piece in the last byte) are kept clear by every writer here.
//
// Bulk operations work on 64-bit words. A little-endian u64 load puts byte 0 in the low bits; bswap turns it
// so the first piece is the most significant bit and clz gives its position.

export function bfGet (bf: usize, i: i32): i32 {
  return (<i32>load<u8>(bf + (<usize>i >> 3)) >> (7 - (i & 7))) & 1
}

export function bfSet (bf: usize, i: i32): void {
  const p = bf + (<usize>i >> 3)
  store<u8>(p, <u32>load<u8>(p) | (<u32>0x80 >> <u32>(i & 7)))
}

export function bfClear (bf: usize, i: i32): void {
  const p = bf + (<usize>i >> 3)
  store<u8>(p, <u32>load<u8>(p) & ~(<u32>0x80 >> <u32>(i & 7)))
}

/** Sets bits 0..nbits-1 and clears the spare bits of the last byte. */
export function bfSetAll (bf: usize, nbits: i32): void {
  const full = nbits >> 3
  memory.fill(bf, 0xff, <usize>full)
  const rest = nbits & 7
  if (rest) store<u8>(bf + <usize>full, <u8>(0xff00 >> rest))
}

/** Number of set bits among the first nbits. */
export function bfPopcount (bf: usize, nbits: i32): i32 {
  const nbytes = nbits >> 3
  let count: i64 = 0
  let i = 0
  for (; i + 8 <= nbytes; i += 8) count += popcnt<u64>(load<u64>(bf + <usize>i))
  for (; i < nbytes; i++) count += <i64>popcnt<u32>(load<u8>(bf + <usize>i))
  const rest = nbits & 7
  if (rest) count += <i64>popcnt<u32>(<u32>load<u8>(bf + <usize>nbytes) & (0xff00 >> rest) & 0xff)
  return <i32>count
}

/** dst = a & b over nbytes (dst may alias a or b). */
export function bfAnd (dst: usize, a: usize, b: usize, nbytes: i32): void {
  let i = 0
  for (; i + 8 <= nbytes; i += 8) store<u64>(dst + <usize>i, load<u64>(a + <usize>i) & load<u64>(b + <usize>i))
  for (; i < nbytes; i++) store<u8>(dst + <usize>i, load<u8>(a + <usize>i) & load<u8>(b + <usize>i))
}

/** dst = a & ~b over nbytes: for example pieces a peer has that we lack. */
export function bfAndNot (dst: usize, a: usize, b: usize, nbytes: i32): void {
  let i = 0
  for (; i + 8 <= nbytes; i += 8) store<u64>(dst + <usize>i, load<u64>(a + <usize>i) & ~load<u64>(b + <usize>i))
  for (; i < nbytes; i++) store<u8>(dst + <usize>i, load<u8>(a + <usize>i) & ~load<u8>(b + <usize>i))
}

/** dst = a | b over nbytes. */
export function bfOr (dst: usize, a: usize, b: usize, nbytes: i32): void {
  let i = 0
  for (; i + 8 <= nbytes; i += 8) store<u64>(dst + <usize>i, load<u64>(a + <usize>i) | load<u64>(b + <usize>i))
  for (; i < nbytes; i++) store<u8>(dst + <usize>i, load<u8>(a + <usize>i) | load<u8>(b + <usize>i))
}

/** First index set in both a and b ("a piece this peer has that we want"), or -1. */
export function bfFirstAnd (a: usize, b: usize, nbytes: i32): i32 {
  let i = 0
  for (; i + 8 <= nbytes; i += 8) {
    const x = load<u64>(a + <usize>i) & load<u64>(b + <usize>i)
    if (x != 0) return (i << 3) + <i32>clz<u64>(bswap<u64>(x))
  }
  for (; i < nbytes; i++) {
    const x = <u32>(load<u8>(a + <usize>i) & load<u8>(b + <usize>i))
    if (x != 0) return (i << 3) + <i32>clz<u32>(x) - 24
  }
  return -1
}

/** Number of indexes set in both a and b. */
export function bfCountAnd (a: usize, b: usize, nbytes: i32): i32 {
  let count: i64 = 0
  let i = 0
  for (; i + 8 <= nbytes; i += 8) count += popcnt<u64>(load<u64>(a + <usize>i) & load<u64>(b + <usize>i))
  for (; i < nbytes; i++) count += <i64>popcnt<u32>(<u32>(load<u8>(a + <usize>i) & load<u8>(b + <usize>i)))
  return <i32>count
}

/** 1 when the spare bits after nbits in the last byte are clear (BEP 3 requires it of a peer's bitfield). */
export function bfSpareBitsClear (bf: usize, nbits: i32): i32 {
  const rest = nbits & 7
  if (rest == 0) return 1
  return (<u32>load<u8>(bf + (<usize>nbits >> 3)) & (0xff >> rest)) == 0 ? 1 : 0
}
