/** Per-torrent peer discovery (one de-duplicated, blocklist-filtered stream of peers) and IP blocklists. */
export {
  Discovery, PEER_SOURCES, DEFAULT_REOFFER_AFTER, DEFAULT_MAX_REMEMBERED, DEFAULT_DHT_ANNOUNCE_INTERVAL,
  DEFAULT_DHT_LOOKUP_BACKOFF, DEFAULT_NO_PEERS_INTERVAL
} from './discovery.js'
export type { PeerSource, DiscoveryOptions, DiscoveryEvents, DiscoveryStats, DiscoveryTrackerOptions } from './discovery.js'
export { IpBlocklist, parseRange, parseBlocklistLine, ipToNumber, DEFAULT_BLOCKLIST_MAX_RANGES } from './blocklist.js'
export type { IpRange, BlocklistParseOptions } from './blocklist.js'
export { loadBlocklist, bytesToText, gunzipLimited, DEFAULT_BLOCKLIST_MAX_BYTES, DEFAULT_BLOCKLIST_TIMEOUT } from './load.js'
export type { BlocklistInput, BlocklistPredicate, LoadBlocklistOptions, LoadedBlocklist } from './load.js'
