/** BEP 10 extensions for Wire: ut_metadata (BEP 9), ut_pex (BEP 11), lt_donthave (BEP 54). */
export {
  utMetadata, UtMetadata, METADATA_PIECE_SIZE, DEFAULT_MAX_METADATA_SIZE, MAX_METADATA_MESSAGE
} from './ut-metadata.js'
export type { UtMetadataOptions, UtMetadataClass, UtMetadataEvents } from './ut-metadata.js'
export {
  utPex, UtPex, UtPexExtension, PEX_FLAG, MAX_PEX_MESSAGE, MAX_PEX_PEERS, MAX_PEX_MESSAGES, PEX_WINDOW, PEX_INTERVAL,
  decodeFlags as decodePexFlags, formatAddress
} from './ut-pex.js'
export type { UtPexOptions, UtPexClass, UtPexEvents, PexPeer, PexPeerInput, PexFlags } from './ut-pex.js'
export { LtDonthave, LtDonthaveExtension } from './lt-donthave.js'
export type { LtDonthaveEvents } from './lt-donthave.js'
