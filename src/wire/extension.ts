/**
 * BEP 10 extension plug-ins, with the contract bittorrent-protocol uses (so its ecosystem's extensions fit):
 * `wire.use(ExtensionClass)` constructs the class with the wire; the class's prototype carries `name` (the key
 * in the `m` dictionary, e.g. 'ut_metadata'); the instance may add fields to `wire.extendedHandshake` in its
 * constructor (e.g. metadata_size) and implements any of the hooks below.
 */
import type { Wire } from './wire.js'

export interface WireExtension {
  /** Called with the peer's BitTorrent handshake. */
  onHandshake? (infoHash: string, peerId: string, flags: { extended: boolean, fast: boolean, dht: boolean }): void
  /** Called with the peer's extended handshake, only when the peer supports this extension. */
  onExtendedHandshake? (handshake: ExtendedHandshake): void
  /** Called with each message the peer sends to this extension (payload after the extended id byte). */
  onMessage? (payload: Uint8Array): void
  /** Called when the wire closes. */
  onClose? (): void
}

export interface WireExtensionClass {
  new (wire: Wire): WireExtension
  prototype: { name: string }
}

/** The BEP 10 handshake dictionary: known keys typed, anything else passed through. */
export interface ExtendedHandshake {
  /** extension name -> message id (0 = disabled) */
  m?: Record<string, number>
  /** client name and version */
  v?: Uint8Array | string
  /** listening TCP port */
  p?: number
  /** how many outstanding requests the sender allows */
  reqq?: number
  /** the receiver's address as the sender sees it (4 or 16 bytes) */
  yourip?: Uint8Array
  /** BEP 9 metadata size in bytes */
  metadata_size?: number
  /** BEP 21: the sender will not download */
  upload_only?: number
  [key: string]: unknown
}
