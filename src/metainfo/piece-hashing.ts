/**
 * Hashing the pieces of a list of input files, in order, with bounded memory: the concatenated data is cut
 * into jobs of whole pieces (about BATCH_BYTES each) that the piece hasher runs in parallel (worker threads in
 * Node); at most 2 x parallelism jobs are in flight, so memory stays near that many batches whatever the input
 * size. File inputs travel as (path, offset, length) ranges that the workers read themselves; bytes, Blobs and
 * streams are copied into the job once. Browser-safe: platform work sits behind the piece hasher.
 */
import { CreateTorrentError } from './errors.js'
import { iterateReadable } from '../util/read-limited.js'
import type { HashPart, PieceHasher } from './piece-hasher.js'

/** Target bytes per hashing job: large enough that messaging costs nothing, small enough to bound memory. */
export const BATCH_BYTES = 4 * 1024 * 1024

export type SourceData =
  | { kind: 'fs', fsPath: string }
  | { kind: 'bytes', data: Uint8Array }
  | { kind: 'blob', blob: Blob }
  | { kind: 'stream', stream: AsyncIterable<Uint8Array | string> }

export interface SourceFile {
  /** Path in the torrent. */
  path: string[]
  /** Byte length; for streams 0 until hashed, then the count of bytes read. */
  length: number
  data: SourceData
}

export interface HashProgressOptions {
  /** Called after each job with the bytes hashed so far and the expected total. */
  onProgress?: (hashedBytes: number, totalBytes: number) => void
  /** Expected total (streams of unknown length count 0). */
  totalBytes: number
  signal?: AbortSignal
}

const encoder = new TextEncoder()

/** Concatenated 20-byte piece digests of `files`; stream files get their final length set. */
export async function hashPieces (files: SourceFile[], pieceLength: number, hasher: PieceHasher,
  opts: HashProgressOptions): Promise<Uint8Array> {
  const batchBytes = Math.max(1, Math.floor(BATCH_BYTES / pieceLength)) * pieceLength
  const maxInflight = hasher.parallelism * 2
  const results: Uint8Array[] = []
  const inflight = new Set<Promise<void>>()
  let failure: { err: unknown } | undefined
  let parts: HashPart[] = []
  let fill = 0
  let acc: Uint8Array | undefined
  let accLen = 0
  let hashed = 0

  const closeAcc = () => {
    if (acc && accLen > 0) parts.push({ bytes: acc.subarray(0, accLen) })
    acc = undefined
    accLen = 0
  }

  const flush = async () => {
    closeAcc()
    if (fill === 0) return
    opts.signal?.throwIfAborted()
    const job = parts
    const len = fill
    const index = results.length
    results.push(new Uint8Array(0))
    parts = []
    fill = 0
    const p: Promise<void> = hasher.hash(job, pieceLength).then(d => {
      results[index] = d
      hashed += len
      opts.onProgress?.(hashed, Math.max(opts.totalBytes, hashed))
    }, err => { failure ??= { err } }).finally(() => { inflight.delete(p) })
    inflight.add(p)
    while (inflight.size >= maxInflight) await Promise.race(inflight)
    if (failure) throw failure.err
  }

  const addRange = async (path: string, length: number) => {
    for (let offset = 0; offset < length;) {
      closeAcc()
      const take = Math.min(length - offset, batchBytes - fill)
      parts.push({ path, offset, length: take })
      offset += take
      fill += take
      if (fill === batchBytes) await flush()
    }
  }

  const addBytes = async (chunk: Uint8Array) => {
    for (let pos = 0; pos < chunk.length;) {
      const take = Math.min(chunk.length - pos, batchBytes - fill)
      if (!acc) {
        acc = new Uint8Array(batchBytes - fill)
        accLen = 0
      }
      acc.set(chunk.subarray(pos, pos + take), accLen)
      accLen += take
      pos += take
      fill += take
      if (fill === batchBytes) await flush()
    }
  }

  try {
    for (const f of files) {
      const d = f.data
      if (d.kind === 'fs') {
        await addRange(d.fsPath, f.length)
      } else if (d.kind === 'bytes') {
        await addBytes(d.data)
      } else {
        const chunks = d.kind === 'blob' ? iterateReadable(d.blob.stream()) : d.stream
        let n = 0
        for await (const c of chunks) {
          const bytes = typeof c === 'string' ? encoder.encode(c) : c instanceof Uint8Array ? c : null
          if (!bytes) throw new CreateTorrentError('ERR_CREATE_INPUT', `stream for ${f.path.join('/')} produced a non-byte chunk`)
          n += bytes.length
          await addBytes(bytes)
        }
        if (d.kind === 'blob' && n !== f.length) {
          throw new CreateTorrentError('ERR_CREATE_FILE_CHANGED', `Blob ${f.path.join('/')} gave ${n} bytes, not its size ${f.length}`)
        }
        f.length = n
      }
    }
    await flush()
  } finally {
    await Promise.all(inflight)
  }
  if (failure) throw failure.err
  const out = new Uint8Array(results.reduce((n, r) => n + r.length, 0))
  let o = 0
  for (const r of results) {
    out.set(r, o)
    o += r.length
  }
  return out
}
