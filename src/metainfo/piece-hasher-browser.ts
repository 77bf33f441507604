/**
 * Browsers ("#piece-hasher", default condition): hash on the calling thread with the SHA-1 seam (WASM;
 * crypto.subtle is async-only and measured slower). File-range parts cannot occur here.
 */
import { sha1 } from '../sha1/index.js'
import { ready } from '../wasm/index.js'
import { CreateTorrentError } from './errors.js'
import type { HashPart, PieceHasher } from './piece-hasher.js'

export function createPieceHasher (_estimatedBytes: number): PieceHasher {
  return {
    parallelism: 1,
    async hash (parts: HashPart[], pieceLength: number): Promise<Uint8Array> {
      await ready
      const chunks = parts.map(p => {
        if (!('bytes' in p)) throw new CreateTorrentError('ERR_CREATE_PATH_UNSUPPORTED', 'file paths cannot be read in this runtime')
        return p.bytes
      })
      let data = chunks[0]
      if (chunks.length !== 1) {
        data = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0))
        let o = 0
        for (const c of chunks) {
          data.set(c, o)
          o += c.length
        }
      }
      // Yield between jobs so a page stays responsive while a large input is hashed.
      await new Promise(resolve => setTimeout(resolve, 0))
      return sha1.batch(data, pieceLength)
    }
  }
}
