/**
 * Typed errors. Every error the library throws or emits is a WasmTorrentError with a stable `code`
 * (ERR_<AREA>_<WHAT>) that callers may switch on; messages are for humans and may change.
 */
export class WasmTorrentError extends Error {
  readonly code: string

  constructor (code: string, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'WasmTorrentError'
    this.code = code
  }
}

/** The WASM kernels are not instantiated yet (browsers: await `ready` first). */
export class WasmNotReadyError extends WasmTorrentError {
  constructor () {
    super('ERR_WASM_NOT_READY', 'wasmtorrent kernels are not loaded yet: await `ready` before using them')
    this.name = 'WasmNotReadyError'
  }
}

/** Malformed or over-limit bencoded data, or a value that cannot be bencoded. */
export class BencodeError extends WasmTorrentError {
  /** Byte offset in the input where decoding failed (-1 for encoding errors). */
  readonly position: number

  constructor (code: string, message: string, position = -1) {
    super(code, position >= 0 ? `${message} at byte ${position}` : message)
    this.name = 'BencodeError'
    this.position = position
  }
}

/** A peer wire protocol violation found while framing or decoding messages. */
export class WireProtocolError extends WasmTorrentError {
  constructor (code: string, message: string) {
    super(code, message)
    this.name = 'WireProtocolError'
  }
}
