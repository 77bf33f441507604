/**
 * One piece-hashing job: read the job's parts (file ranges read here, or bytes sent along) into one buffer
 * and hash it as consecutive pieces. Runs in a hash worker, or inline for small inputs. Node only (node:fs).
 */
import { closeSync, openSync, readSync } from 'node:fs'
import { sha1 } from '../sha1/index.js'

/** A file range to read, or bytes that were already read (e.g. from a stream). */
export type HashPart = { path: string, offset: number, length: number } | { bytes: Uint8Array }

export interface HashJob {
  type: 'hash'
  pieceLength: number
  parts: HashPart[]
}

export class HashJobError extends Error {
  readonly code: string
  constructor (code: string, message: string) {
    super(message)
    this.code = code
    this.name = 'CreateTorrentError'
  }
}

let scratch = new Uint8Array(0)

function partLength (p: HashPart): number {
  return 'bytes' in p ? p.bytes.length : p.length
}

function readRange (path: string, offset: number, length: number, into: Uint8Array, at: number): void {
  let fd: number
  try {
    fd = openSync(path, 'r')
  } catch (err) {
    throw new HashJobError('ERR_CREATE_READ', `cannot read ${path}: ${(err as Error).message}`)
  }
  try {
    let done = 0
    while (done < length) {
      const n = readSync(fd, into, at + done, length - done, offset + done)
      if (n === 0) throw new HashJobError('ERR_CREATE_FILE_CHANGED', `${path} became shorter while the torrent was being created`)
      done += n
    }
  } finally {
    closeSync(fd)
  }
}

/** Digests (20 bytes each) of the job's pieces; the last piece may be short. */
export function runHashJob (job: HashJob): Uint8Array {
  const { parts, pieceLength } = job
  if (parts.length === 1 && 'bytes' in parts[0]) return sha1.batch(parts[0].bytes, pieceLength)
  const total = parts.reduce((n, p) => n + partLength(p), 0)
  if (scratch.length < total) scratch = new Uint8Array(total)
  let at = 0
  for (const p of parts) {
    if ('bytes' in p) scratch.set(p.bytes, at)
    else readRange(p.path, p.offset, p.length, scratch, at)
    at += partLength(p)
  }
  return sha1.batch(scratch.subarray(0, total), pieceLength)
}
