/**
 * BEP 27 private torrents: peers come from the torrent's own trackers only. No DHT, no PEX, no LSD, and no
 * trackers other than the torrent's (no default or user-added trackers, no magnet `tr` from elsewhere).
 */

export interface DiscoveryFlags {
  trackers: boolean
  dht: boolean
  pex: boolean
  lsd: boolean
  /** Trackers other than the torrent's own may be added (client defaults, user-supplied announce). */
  extraTrackers: boolean
}

/** True for torrents whose info dict says `private: 1` (parseTorrent's `private` field). */
export function isPrivateTorrent (torrent: { private?: boolean } | null | undefined): boolean {
  return torrent?.private === true
}

/** Which peer sources the engine may use for `torrent`. */
export function discoveryAllowed (torrent: { private?: boolean } | null | undefined): DiscoveryFlags {
  const open = !isPrivateTorrent(torrent)
  return { trackers: true, dht: open, pex: open, lsd: open, extraTrackers: open }
}

/**
 * The announce list to use for `torrent`: its own tiers, plus `extra` trackers (each its own tier) unless the
 * torrent is private.
 */
export function announceListFor (torrent: { announce?: string[], announceList?: string[][], private?: boolean },
  extra: string[] = []): string[][] {
  const own = torrent.announceList !== undefined && torrent.announceList.length > 0
    ? torrent.announceList.map(t => [...t])
    : (torrent.announce ?? []).map(u => [u])
  if (isPrivateTorrent(torrent)) return own
  const have = new Set(own.flat())
  return [...own, ...extra.filter(u => !have.has(u)).map(u => [u])]
}
