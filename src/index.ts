// wasmtorrent public API.
export { ready } from './wasm/index.js'
export { bencode } from './bencode/index.js'
export type { BencodeValue, DecodeOptions } from './bencode/index.js'
export { sha1, toHex } from './sha1/index.js'
export type { Sha1, Sha1Hasher, Sha1Engine } from './sha1/index.js'
export { WasmTorrentError, WasmNotReadyError, BencodeError, WireProtocolError } from './errors.js'
export { Bitfield, Availability } from './bitfield/index.js'
