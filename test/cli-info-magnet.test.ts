/**
 * `wasmtorrent info <magnet>` fetches the metadata from the magnet's peers (x.pe) with ut_metadata: here a real
 * libtorrent seeder on 127.0.0.1. Run as a child process from the sources.
 */
import { execFile } from 'node:child_process'
import { mkdirSync, mkdtempSync, writeFileSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { createServer } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { LtPeer } from './helpers/libtorrent.js'
import { needs, system } from './helpers/system.js'
import { randomBytes, rng } from './helpers/random.js'

const MAIN = join(import.meta.dirname, '../src/cli/main.ts')
const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href

function cli (args: string[]): Promise<{ code: number, stdout: string, stderr: string }> {
  return new Promise(resolve => {
    execFile(process.execPath, ['--import', TSX, MAIN, ...args], { env: { ...process.env, WASMTORRENT_DEBUG: '' } }, (err, stdout, stderr) => {
      resolve({ code: err ? (err as { code?: number }).code ?? 1 : 0, stdout, stderr })
    })
  })
}

describe.skipIf(!needs('python3-libtorrent', system.libtorrent()))('wasmtorrent info <magnet> against libtorrent', () => {
  let lt: LtPeer
  let dir: string
  let ih: string

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'wt-info-'))
    const root = join(dir, 'album')
    mkdirSync(join(root, 'disc 1'), { recursive: true })
    const rand = rng(77)
    writeFileSync(join(root, 'disc 1', 'track01.flac'), randomBytes(rand, 300_000))
    writeFileSync(join(root, 'cover.jpg'), randomBytes(rand, 45_000))
    writeFileSync(join(root, 'notes.txt'), 'liner notes\n')
    lt = await LtPeer.start()
    await lt.create({ path: root, out: join(dir, 'album.torrent'), piece_length: 32768 })
    ih = await lt.add({ torrent: join(dir, 'album.torrent'), save_path: dir })
    await lt.waitForStatus(ih, s => s.is_seeding, 20000)
  })

  afterAll(async () => {
    await lt?.stop()
    rmSync(dir, { recursive: true, force: true })
  })

  it('fetches the metadata from the peer and prints the files', async () => {
    const magnet = `magnet:?xt=urn:btih:${ih}&x.pe=127.0.0.1:${lt.port}`
    const r = await cli(['info', magnet, '--json'])
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    const info = JSON.parse(r.stdout)
    expect(info.metadata).toBe(true)
    expect(info.infoHash).toBe(ih)
    expect(info.name).toBe('album')
    expect(info.pieceLength).toBe(32768)
    expect(info.length).toBe(300_000 + 45_000 + 12)
    expect(info.files.map((f: { path: string }) => f.path).sort()).toEqual(['album/cover.jpg', 'album/disc 1/track01.flac', 'album/notes.txt'])
  })

  it('gives a one-line error when no peer sends the metadata in time', async () => {
    // A listener that accepts and never speaks: the wire times out, no metadata arrives.
    const mute = createServer(() => {})
    await new Promise<void>(resolve => mute.listen(0, '127.0.0.1', resolve))
    const port = (mute.address() as { port: number }).port
    const r = await cli(['info', `magnet:?xt=urn:btih:${'ab'.repeat(20)}&x.pe=127.0.0.1:${port}`, '--timeout', '2'])
    mute.close()
    expect(r.code).toBe(1)
    expect(r.stdout).toBe('')
    expect(r.stderr.trim().split('\n')).toHaveLength(1)
    expect(r.stderr).toMatch(/^wasmtorrent: no peer sent the metadata in time/)
  })
})
