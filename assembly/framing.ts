// Peer wire message framing (BEP 3 / BEP 6 / BEP 10): <u32 big-endian length><id><payload>.
//
// frameScan walks a receive buffer and writes one 6 x i32 record per complete message:
//   [0] id (-1 for a keep-alive, REC_PIECE_HEAD for a split piece, see below)
//   [1] payload offset  [2] payload length
//   [3..5] the payload's leading big-endian u32 fields, decoded for the fixed-layout messages:
//          have/suggest/allowed-fast: index; request/cancel/reject: index, begin, length;
//          piece: index, begin, block length; port: port; extended: extended message id.
// It stops at the first incomplete message (frameNeed() then says how many bytes, from that message's start,
// it needs before the scan can go on) or when the record buffer is full; frameConsumed() is the offset after
// the last message recorded. It returns the record count, or an E_* code; frameCount() is the record count in
// both cases, so the messages before a bad one can still be delivered (the result then does not depend on how
// the stream was split into reads).
// A length prefix above maxLen (the caller keeps maxLen < 2^31) fails as soon as the prefix is present, before
// any of the message is buffered. A known id with an impossible payload length fails as soon as the id byte is
// present. Unknown ids are passed through.
//
// Split pieces (splitMin > 0): a piece message whose block is at least splitMin bytes and is not complete in
// the buffer is recorded as soon as its 13-byte header is (id REC_PIECE_HEAD, fields as for a piece); the scan
// stops there and frameConsumed() is the end of the header. The caller takes the block bytes from where they
// arrive instead of copying them into the buffer first. While fewer than 13 bytes of a message that may be
// such a piece are present, frameNeed() is 13 (the header), not the whole message.
export const MSG_CHOKE: i32 = 0
export const MSG_UNCHOKE: i32 = 1
export const MSG_INTERESTED: i32 = 2
export const MSG_NOT_INTERESTED: i32 = 3
export const MSG_HAVE: i32 = 4
export const MSG_BITFIELD: i32 = 5
export const MSG_REQUEST: i32 = 6
export const MSG_PIECE: i32 = 7
export const MSG_CANCEL: i32 = 8
export const MSG_PORT: i32 = 9
export const MSG_SUGGEST: i32 = 13
export const MSG_HAVE_ALL: i32 = 14
export const MSG_HAVE_NONE: i32 = 15
export const MSG_REJECT: i32 = 16
export const MSG_ALLOWED_FAST: i32 = 17
export const MSG_EXTENDED: i32 = 20

export const REC_PIECE_HEAD: i32 = -2
const PIECE_HEADER: i32 = 13

export const E_TOO_LARGE: i32 = -1
export const E_BAD_LENGTH: i32 = -2

let consumed: i32 = 0
let errorPos: i32 = 0
let need: i32 = 0
let count: i32 = 0

export function frameConsumed (): i32 {
  return consumed
}

/** Records written by the last frameScan, also when it failed (the complete messages before the bad one). */
export function frameCount (): i32 {
  return count
}

export function frameErrorPos (): i32 {
  return errorPos
}

/** Bytes the first incomplete message needs in all (prefix included), or 0 when its prefix is incomplete. */
export function frameNeed (): i32 {
  return need
}

@inline function be32 (p: usize): i32 {
  return <i32>bswap<u32>(load<u32>(p))
}

/** Payload length check for the fixed-layout ids: returns false for an impossible length. */
@inline function lengthOk (id: i32, n: i32): bool {
  switch (id) {
    case MSG_CHOKE: case MSG_UNCHOKE: case MSG_INTERESTED: case MSG_NOT_INTERESTED:
    case MSG_HAVE_ALL: case MSG_HAVE_NONE:
      return n == 0
    case MSG_HAVE: case MSG_SUGGEST: case MSG_ALLOWED_FAST:
      return n == 4
    case MSG_REQUEST: case MSG_CANCEL: case MSG_REJECT:
      return n == 12
    case MSG_PIECE:
      return n >= 8
    case MSG_PORT:
      return n == 2
    case MSG_EXTENDED:
      return n >= 1
    default:
      return true
  }
}

export function frameScan (buf: usize, len: i32, maxLen: i32, out: usize, outCap: i32, splitMin: i32): i32 {
  let pos: i32 = 0
  let n: i32 = 0
  need = 0
  errorPos = 0
  // Pieces with a block of at least splitMin bytes: length prefix >= splitMin + 9 (u32; 0 disables splitting).
  const splitLen: u32 = splitMin > 0 ? <u32>splitMin + 9 : 0xffffffff
  while (n < outCap) {
    const avail = len - pos
    if (avail < 4) break
    const msgLen = bswap<u32>(load<u32>(buf + <usize>pos))
    if (msgLen > <u32>maxLen) {
      errorPos = pos
      consumed = pos
      count = n
      return E_TOO_LARGE
    }
    const rec = out + <usize>n * 24
    if (msgLen == 0) {
      store<i32>(rec, -1)
      store<i32>(rec, pos + 4, 4)
      store<i32>(rec, 0, 8)
      pos += 4
      n++
      continue
    }
    if (avail < 5) {
      need = msgLen >= splitLen ? PIECE_HEADER : <i32>msgLen + 4
      break
    }
    const id = <i32>load<u8>(buf + <usize>pos + 4)
    const payload = pos + 5
    const plen = <i32>msgLen - 1
    if (!lengthOk(id, plen)) {
      errorPos = pos
      consumed = pos
      count = n
      return E_BAD_LENGTH
    }
    const p = buf + <usize>payload
    if (<u32>(avail - 4) < msgLen) {
      if (id != MSG_PIECE || msgLen < splitLen) {
        need = <i32>msgLen + 4
        break
      }
      if (avail < PIECE_HEADER) {
        need = PIECE_HEADER
        break
      }
      store<i32>(rec, REC_PIECE_HEAD)
      store<i32>(rec, payload, 4)
      store<i32>(rec, plen, 8)
      store<i32>(rec, be32(p), 12)
      store<i32>(rec, be32(p + 4), 16)
      store<i32>(rec, plen - 8, 20)
      pos += PIECE_HEADER
      n++
      break
    }
    store<i32>(rec, id)
    store<i32>(rec, payload, 4)
    store<i32>(rec, plen, 8)
    switch (id) {
      case MSG_HAVE: case MSG_SUGGEST: case MSG_ALLOWED_FAST:
        store<i32>(rec, be32(p), 12)
        break
      case MSG_REQUEST: case MSG_CANCEL: case MSG_REJECT:
        store<i32>(rec, be32(p), 12)
        store<i32>(rec, be32(p + 4), 16)
        store<i32>(rec, be32(p + 8), 20)
        break
      case MSG_PIECE:
        store<i32>(rec, be32(p), 12)
        store<i32>(rec, be32(p + 4), 16)
        store<i32>(rec, plen - 8, 20)
        break
      case MSG_PORT:
        store<i32>(rec, (<i32>load<u8>(p) << 8) | <i32>load<u8>(p + 1), 12)
        break
      case MSG_EXTENDED:
        store<i32>(rec, <i32>load<u8>(p), 12)
        break
      default:
        break
    }
    pos += 4 + <i32>msgLen
    n++
  }
  consumed = pos
  count = n
  return n
}

/**
 * Encodes `count` messages of id `id` whose payload is three u32 fields (request, cancel, reject), reading
 * host-order u32 triples at `src`. Writes 17 bytes per message at `out`; returns the bytes written.
 */
export function encodeTriples (out: usize, src: usize, count: i32, id: i32): i32 {
  for (let i = 0; i < count; i++) {
    const o = out + <usize>i * 17
    const s = src + <usize>i * 12
    store<u32>(o, bswap<u32>(13))
    store<u8>(o + 4, <u8>id)
    store<u32>(o + 5, bswap<u32>(load<u32>(s)))
    store<u32>(o + 9, bswap<u32>(load<u32>(s + 4)))
    store<u32>(o + 13, bswap<u32>(load<u32>(s + 8)))
  }
  return count * 17
}

/** Encodes `count` have messages for the host-order u32 piece indexes at `src`: 9 bytes each. */
export function encodeHaves (out: usize, src: usize, count: i32): i32 {
  for (let i = 0; i < count; i++) {
    const o = out + <usize>i * 9
    store<u32>(o, bswap<u32>(5))
    store<u8>(o + 4, <u8>MSG_HAVE)
    store<u32>(o + 5, bswap<u32>(load<u32>(src + (<usize>i << 2))))
  }
  return count * 9
}
