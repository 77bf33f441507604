/** Browser side of "#dht-platform": no UDP, so no DHT. */
import { WasmTorrentError } from '../errors.js'
import type { DhtBackend, DhtBackendOptions, DhtState } from './platform.js'

export const dhtSupported = false

export async function loadDhtBackend (): Promise<void> {}

export function createDhtBackend (_opts: DhtBackendOptions): DhtBackend {
  throw new WasmTorrentError('ERR_DHT_UNSUPPORTED', 'the DHT needs UDP, which browsers do not have')
}

export async function readDhtState (_path: string): Promise<DhtState | null> {
  return null
}

export async function writeDhtState (_path: string, _state: DhtState): Promise<void> {}
