/**
 * MSE/PE protocol encryption in the connection pool, per the `secure` option (webtorrent's name and values):
 *
 *   0  dials are plaintext.
 *   1  (default) dials open with the MSE handshake offering plaintext or RC4 (crypto_provide 0x03; the peer
 *      picks, and peers that accept plaintext usually pick it: no per-byte cost). When that handshake fails
 *      (the peer closes, answers wrongly, or the handshake timeout fires before it completed) the address is
 *      redialed at once in plaintext, over the same transport, once per round of attempts, without counting a
 *      failure: libtorrent's pe_enabled does the same, and Transmission with encryption "tolerated" drops
 *      encrypted handshakes. The address is then dialed in plaintext over that transport from then on,
 *      until two plaintext dials in a row fail before the peer's handshake (it may require encryption after
 *      all): see PeerRecord.plaintextOn.
 *   2  RC4 only: dials offer only RC4 and never fall back; incoming plaintext handshakes and MSE offers
 *      without RC4 are refused (ERR_MSE_PLAINTEXT_REFUSED, ERR_MSE_CRYPTO).
 *
 * Incoming MSE handshakes are answered in every mode. The MSE handshake runs inside the Wire's handshake
 * timeout (it starts when the connection is made). Only transports with MSE (Node's) encrypt; elsewhere every
 * connection is plaintext. pool.stats().encryption counts the wires that became ready by how their bytes
 * travel; mseFailures counts failed outgoing MSE handshakes by reason.
 */
import type { WasmTorrentError } from '../errors.js'
import type { ByteStream } from '../wire/types.js'
import { TransportError } from './errors.js'
import type { Conn, ConnEncryption, PeerRecord } from './pool-types.js'
import type { EncryptionMode, Transport, TransportKind, TransportSocket } from './types.js'

export type Secure = 0 | 1 | 2
export type { ConnEncryption }

/** A connection without MSE. */
export const PLAIN: Readonly<ConnEncryption> = { mse: null, mayFallBack: false, fallback: false }

/** The `secure` option checked (default 1). */
export function secureLevel (v: unknown): Secure {
  if (v === undefined) return 1
  if (v === 0 || v === 1 || v === 2) return v
  throw new TransportError('ERR_POOL_INVALID_ARGUMENT', `secure must be 0, 1 or 2 (got ${String(v)})`)
}

/** The stream a Wire runs over for a connection we dialed to `rec` for torrent `infoHash`, and how it was chosen. */
export function outgoingStream (transport: Transport, secure: Secure, rec: PeerRecord, kind: TransportKind,
  socket: TransportSocket, infoHash: string): { stream: ByteStream, enc: ConnEncryption } {
  const retry = rec.plaintextOn === kind
  if (secure === 0 || transport.dialEncrypted === undefined) return { stream: socket, enc: PLAIN }
  if (secure === 1 && retry) return { stream: socket, enc: { ...PLAIN, fallback: true } }
  const mse = transport.dialEncrypted(socket, { infoHash, rc4Only: secure === 2 })
  return { stream: mse, enc: { mse, mayFallBack: secure === 1, fallback: false } }
}

/** `conn` was dialed with MSE and closed before that handshake completed. */
export function mseFailed (conn: Conn): boolean {
  return conn.outgoing && conn.mse !== null && conn.mse.mode === null
}

// Plaintext dials after an MSE failure that may fail before the peer's handshake before MSE is tried again.
const PLAINTEXT_TRIES = 2

/**
 * After `conn` closed: redial `rec` in plaintext at once? (secure 1, its MSE handshake failed, not yet
 * retried this round.) Sets the next attempt up when so, and keeps `plaintextOn` (see PeerRecord).
 */
export function plaintextRetry (rec: PeerRecord, conn: Conn): boolean {
  if (conn.fallback && !conn.handshaked && conn.kind === rec.plaintextOn && ++rec.plaintextFailures >= PLAINTEXT_TRIES) {
    rec.plaintextOn = null
    rec.plaintextFailures = 0
  }
  if (!conn.mayFallBack || !mseFailed(conn)) return false
  if (rec.plaintextOn !== conn.kind) rec.plaintextFailures = 0
  rec.plaintextOn = conn.kind
  if (rec.plaintextRetried) return false
  rec.plaintextRetried = true
  rec.nextKind = conn.kind
  return true
}

/** How a ready connection is counted in stats().encryption. */
export function encryptionLabel (conn: Conn): EncryptionMode | 'plaintext-fallback' {
  if (conn.fallback) return 'plaintext-fallback'
  return conn.mse?.mode ?? 'plaintext'
}

/** The code a failed outgoing MSE handshake is counted under: its own ERR_MSE_*, or why we closed it. */
export function mseFailureCode (conn: Conn, reason: Error | undefined): string {
  const f = conn.mse?.failure as WasmTorrentError | null | undefined
  if (f != null && f.code !== 'ERR_MSE_ABORTED') return f.code
  return (reason as WasmTorrentError | undefined)?.code ?? f?.code ?? 'CLEAN'
}
