/**
 * The BEP 3 handshake: <19><"BitTorrent protocol"><8 reserved bytes><20-byte info hash><20-byte peer id>,
 * 68 bytes, sent once by each side before the length-prefixed messages (framer.ts).
 *
 * decodeHandshake checks the protocol bytes as soon as they arrive, so a peer that does not speak BitTorrent
 * (or sends an encrypted BEP 8 / MSE stream the caller did not expect) is rejected on its first bytes rather
 * than after 68. Reserved bits: BEP 10 extension protocol (byte 5, 0x10), BEP 6 fast extension (byte 7,
 * 0x04), BEP 5 DHT (byte 7, 0x01); see encodeReserved / decodeReserved.
 */
import { WireProtocolError } from '../errors.js'

export const HANDSHAKE_LENGTH = 68
export const PROTOCOL_NAME = 'BitTorrent protocol'

const PROTOCOL = new Uint8Array(20)
PROTOCOL[0] = 19
for (let i = 0; i < 19; i++) PROTOCOL[i + 1] = PROTOCOL_NAME.charCodeAt(i)

export interface Handshake {
  /** The 8 reserved bytes (extension bits). */
  reserved: Uint8Array
  infoHash: Uint8Array
  peerId: Uint8Array
}

export interface ReservedFlags {
  /** BEP 10 extension protocol. */
  extended?: boolean
  /** BEP 6 fast extension. */
  fast?: boolean
  /** BEP 5 DHT (the peer accepts a port message). */
  dht?: boolean
}

function checkLength (b: Uint8Array, n: number, name: string): void {
  if (!(b instanceof Uint8Array) || b.length !== n) {
    throw new WireProtocolError('ERR_WIRE_INVALID_FIELD', `${name} must be a ${n}-byte Uint8Array`)
  }
}

/** The 68-byte handshake. `reserved` defaults to all zeros (no extension announced). */
export function encodeHandshake (infoHash: Uint8Array, peerId: Uint8Array, reserved: Uint8Array = new Uint8Array(8)): Uint8Array {
  checkLength(infoHash, 20, 'infoHash')
  checkLength(peerId, 20, 'peerId')
  checkLength(reserved, 8, 'reserved')
  const b = new Uint8Array(HANDSHAKE_LENGTH)
  b.set(PROTOCOL, 0)
  b.set(reserved, 20)
  b.set(infoHash, 28)
  b.set(peerId, 48)
  return b
}

/**
 * Decodes the handshake at the start of `bytes`: `{ msg, used: 68 }`, or null when fewer than 68 bytes are
 * present and those present are a valid start. The returned fields are copies. Throws WireProtocolError
 * ERR_WIRE_BAD_PROTOCOL on the first byte that differs from <19>"BitTorrent protocol".
 */
export function decodeHandshake (bytes: Uint8Array): { msg: Handshake, used: number } | null {
  const n = Math.min(bytes.length, 20)
  for (let i = 0; i < n; i++) {
    if (bytes[i] !== PROTOCOL[i]) {
      throw new WireProtocolError('ERR_WIRE_BAD_PROTOCOL', i === 0
        ? `handshake protocol name length is ${bytes[0]}, expected 19 ("${PROTOCOL_NAME}")`
        : `handshake protocol name differs from "${PROTOCOL_NAME}" at byte ${i}`)
    }
  }
  if (bytes.length < HANDSHAKE_LENGTH) return null
  return {
    msg: {
      // Copies, never views (Buffer#slice is a view): `bytes` may be a reused read buffer.
      reserved: new Uint8Array(bytes.subarray(20, 28)),
      infoHash: new Uint8Array(bytes.subarray(28, 48)),
      peerId: new Uint8Array(bytes.subarray(48, 68))
    },
    used: HANDSHAKE_LENGTH
  }
}

/** Reserved bytes announcing the given extensions. */
export function encodeReserved (flags: ReservedFlags): Uint8Array {
  const r = new Uint8Array(8)
  if (flags.extended === true) r[5] |= 0x10
  if (flags.fast === true) r[7] |= 0x04
  if (flags.dht === true) r[7] |= 0x01
  return r
}

/** The extensions a peer's reserved bytes announce. */
export function decodeReserved (reserved: Uint8Array): Required<ReservedFlags> {
  checkLength(reserved, 8, 'reserved')
  return {
    extended: (reserved[5] & 0x10) !== 0,
    fast: (reserved[7] & 0x04) !== 0,
    dht: (reserved[7] & 0x01) !== 0
  }
}
