/**
 * For `wasmtorrent info <magnet>`: dials the magnet's peers (x.pe; trackers and DHT join when discovery
 * lands), fetches the info dictionary with ut_metadata, verifies it against the info-hash, and returns the
 * parsed torrent with the magnet's trackers and web seeds.
 */
import { ConnectionPool } from '../transport/index.js'
import { utMetadata } from '../wire/extensions/index.js'
import { MetadataFetcher } from '../client/metadata.js'
import { randomPeerId } from '../client/peer-id.js'
import { decodeInfoDict } from '../metainfo/torrent-file.js'
import type { MagnetTorrent, ParsedTorrent } from '../metainfo/types.js'
import { UsageError } from './usage.js'

export async function fetchMetadata (magnet: MagnetTorrent, timeoutMs: number): Promise<ParsedTorrent> {
  if (magnet.peerAddresses.length === 0) {
    throw new UsageError('the magnet names no peer (x.pe) to fetch the metadata from, and trackers/DHT are not supported yet')
  }
  const pool = new ConnectionPool()
  try {
    await pool.listen(0)
    const UtMetadata = utMetadata()
    const fetcher = new MetadataFetcher(UtMetadata, { timeout: timeoutMs })
    const torrent = pool.addTorrent(magnet.infoHash, {
      peerId: randomPeerId(),
      onWire: wire => { wire.use(UtMetadata) },
      onReady: wire => fetcher.addWire(wire)
    })
    for (const addr of magnet.peerAddresses) torrent.addPeer(addr)
    const info = await fetcher.promise
    const parsed = await decodeInfoDict(info)
    parsed.announce = magnet.announce
    parsed.urlList = magnet.urlList
    return parsed
  } finally {
    await pool.destroy()
  }
}
