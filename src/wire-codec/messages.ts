/**
 * Peer wire message ids (BEP 3, BEP 5 port, BEP 6 fast extension, BEP 10 extension protocol) and the limits
 * the codec enforces. The ids match assembly/framing.ts.
 */
export const MSG_CHOKE = 0
export const MSG_UNCHOKE = 1
export const MSG_INTERESTED = 2
export const MSG_NOT_INTERESTED = 3
export const MSG_HAVE = 4
export const MSG_BITFIELD = 5
export const MSG_REQUEST = 6
export const MSG_PIECE = 7
export const MSG_CANCEL = 8
export const MSG_PORT = 9
export const MSG_SUGGEST = 13
export const MSG_HAVE_ALL = 14
export const MSG_HAVE_NONE = 15
export const MSG_REJECT = 16
export const MSG_ALLOWED_FAST = 17
export const MSG_EXTENDED = 20

/**
 * Default largest accepted message (the value of the 4-byte length prefix): 1 MiB, libtorrent's limit
 * ("don't accept packets larger than 1 MB" in bt_peer_connection.cpp). A 16 KiB block plus header is far below
 * it; metadata pieces (BEP 9) are 16 KiB too. Only a huge torrent's bitfield can legally exceed it, see
 * bitfieldMessageLength.
 */
export const DEFAULT_MAX_MESSAGE_LENGTH = 1024 * 1024

/**
 * Hard ceiling for a configured limit. The kernel compares the prefix as u32 against a limit below 2^31 (so a
 * prefix >= 2^31 always fails), and prefix + 4 must fit an i32 receive-buffer size.
 */
export const MAX_MESSAGE_LENGTH_LIMIT = 0x7fff_fff0

/** Length prefix of a bitfield message for `pieces` pieces: ceil(pieces / 8) bytes plus the id byte. */
export function bitfieldMessageLength (pieces: number): number {
  return Math.ceil(pieces / 8) + 1
}
