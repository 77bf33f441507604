// Validating bencode tokenizer (BEP 3). Produces a token tape in caller-owned memory; builds no values.
//
// Tape: 4 x i32 per token, in document order (a container precedes its children):
//   [0] kind | flags      kind in the low byte (KIND_*), flags above it (F_*)
//   [1] start             INT: offset of 'i'; STR: first content byte; LIST/DICT: offset of 'l'/'d'
//   [2] end               INT/LIST/DICT: offset one past the closing 'e'; STR: one past the last content byte
//   [3] aux               INT with F_SMALL_INT: the value; STR value: offset of the length prefix;
//                         STR dict key: FNV-1a hash of its bytes (lets the caller cache key strings);
//                         LIST: number of elements; DICT: number of key/value pairs
//
// Strictness: leading zeros (i03e, 03:abc), negative zero (i-0e), empty integers (ie, i-e), integers outside
// int64, non-string keys, a key without a value, and (unless allowed) bytes after the top-level value are
// errors. Unsorted keys set F_UNSORTED on the dict; a key equal to the previous one sets F_DUPLICATE. Non-
// adjacent duplicates in an unsorted dict are left to the caller (the dict is flagged unsorted).
//
// No recursion: enclosing containers are kept on a caller-owned stack of 16-byte frames (maxDepth of them):
//   [0] token index of the container  [1] children seen  [2] previous key start  [3] previous key end

export const KIND_INT: i32 = 1
export const KIND_STR: i32 = 2
export const KIND_LIST: i32 = 3
export const KIND_DICT: i32 = 4

export const F_UNSORTED: i32 = 1 << 8
export const F_DUPLICATE: i32 = 1 << 9
export const F_SMALL_INT: i32 = 1 << 10
export const F_KEY_ASCII: i32 = 1 << 11

export const OPT_ALLOW_TRAILING: i32 = 1

export const E_EMPTY: i32 = -1
export const E_TRUNCATED: i32 = -2
export const E_INVALID_BYTE: i32 = -3
export const E_DEPTH: i32 = -4
export const E_TAPE_FULL: i32 = -5
export const E_LEADING_ZERO: i32 = -6
export const E_NEGATIVE_ZERO: i32 = -7
export const E_EMPTY_INTEGER: i32 = -8
export const E_INTEGER_OVERFLOW: i32 = -9
export const E_STRING_PAST_END: i32 = -10
export const E_KEY_NOT_STRING: i32 = -11
export const E_MISSING_VALUE: i32 = -12
export const E_TRAILING: i32 = -13

let errorPos: i32 = 0
let endPos: i32 = 0

/** Offset of the byte where the last bdecode call failed. */
export function bdecodeErrorPos (): i32 {
  return errorPos
}

/** Offset one past the top-level value of the last successful bdecode call. */
export function bdecodeEnd (): i32 {
  return endPos
}

@inline function fail (code: i32, pos: i32): i32 {
  errorPos = pos
  return code
}

// Largest int64 magnitude / 10, to detect overflow before multiplying.
const I64_DIV10: u64 = 922337203685477580

/**
 * Tokenizes `len` bytes at `input` into the tape. Returns the token count, or a negative E_* code with the
 * failing offset in bdecodeErrorPos().
 *
 * The innermost container's state lives in locals (cur*); the stack holds only the enclosing ones, written
 * on entering a container and read back on leaving it, so a scalar costs no stack traffic.
 */
export function bdecode (input: usize, len: i32, tape: usize, tapeCap: i32, stack: usize, maxDepth: i32, opts: i32): i32 {
  errorPos = 0
  endPos = 0
  if (len <= 0) return fail(E_EMPTY, 0)
  let pos: i32 = 0
  let ntok: i32 = 0
  let depth: i32 = 0
  // Innermost open container: its token, children seen, whether it is a dict, and its previous key.
  let curTok: usize = 0
  let curCount: i32 = 0
  let curIsDict = false
  let prevKeyStart: i32 = -1
  let prevKeyEnd: i32 = -1

  while (true) {
    if (pos >= len) return fail(E_TRUNCATED, pos)
    const c = <i32>load<u8>(input + <usize>pos)
    let isKey = false

    if (depth > 0) {
      if (c == 0x65) { // 'e' closes the container
        let items = curCount
        if (curIsDict) {
          if (curCount & 1) return fail(E_MISSING_VALUE, pos)
          items = curCount >> 1
        }
        pos++
        store<i32>(curTok, pos, 8)
        store<i32>(curTok, items, 12)
        depth--
        if (depth == 0) break
        const f = stack + (<usize>(depth - 1) << 4)
        curTok = tape + (<usize>load<i32>(f) << 4)
        curCount = load<i32>(f, 4)
        prevKeyStart = load<i32>(f, 8)
        prevKeyEnd = load<i32>(f, 12)
        curIsDict = (load<i32>(curTok) & 0xff) == KIND_DICT
        continue
      }
      isKey = curIsDict && (curCount & 1) == 0
      curCount++
    }

    if (ntok >= tapeCap) return fail(E_TAPE_FULL, pos)
    const tok = tape + (<usize>ntok << 4)

    if (c >= 0x30 && c <= 0x39) {
      // byte string: <decimal length>:<bytes>
      let p = pos
      let n: u64 = 0
      while (p < len) {
        const d = <u32>load<u8>(input + <usize>p) - 0x30
        if (d > 9) break
        n = n * 10 + <u64>d
        // A length beyond the whole input can never be satisfied; stopping here also keeps n from
        // overflowing on prefixes like 18446744073709551615.
        if (n > <u64>len) return fail(E_STRING_PAST_END, pos)
        p++
      }
      if (p >= len) return fail(E_TRUNCATED, p)
      if (load<u8>(input + <usize>p) != 0x3a) return fail(E_INVALID_BYTE, p)
      if (c == 0x30 && p - pos > 1) return fail(E_LEADING_ZERO, pos)
      const start = p + 1
      if (n > <u64>(len - start)) return fail(E_STRING_PAST_END, pos)
      const end = start + <i32>n
      let flags = KIND_STR
      let aux = pos
      if (isKey) {
        // ASCII flag lets the caller skip UTF-8 decoding of the key; the hash lets it reuse key strings.
        let acc: u32 = 0
        let hash: u32 = 0x811c9dc5
        for (let q = start; q < end; q++) {
          const ch = <u32>load<u8>(input + <usize>q)
          acc |= ch
          hash = (hash ^ ch) * 0x01000193
        }
        if (acc < 0x80) flags |= F_KEY_ASCII
        aux = <i32>hash
        if (prevKeyStart >= 0) {
          const prevLen = prevKeyEnd - prevKeyStart
          const curLen = end - start
          const common = prevLen < curLen ? prevLen : curLen
          let cmp = memory.compare(input + <usize>prevKeyStart, input + <usize>start, <usize>common)
          if (cmp == 0) cmp = prevLen - curLen
          if (cmp >= 0) store<i32>(curTok, load<i32>(curTok) | (cmp == 0 ? F_DUPLICATE : F_UNSORTED))
        }
        prevKeyStart = start
        prevKeyEnd = end
      }
      store<i32>(tok, flags)
      store<i32>(tok, start, 4)
      store<i32>(tok, end, 8)
      store<i32>(tok, aux, 12)
      ntok++
      pos = end
    } else if (isKey) {
      return fail(E_KEY_NOT_STRING, pos)
    } else if (c == 0x69) { // 'i'
      let p = pos + 1
      let neg = false
      if (p < len && load<u8>(input + <usize>p) == 0x2d) { neg = true; p++ }
      const digits = p
      let v: u64 = 0
      while (p < len) {
        const d = <u32>load<u8>(input + <usize>p) - 0x30
        if (d > 9) break
        if (v > I64_DIV10 || (v == I64_DIV10 && <u64>d > (neg ? 8 : 7))) return fail(E_INTEGER_OVERFLOW, pos)
        v = v * 10 + <u64>d
        p++
      }
      if (p >= len) return fail(E_TRUNCATED, p)
      if (p == digits) return fail(load<u8>(input + <usize>p) == 0x65 ? E_EMPTY_INTEGER : E_INVALID_BYTE, p)
      if (load<u8>(input + <usize>p) != 0x65) return fail(E_INVALID_BYTE, p)
      if (load<u8>(input + <usize>digits) == 0x30) {
        if (p - digits > 1) return fail(E_LEADING_ZERO, pos)
        if (neg) return fail(E_NEGATIVE_ZERO, pos)
      }
      let flags = KIND_INT
      let aux: i32 = 0
      if (neg ? v <= 0x80000000 : v <= 0x7fffffff) {
        flags |= F_SMALL_INT
        aux = neg ? <i32>(0 - v) : <i32>v
      }
      store<i32>(tok, flags)
      store<i32>(tok, pos, 4)
      store<i32>(tok, p + 1, 8)
      store<i32>(tok, aux, 12)
      ntok++
      pos = p + 1
    } else if (c == 0x6c || c == 0x64) { // 'l' or 'd'
      if (depth >= maxDepth) return fail(E_DEPTH, pos)
      store<i32>(tok, c == 0x64 ? KIND_DICT : KIND_LIST)
      store<i32>(tok, pos, 4)
      store<i32>(tok, 0, 8)
      store<i32>(tok, 0, 12)
      if (depth > 0) {
        // Save the enclosing container's state.
        const f = stack + (<usize>(depth - 1) << 4)
        store<i32>(f, <i32>((curTok - tape) >> 4))
        store<i32>(f, curCount, 4)
        store<i32>(f, prevKeyStart, 8)
        store<i32>(f, prevKeyEnd, 12)
      }
      curTok = tok
      curCount = 0
      curIsDict = c == 0x64
      prevKeyStart = -1
      prevKeyEnd = -1
      ntok++
      pos++
      depth++
      continue
    } else {
      return fail(E_INVALID_BYTE, pos)
    }
    if (depth == 0) break
  }

  endPos = pos
  if (pos != len && (opts & OPT_ALLOW_TRAILING) == 0) return fail(E_TRAILING, pos)
  return ntok
}
