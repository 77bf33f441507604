/**
 * Safe file layout (bad-input cases 7-9): every path of a hostile torrent resolves under the download root on
 * Linux/macOS (posix rules) and Windows (win32 rules, device names, trailing dots); symlinks leaving the
 * torrent are neutralized; crafted collision storms and deep nesting are rejected.
 */
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { bencode } from '../src/bencode/index.js'
import { parseTorrent, hasMetadata, sanitizeComponent, type ParsedTorrent } from '../src/metainfo/index.js'

type PathPart = string | Uint8Array

function torrent (files: Array<{ path: PathPart[], length?: number, attr?: string, 'symlink path'?: PathPart[] }>, name: PathPart = 'root'): Uint8Array {
  const total = files.reduce((n, f) => n + (f.length ?? 1), 0)
  return bencode.encode({
    info: {
      name,
      'piece length': 16384,
      pieces: new Uint8Array(Math.ceil(total / 16384) * 20),
      files: files.map(f => ({ length: 1, ...f }))
    }
  } as never)
}

async function parse (bytes: Uint8Array): Promise<ParsedTorrent> {
  const t = await parseTorrent(bytes)
  if (!hasMetadata(t)) throw new Error('no metadata')
  return t
}

// Independent checks (not the implementation's rules): what each OS would do with the path.
const WIN_RESERVED = /^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³])(\.|$)/i
function assertSafe (p: string): void {
  const parts = p.split('/')
  for (const c of parts) {
    expect(c, p).not.toBe('')
    expect(c, p).not.toBe('.')
    expect(c, p).not.toBe('..')
    expect(c, p).not.toMatch(/[\\/:*?"<>|\u0000-\u001f]/)
    expect(c, p).not.toMatch(/[. ]$/)
    expect(c, p).not.toMatch(WIN_RESERVED)
    expect(c, p).not.toMatch(/[\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff]/)
    expect(new TextEncoder().encode(c).length, p).toBeLessThanOrEqual(255)
  }
  const posixRoot = '/srv/downloads'
  expect(path.posix.resolve(posixRoot, ...parts).startsWith(posixRoot + '/'), p).toBe(true)
  const winRoot = 'C:\\downloads'
  expect(path.win32.resolve(winRoot, ...parts).startsWith(winRoot + '\\'), p).toBe(true)
  // Windows treats '/' and '\' alike; splitting the joined string must give the same components back.
  expect(path.win32.join(...parts).split('\\')).toEqual(parts)
}

describe('case 7: hostile path components are cleaned', () => {
  const hostile: PathPart[][] = [
    ['..', '..', 'etc', 'passwd'],
    ['.', 'a'],
    ['/etc', 'passwd'],
    ['/'],
    ['C:', 'Windows', 'evil.dll'],
    ['C:\\Windows\\evil.dll'],
    ['a\\..\\..\\b'],
    ['a/../../b'],
    ['CON.txt'],
    ['nul'],
    ['LPT1'],
    ['com3.tar.gz'],
    ['trailing.'],
    ['trailing '],
    ['...'],
    [' . '],
    ['nul\u0000byte'],
    ['\u200eleft-to-right mark'],
    ['evil\u202etxt.exe'],
    [new Uint8Array([0xc0, 0xae, 0xc0, 0xae]), 'overlong-dots'],
    [new Uint8Array([0xe0, 0x80, 0xae])],
    ['x'.repeat(300) + '.txt'],
    ['é'.repeat(200)],
    ['ok', 'file.txt'],
    []
  ]

  it('every file path resolves under the root on posix and win32 rules', async () => {
    const t = await parse(torrent(hostile.map(p => ({ path: p }))))
    expect(t.files.length).toBe(hostile.length)
    for (const f of t.files) {
      assertSafe(f.path)
      expect(f.path.startsWith('root/')).toBe(true)
    }
    const byIndex = t.files.map(f => f.path)
    expect(byIndex[0]).toBe('root/etc/passwd')
    expect(byIndex[2]).toBe('root/_etc/passwd')
    expect(byIndex[4]).toBe('root/C_/Windows/evil.dll')
    expect(byIndex[8]).toBe('root/_CON.txt')
    expect(byIndex[9]).toBe('root/_nul')
    expect(byIndex[12]).toBe('root/trailing')
    expect(byIndex[16]).toBe('root/nul_byte')
    expect(byIndex[17]).toBe('root/left-to-right mark')
    expect(byIndex[19]).toBe('root/\ufffd\ufffd\ufffd\ufffd/overlong-dots')
    expect(byIndex[21].endsWith('.txt')).toBe(true)
    expect(byIndex[23]).toBe('root/ok/file.txt')
  })

  it('the torrent name is cleaned too (empty names fall back to the info-hash)', async () => {
    for (const name of ['..', '../../etc', 'C:', 'CON', 'a\\b', '\u202e']) {
      const t = await parse(torrent([{ path: ['f'] }], name))
      assertSafe(t.name)
      for (const f of t.files) assertSafe(f.path)
      if (name === '..' || name === '\u202e') expect(t.name).toBe(t.infoHash)
    }
    const single = await parseTorrent(bencode.encode({ info: { name: '../../x', length: 1, 'piece length': 16384, pieces: new Uint8Array(20) } }))
    assertSafe((single as ParsedTorrent).files[0].path)
  })

  it('sanitizeComponent keeps ordinary names unchanged', () => {
    for (const s of ['file.txt', 'Leaves of Grass by Walt Whitman.epub', 'Ünïcödé 字', '.hidden', 'a..b', 'CONSOLE.txt', 'com10']) {
      expect(sanitizeComponent(s)).toBe(s)
    }
  })
})

describe('case 8: symlinks', () => {
  it('a symlink pointing outside the torrent or to nothing is neutralized; one inside is kept', async () => {
    const t = await parse(torrent([
      { path: ['target.txt'] },
      { path: ['in'], length: 0, attr: 'l', 'symlink path': ['target.txt'] },
      { path: ['out'], length: 0, attr: 'l', 'symlink path': ['..', '..', 'etc', 'passwd'] },
      { path: ['abs'], length: 0, attr: 'l', 'symlink path': ['/etc/passwd'] },
      { path: ['missing'], length: 0, attr: 'l', 'symlink path': ['nope.txt'] },
      { path: ['self'], length: 0, attr: 'l', 'symlink path': ['self'] },
      { path: ['notalist'], length: 0, attr: 'l' }
    ]))
    const byName = Object.fromEntries(t.files.map(f => [f.name, f]))
    expect(byName.in.symlinkPath).toBe('target.txt')
    for (const n of ['out', 'abs', 'missing', 'self', 'notalist']) {
      expect(byName[n].symlinkPath, n).toBeUndefined()
      expect(byName[n].attr, n).toBeUndefined()
    }
  })
})

describe('case 9: collisions and depth', () => {
  it('colliding paths are renamed (case-insensitively, and files named like directories)', async () => {
    const t = await parse(torrent([
      { path: ['a.txt'] }, { path: ['A.TXT'] }, { path: ['a.txt'] }, { path: ['d'] }, { path: ['d', 'e'] },
      { path: ['..', 'a.txt'] }
    ]))
    const paths = t.files.map(f => f.path)
    expect(paths).toEqual(['root/a.txt', 'root/A.1.TXT', 'root/a.2.txt', 'root/d.1', 'root/d/e', 'root/a.3.txt'])
    expect(new Set(paths.map(p => p.toLowerCase())).size).toBe(paths.length)
  })

  it('more than 500 colliding names are rejected', async () => {
    const files = Array.from({ length: 502 }, () => ({ path: ['same.txt'] }))
    const err = await parseTorrent(torrent(files)).catch(e => e)
    expect(err.code).toBe('ERR_TORRENT_DUPLICATE_PATHS')
    // 500 is still fine.
    const ok = await parse(torrent(Array.from({ length: 501 }, () => ({ path: ['same.txt'] }))))
    expect(new Set(ok.files.map(f => f.path)).size).toBe(501)
  })

  it('directory nesting deeper than 100 is rejected', async () => {
    const deep = Array.from({ length: 101 }, (_, i) => `d${i}`)
    const err = await parseTorrent(torrent([{ path: deep }])).catch(e => e)
    expect(err.code).toBe('ERR_TORRENT_PATH_TOO_DEEP')
    const ok = await parse(torrent([{ path: deep.slice(1) }]))
    expect(ok.files[0].path.split('/').length).toBe(101)
  })
})
