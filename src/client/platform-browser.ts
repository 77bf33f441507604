import { WasmTorrentError } from '../errors.js'
// Browsers: no file system by default; torrents use the memory store unless given one.
export function defaultDownloadPath (): string | undefined {
  return undefined
}

export function seedRootOf (_path: string): string {
  throw new WasmTorrentError('ERR_SEED_INPUT', 'browsers cannot seed from file paths: pass Files, Blobs or Uint8Arrays')
}
