/** `wasmtorrent create <path> [-o out.torrent] [--announce URL]... [--piece-length N] ...`. */
import { writeFile } from 'node:fs/promises'
import { createTorrent } from '../metainfo/create-torrent.js'
import { decodeTorrentFile } from '../metainfo/torrent-file.js'
import { formatBytes, parse, parseSize } from './usage.js'

export async function runCreate (args: string[]): Promise<void> {
  const { values, positionals } = parse(args, {
    out: { type: 'string', short: 'o' },
    announce: { type: 'string', short: 'a', multiple: true },
    'url-list': { type: 'string', short: 'w', multiple: true },
    'piece-length': { type: 'string', short: 'l' },
    private: { type: 'boolean', short: 'p' },
    name: { type: 'string', short: 'n' },
    comment: { type: 'string', short: 'c' },
    'no-date': { type: 'boolean' },
    quiet: { type: 'boolean', short: 'q' }
  }, 1)
  const showProgress = !values.quiet && process.stderr.isTTY
  let last = 0
  const torrent = await createTorrent(positionals[0], {
    name: values.name,
    comment: values.comment,
    createdBy: 'wasmtorrent',
    private: values.private ? true : undefined,
    pieceLength: values['piece-length'] !== undefined ? parseSize(values['piece-length']) : undefined,
    announce: values.announce ?? [],
    urlList: values['url-list'],
    creationDate: values['no-date'] ? false : undefined,
    onProgress: showProgress
      ? (done, total) => {
          const now = Date.now()
          if (now - last < 200 && done < total) return
          last = now
          process.stderr.write(`\rhashing ${formatBytes(done)} / ${formatBytes(total)}   `)
        }
      : undefined
  })
  if (showProgress) process.stderr.write('\n')
  const parsed = await decodeTorrentFile(torrent)
  const out = values.out ?? `${parsed.name}.torrent`
  await writeFile(out, torrent)
  process.stdout.write(`${parsed.infoHash}  ${out}  (${parsed.files.length} file${parsed.files.length === 1 ? '' : 's'}, ${formatBytes(parsed.length)}, ${parsed.pieceHashes.length / 20} pieces of ${formatBytes(parsed.pieceLength)})\n`)
}
