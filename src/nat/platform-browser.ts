// Browsers cannot open router ports (no UDP, no SSDP): NAT traversal is unavailable there.
import { WasmTorrentError } from '../errors.js'
import type { NatBackend } from './platform.js'

export const natSupported = false

export function createNatBackend (): NatBackend {
  throw new WasmTorrentError('ERR_NAT_UNSUPPORTED', 'NAT traversal (UPnP, NAT-PMP) is not available on this platform')
}
