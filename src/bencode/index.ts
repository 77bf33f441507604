import { decode, decodePrefix, decodeWithRaw } from './decode.js'
import { encode, encodingLength } from './encode.js'

export type { BencodeValue, DecodeOptions } from './decode.js'
export { DEFAULT_MAX_DEPTH, DEFAULT_MAX_TOKENS } from './decode.js'

/** bencode codec with the npm `bencode` package's value shapes (see decode.ts / encode.ts for the details). */
export const bencode = {
  decode,
  decodePrefix,
  decodeWithRaw,
  encode,
  encodingLength,
  /** Alias of encodingLength, as in npm `bencode`. */
  byteLength: encodingLength
}
