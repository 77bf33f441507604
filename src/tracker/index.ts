/** Tracker clients: HTTP(S), UDP (BEP 15), WebSocket (WebTorrent), and the per-torrent TrackerClient. */
export { TrackerClient, DEFAULT_NUMWANT, DEFAULT_UDP_MAX_RETRANSMITS } from './tracker-client.js'
export {
  trackerBackoff, MIN_ANNOUNCE_INTERVAL, DEFAULT_INTERVAL, DEFAULT_MIN_INTERVAL, DEFAULT_STOP_TIMEOUT
} from './announce-timing.js'
export type {
  TrackerClientOptions, TrackerClientEvents, TrackerStats, TrackerPeerEvent, TrackerUpdateEvent, TrackerScrapeEvent,
  TrackerSignalEvent, RtcSignaling
} from './tracker-client.js'
export type { TrackerStatus } from './announce-policy.js'
export { UdpTrackerSocket, UDP_RETRANSMIT_BASE, UDP_MAX_RETRANSMITS, UDP_CONNECTION_ID_TTL, UDP_SCRAPE_MAX } from './udp-tracker.js'
export type { UdpTrackerSocketOptions, UdpRequestOptions } from './udp-tracker.js'
export { WsTrackerPool, WsTrackerConnection } from './ws-tracker.js'
export type { RtcOffer, WsSignalMessage, WsTrackerOptions } from './ws-tracker.js'
export {
  httpAnnounce, httpScrape, buildAnnounceUrl, parseAnnounceResponse, parseScrapeResponse, DEFAULT_MAX_RESPONSE_BYTES
} from './http-tracker.js'
export type { HttpTrackerOptions } from './http-tracker.js'
export { announceTiers, shuffle } from './announce-list.js'
export { parseTrackerUrl, scrapeUrlFor, isLoopbackHost } from './url.js'
export type { TrackerUrl, TrackerKind } from './url.js'
export { decodeCompactPeers, encodeCompactPeers } from './compact.js'
export { discoveryAllowed, isPrivateTorrent, announceListFor } from './private.js'
export type { DiscoveryFlags } from './private.js'
export { TrackerError } from './errors.js'
export { UNKNOWN_LEFT } from './util.js'
export type { AnnounceEvent, AnnounceRequest, AnnounceResponse, ScrapeResult, TrackerPeer, Timers } from './types.js'
