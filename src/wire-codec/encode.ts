/**
 * Peer wire message encoders (BEP 3, BEP 5 port, BEP 6 fast extension, BEP 10 extended). Each returns a fresh
 * Uint8Array holding one complete message (4-byte big-endian length prefix, id, payload), except
 * encodePieceHeader, which returns only the 13-byte header so a block can be written after it without a copy.
 *
 * The batch encoders (encodeRequests / encodeCancels / encodeRejects / encodeHaves) encode many messages in
 * one kernel call (encodeTriples / encodeHaves in assembly/framing.ts); their output is byte-identical to
 * concatenating the single encoders' output.
 *
 * Fields are u32 (piece index, begin, length), u16 (port) or u8 (extended id); anything else is a
 * WireProtocolError ERR_WIRE_INVALID_FIELD rather than silently wrapped bytes.
 */
import { WireProtocolError } from '../errors.js'
import { wasm, u8, u32, Region } from '../wasm/index.js'
import {
  MSG_CHOKE, MSG_UNCHOKE, MSG_INTERESTED, MSG_NOT_INTERESTED, MSG_HAVE, MSG_BITFIELD, MSG_REQUEST, MSG_PIECE,
  MSG_CANCEL, MSG_PORT, MSG_SUGGEST, MSG_HAVE_ALL, MSG_HAVE_NONE, MSG_REJECT, MSG_ALLOWED_FAST, MSG_EXTENDED
} from './messages.js'

function invalid (what: string, value: unknown): WireProtocolError {
  return new WireProtocolError('ERR_WIRE_INVALID_FIELD', `${what} must be ${String(value)}`)
}

function checkU32 (v: number, name: string): number {
  if (!(Number.isInteger(v) && v >= 0 && v <= 0xffffffff)) throw invalid(name, 'an integer in [0, 2^32)')
  return v
}

function putU32 (b: Uint8Array, at: number, v: number): void {
  b[at] = v >>> 24
  b[at + 1] = v >>> 16
  b[at + 2] = v >>> 8
  b[at + 3] = v
}

/** A message with `payloadLength` payload bytes; the prefix and id are written. */
function message (id: number, payloadLength: number): Uint8Array {
  const b = new Uint8Array(5 + payloadLength)
  putU32(b, 0, payloadLength + 1)
  b[4] = id
  return b
}

function indexMessage (id: number, index: number): Uint8Array {
  const b = message(id, 4)
  putU32(b, 5, checkU32(index, 'index'))
  return b
}

function tripleMessage (id: number, index: number, begin: number, length: number): Uint8Array {
  const b = message(id, 12)
  putU32(b, 5, checkU32(index, 'index'))
  putU32(b, 9, checkU32(begin, 'begin'))
  putU32(b, 13, checkU32(length, 'length'))
  return b
}

/** Payload length limit for variable-length messages: the prefix (payload + 1) must fit a u32. */
function checkPayload (n: number): void {
  if (n + 1 > 0xffffffff) throw invalid('payload length', 'below 2^32 - 1')
}

export function encodeKeepAlive (): Uint8Array {
  return new Uint8Array(4)
}

export function encodeChoke (): Uint8Array {
  return message(MSG_CHOKE, 0)
}

export function encodeUnchoke (): Uint8Array {
  return message(MSG_UNCHOKE, 0)
}

export function encodeInterested (): Uint8Array {
  return message(MSG_INTERESTED, 0)
}

export function encodeNotInterested (): Uint8Array {
  return message(MSG_NOT_INTERESTED, 0)
}

export function encodeHave (index: number): Uint8Array {
  return indexMessage(MSG_HAVE, index)
}

/** `bytes` is the bitfield itself (ceil(pieces / 8) bytes, spare bits clear). */
export function encodeBitfield (bytes: Uint8Array): Uint8Array {
  checkPayload(bytes.length)
  const b = message(MSG_BITFIELD, bytes.length)
  b.set(bytes, 5)
  return b
}

export function encodeRequest (index: number, begin: number, length: number): Uint8Array {
  return tripleMessage(MSG_REQUEST, index, begin, length)
}

/** The 13 bytes before a block of `blockLength` bytes: send it, then the block (no copy of the block). */
export function encodePieceHeader (index: number, begin: number, blockLength: number): Uint8Array {
  checkU32(blockLength, 'blockLength')
  checkPayload(blockLength + 8)
  const b = new Uint8Array(13)
  putU32(b, 0, blockLength + 9)
  b[4] = MSG_PIECE
  putU32(b, 5, checkU32(index, 'index'))
  putU32(b, 9, checkU32(begin, 'begin'))
  return b
}

/** A whole piece message (header and a copy of the block). */
export function encodePiece (index: number, begin: number, block: Uint8Array): Uint8Array {
  const header = encodePieceHeader(index, begin, block.length)
  const b = new Uint8Array(13 + block.length)
  b.set(header, 0)
  b.set(block, 13)
  return b
}

export function encodeCancel (index: number, begin: number, length: number): Uint8Array {
  return tripleMessage(MSG_CANCEL, index, begin, length)
}

/** BEP 5: the DHT node's UDP port. */
export function encodePort (port: number): Uint8Array {
  if (!(Number.isInteger(port) && port >= 0 && port <= 0xffff)) throw invalid('port', 'an integer in [0, 65535]')
  const b = message(MSG_PORT, 2)
  b[5] = port >>> 8
  b[6] = port
  return b
}

export function encodeSuggest (index: number): Uint8Array {
  return indexMessage(MSG_SUGGEST, index)
}

export function encodeHaveAll (): Uint8Array {
  return message(MSG_HAVE_ALL, 0)
}

export function encodeHaveNone (): Uint8Array {
  return message(MSG_HAVE_NONE, 0)
}

export function encodeReject (index: number, begin: number, length: number): Uint8Array {
  return tripleMessage(MSG_REJECT, index, begin, length)
}

export function encodeAllowedFast (index: number): Uint8Array {
  return indexMessage(MSG_ALLOWED_FAST, index)
}

/** BEP 10: extId 0 is the extended handshake, others are the ids the peer assigned in its handshake's `m`. */
export function encodeExtended (extId: number, payload: Uint8Array): Uint8Array {
  if (!(Number.isInteger(extId) && extId >= 0 && extId <= 0xff)) throw invalid('extId', 'an integer in [0, 255]')
  checkPayload(payload.length + 1)
  const b = message(MSG_EXTENDED, payload.length + 1)
  b[5] = extId
  b.set(payload, 6)
  return b
}

// ---- batch encoders: one kernel call per batch ----

const batchIn = new Region()
const batchOut = new Region()

/**
 * Copies u32 values into kernel memory at `ptr`. A Uint32Array is copied as is; other array-likes are checked
 * first (a typed u32 array cannot hold a bad value; a number[] can).
 */
function copyU32 (values: ArrayLike<number>, ptr: number, what: string): void {
  if (!(values instanceof Uint32Array)) {
    for (let i = 0; i < values.length; i++) checkU32(values[i], what)
  }
  u32().set(values, ptr >>> 2)
}

function batchTriples (id: number, fields: ArrayLike<number>): Uint8Array {
  const count = fields.length / 3
  if (!Number.isInteger(count)) throw invalid('fields.length', 'a multiple of 3 ([index, begin, length, ...])')
  if (count === 0) return new Uint8Array(0)
  const src = batchIn.ensure(count * 12)
  const out = batchOut.ensure(count * 17)
  copyU32(fields, src, 'fields[i]')
  const n = wasm().encodeTriples(out, src, count, id)
  const bytes = u8().slice(out, out + n)
  batchIn.trim()
  batchOut.trim()
  return bytes
}

/** Request messages for flat [index, begin, length, index, begin, length, ...] triples, in order. */
export function encodeRequests (fields: ArrayLike<number>): Uint8Array {
  return batchTriples(MSG_REQUEST, fields)
}

/** Cancel messages for flat [index, begin, length, ...] triples. */
export function encodeCancels (fields: ArrayLike<number>): Uint8Array {
  return batchTriples(MSG_CANCEL, fields)
}

/** Reject messages (BEP 6) for flat [index, begin, length, ...] triples. */
export function encodeRejects (fields: ArrayLike<number>): Uint8Array {
  return batchTriples(MSG_REJECT, fields)
}

/** Have messages for the given piece indexes, in order. */
export function encodeHaves (indexes: ArrayLike<number>): Uint8Array {
  const count = indexes.length
  if (count === 0) return new Uint8Array(0)
  const src = batchIn.ensure(count * 4)
  const out = batchOut.ensure(count * 9)
  copyU32(indexes, src, 'indexes[i]')
  const n = wasm().encodeHaves(out, src, count)
  const bytes = u8().slice(out, out + n)
  batchIn.trim()
  batchOut.trim()
  return bytes
}
