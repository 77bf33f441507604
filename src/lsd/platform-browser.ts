// Browsers have no UDP: LSD is unavailable there. `new Lsd()` reports ERR_LSD_UNSUPPORTED as a warning.
import { WasmTorrentError } from '../errors.js'
import type { LsdSocket, LsdSocketOptions } from './platform.js'

export const lsdSupported = false

export function createLsdSocket (_opts: LsdSocketOptions): LsdSocket {
  throw new WasmTorrentError('ERR_LSD_UNSUPPORTED', 'Local Service Discovery needs UDP multicast, which this platform lacks')
}
