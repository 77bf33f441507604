// Peer wire codec: the BEP 3 handshake, the length-prefixed message stream (Framer) and message encoders.
export { Framer } from './framer.js'
export type { FrameHandler, FramerOptions } from './framer.js'
export {
  encodeHandshake, decodeHandshake, encodeReserved, decodeReserved, HANDSHAKE_LENGTH, PROTOCOL_NAME
} from './handshake.js'
export type { Handshake, ReservedFlags } from './handshake.js'
export {
  encodeKeepAlive, encodeChoke, encodeUnchoke, encodeInterested, encodeNotInterested, encodeHave,
  encodeBitfield, encodeRequest, encodePieceHeader, encodePiece, encodeCancel, encodePort, encodeSuggest,
  encodeHaveAll, encodeHaveNone, encodeReject, encodeAllowedFast, encodeExtended,
  encodeRequests, encodeCancels, encodeRejects, encodeHaves
} from './encode.js'
export {
  MSG_CHOKE, MSG_UNCHOKE, MSG_INTERESTED, MSG_NOT_INTERESTED, MSG_HAVE, MSG_BITFIELD, MSG_REQUEST, MSG_PIECE,
  MSG_CANCEL, MSG_PORT, MSG_SUGGEST, MSG_HAVE_ALL, MSG_HAVE_NONE, MSG_REJECT, MSG_ALLOWED_FAST, MSG_EXTENDED,
  DEFAULT_MAX_MESSAGE_LENGTH, MAX_MESSAGE_LENGTH_LIMIT, bitfieldMessageLength
} from './messages.js'
