// wasmtorrent public API.
export { ready } from './wasm/index.js'
export { bencode } from './bencode/index.js'
export type { BencodeValue, DecodeOptions } from './bencode/index.js'
export { sha1, toHex } from './sha1/index.js'
export type { Sha1, Sha1Hasher, Sha1Engine } from './sha1/index.js'
export { WasmTorrentError, WasmNotReadyError, BencodeError, WireProtocolError } from './errors.js'
export { Bitfield, Availability } from './bitfield/index.js'
export {
  parseTorrent, hasMetadata, decodeTorrentFile, decodeInfoDict, encodeTorrentFile, parseMagnet, toMagnetURI,
  createTorrent, autoPieceLength, sanitizeComponent, sanitizePath,
  MetainfoError, MagnetError, TorrentIdError, CreateTorrentError
} from './metainfo/index.js'
export type {
  ParseTorrentOptions, TorrentFileFields, MagnetData, MagnetInput, CreateTorrentOptions, CreateTorrentInput,
  CreateTorrentItem, ChunkSource, ParsedTorrent, MagnetTorrent, TorrentFile, PadFile, TorrentId
} from './metainfo/index.js'
export { Wire } from './wire/index.js'
export type { WireType, WireOptions, ByteStream, WireExtension, WireExtensionClass, ExtendedHandshake } from './wire/index.js'
export { utMetadata, utPex, UtPex, LtDonthave } from './wire/extensions/index.js'
export { ConnectionPool, PoolTorrent, TransportError, UTP_SUPPORT } from './transport/index.js'
export { MemoryStore, FsStore, canUseFsStore, StorageError, isUploadOnlyError, storeOptionsFromTorrent, piecesInIncompleteFiles } from './storage/index.js'
export type { ChunkStore, FsStoreOptions, MemoryStoreOptions, FileStat, GetOptions, StoreFile, StoreOptions, StorageErrorCode } from './storage/index.js'
export { WebTorrent, Torrent, File, VERSION, randomPeerId } from './client/index.js'
export type { ClientOptions, TorrentOptions, TorrentEvents } from './client/index.js'
export { Discovery, IpBlocklist, loadBlocklist, parseRange } from './discovery/index.js'
export type { PeerSource, DiscoveryOptions, DiscoveryStats, BlocklistInput, LoadBlocklistOptions } from './discovery/index.js'
export { DhtNode, dhtSupported } from './dht/index.js'
export type { DhtLike, DhtOptions, DhtNodeOptions, DhtState } from './dht/index.js'
export { WebTorrent as default } from './client/index.js'
export {
  TrackerClient, TrackerError, trackerBackoff, discoveryAllowed, isPrivateTorrent, announceListFor,
  UdpTrackerSocket, WsTrackerPool, httpAnnounce, httpScrape, parseTrackerUrl, scrapeUrlFor
} from './tracker/index.js'
export type {
  TrackerClientOptions, TrackerClientEvents, TrackerStats, TrackerStatus, TrackerPeerEvent, TrackerUpdateEvent,
  TrackerScrapeEvent, TrackerSignalEvent, DiscoveryFlags, ScrapeResult, AnnounceResponse
} from './tracker/index.js'
export { WebSeed, WebSeedSet, createWebSeeds, WebSeedError } from './webseed/index.js'
export { Lsd } from './lsd/index.js'
export { NatTraversal } from './nat/index.js'
