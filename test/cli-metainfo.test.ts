/**
 * `wasmtorrent info` and `wasmtorrent create`, run as child processes from the sources
 * (node --import tsx src/cli/main.ts): output, files written, exit codes, one-line errors without stacks.
 */
import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseTorrent, type ParsedTorrent } from '../src/metainfo/index.js'
import { createTorrentNpm, FIXTURES, tempDir } from './helpers/metainfo.js'

const ROOT = join(import.meta.dirname, '..')
const MAIN = join(ROOT, 'src/cli/main.ts')
// tsx by absolute URL, so the CLI can run with any working directory.
const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href

interface Result { code: number, stdout: string, stderr: string }

function cli (args: string[], cwd = ROOT): Promise<Result> {
  return new Promise(resolve => {
    execFile(process.execPath, ['--import', TSX, MAIN, ...args], { cwd, env: { ...process.env, WASMTORRENT_DEBUG: '' } }, (err, stdout, stderr) => {
      resolve({ code: err ? (err as { code?: number }).code ?? 1 : 0, stdout, stderr })
    })
  })
}

function expectOneLineError (r: Result, pattern: RegExp): void {
  expect(r.code).toBe(1)
  expect(r.stdout).toBe('')
  const lines = r.stderr.trimEnd().split('\n')
  expect(lines.length, r.stderr).toBe(1)
  expect(lines[0]).toMatch(/^wasmtorrent: /)
  expect(lines[0]).toMatch(pattern)
  expect(r.stderr).not.toMatch(/\n\s+at /)
}

let dir: string
let cleanup: () => void

beforeAll(() => {
  ({ dir, cleanup } = tempDir('wt-cli-'))
  mkdirSync(join(dir, 'content/sub'), { recursive: true })
  writeFileSync(join(dir, 'content/a.bin'), randomBytes(50_000))
  writeFileSync(join(dir, 'content/sub/b.txt'), 'hello\n')
})

afterAll(() => cleanup())

describe('wasmtorrent info', () => {
  it('prints a readable summary of a .torrent file', async () => {
    const r = await cli(['info', join(FIXTURES, 'folder.torrent')])
    expect(r.code).toBe(0)
    expect(r.stderr).toBe('')
    expect(r.stdout).toMatch(/^name: +folder$/m)
    expect(r.stdout).toMatch(/^info-hash: +b88da2caac6648e6c7d7687e3f89085f7e230e6b$/m)
    expect(r.stdout).toMatch(/^size: +15 B/m)
    expect(r.stdout).toMatch(/^pieces: +1 x 16.0 KiB/m)
    expect(r.stdout).toMatch(/folder\/file\.txt/)
    expect(r.stdout).toMatch(/^magnet: +magnet:\?xt=urn:btih:b88da2caac6648e6c7d7687e3f89085f7e230e6b/m)
  })

  it('--json gives the same facts as parseTorrent', async () => {
    const r = await cli(['info', join(FIXTURES, 'leaves.torrent'), '--json'])
    expect(r.code).toBe(0)
    const j = JSON.parse(r.stdout)
    const t = await parseTorrent(join(FIXTURES, 'leaves.torrent')) as ParsedTorrent
    expect(j).toMatchObject({
      infoHash: t.infoHash, name: t.name, metadata: true, length: t.length, pieceLength: t.pieceLength,
      pieceCount: t.pieceHashes.length / 20, announce: t.announce, private: false
    })
    expect(j.files).toEqual(t.files.map(f => ({ path: f.path, length: f.length, offset: f.offset })))
  })

  it('prints what a magnet holds (no metadata yet)', async () => {
    const magnet = 'magnet:?xt=urn:btih:d2474e86c95b19b8bcfdb92bc12c9d44667cfa36&dn=Leaves&tr=udp%3A%2F%2F127.0.0.1%3A1&x.pe=127.0.0.1:6881'
    const [text, jsonRun] = await Promise.all([cli(['info', magnet, '--no-fetch']), cli(['info', magnet, '--json', '--no-fetch'])])
    expect(text.code).toBe(0)
    expect(text.stdout).toMatch(/^name: +Leaves$/m)
    expect(text.stdout).toMatch(/^metadata: +not included/m)
    expect(text.stdout).toMatch(/udp:\/\/127\.0\.0\.1:1/)
    const json = JSON.parse(jsonRun.stdout)
    expect(json).toMatchObject({ infoHash: 'd2474e86c95b19b8bcfdb92bc12c9d44667cfa36', metadata: false, peerAddresses: ['127.0.0.1:6881'] })
  })

  it('bad input: one line on stderr, exit code 1', async () => {
    const [missing, corrupt, unknown] = await Promise.all([
      cli(['info', join(dir, 'nope.torrent')]),
      cli(['info', join(FIXTURES, 'corrupt.torrent')]),
      cli(['frobnicate'])
    ])
    expectOneLineError(missing, /is not a magnet URI, info-hash, http\(s\) URL or \.torrent file/)
    expectOneLineError(corrupt, /missing info\.name/)
    expectOneLineError(unknown, /unknown command/)
  })
})

describe('wasmtorrent create', () => {
  it('writes a torrent with every option, identical in info-hash to create-torrent', async () => {
    const out = join(dir, 'out.torrent')
    const r = await cli(['create', join(dir, 'content'), '-o', out, '--announce', 'http://127.0.0.1:1/announce',
      '-a', 'udp://127.0.0.1:2', '--piece-length', '32K', '--private', '--name', 'my content', '--comment', 'c',
      '--url-list', 'http://127.0.0.1:3/', '--no-date'])
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    const t = await parseTorrent(out) as ParsedTorrent
    expect(r.stdout).toContain(t.infoHash)
    expect(t).toMatchObject({
      name: 'my content', pieceLength: 32768, private: true, comment: 'c', createdBy: 'wasmtorrent',
      announce: ['http://127.0.0.1:1/announce', 'udp://127.0.0.1:2'], urlList: ['http://127.0.0.1:3/']
    })
    expect(t.created).toBeUndefined()
    expect(t.files.map(f => f.path)).toEqual(['my content/a.bin', 'my content/sub/b.txt'])
    const theirs = await parseTorrent(await createTorrentNpm(join(dir, 'content'), { name: 'my content', pieceLength: 32768, private: true }))
    expect(t.infoHash).toBe(theirs.infoHash)
  })

  it('defaults the output to <name>.torrent in the current directory', async () => {
    const r = await cli(['create', join(dir, 'content/a.bin'), '-q'], dir)
    expect(r.code).toBe(0)
    expect(existsSync(join(dir, 'a.bin.torrent'))).toBe(true)
    expect((await parseTorrent(readFileSync(join(dir, 'a.bin.torrent'))) as ParsedTorrent).files[0].length).toBe(50_000)
  })

  it('bad input: one line on stderr, exit code 1', async () => {
    const [missing, notPow2, bogus] = await Promise.all([
      cli(['create', join(dir, 'missing')]),
      cli(['create', join(dir, 'content'), '--piece-length', '3000']),
      cli(['create', join(dir, 'content'), '--bogus'])
    ])
    expectOneLineError(missing, /no such file or directory/)
    expectOneLineError(notPow2, /power of two/)
    expectOneLineError(bogus, /Unknown option '--bogus'/)
  })
})
