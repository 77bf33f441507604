/**
 * The connection pool's rules for two connections that should not both exist.
 *
 * Duplicates (same peer id in one torrent), libtorrent's rule (peer_list.cpp, new_connection): if both
 * connections have the same direction, the newer one is closed. If one is ours and one is theirs (both sides
 * dialed at once), the side with the lower listen port keeps its outgoing connection, so both ends close the
 * same TCP/uTP connection; equal ports (different hosts) fall back to the lower peer id keeping its outgoing.
 * The loser is closed with ERR_POOL_DUPLICATE.
 *
 * Self-connections (the peer id in the handshake is ours: a tracker gave us our own address): both ends are
 * closed with ERR_POOL_SELF_CONNECTION and the dialed address is remembered so it is never dialed again. The
 * incoming side answers with our handshake before closing, so the dialing side sees its own peer id even
 * when the two cannot be matched by port (NAT hairpin).
 */
import type { Conn, TorrentState } from './pool-types.js'

/**
 * Which of `conn` (newer) and `other`, both with peer id `pid` in `t`, is closed. `ourPort` is the pool's
 * listen port (0: not listening).
 */
export function duplicateLoser (t: TorrentState, conn: Conn, other: Conn, pid: string, ourPort: number): Conn {
  if (other.outgoing === conn.outgoing) return conn
  const out = conn.outgoing ? conn : other
  const theirPort = out.peer?.port ?? out.wire.remotePort ?? 0
  const keepOutgoing = ourPort !== 0 && theirPort !== 0 && ourPort !== theirPort ? ourPort < theirPort : t.peerIdHex < pid
  return keepOutgoing ? (conn.outgoing ? other : conn) : out
}

/** Our outgoing connection of `t` whose other end is the incoming self-connection `conn`, or null. */
export function ownDial (t: TorrentState, conn: Conn, ourPort: number): Conn | null {
  // The incoming connection's remote end is our outgoing connection's local end
  // (TCP: the ephemeral port; uTP: the shared UDP port, dialed at our own port number).
  for (const c of t.conns) {
    if (!c.outgoing || c.handshaked || c.kind !== conn.kind || c.peer === null) continue
    if (c.localPort !== conn.wire.remotePort) continue
    if (c.kind === 'utp' && c.peer.port !== ourPort) continue
    return c
  }
  return null
}
