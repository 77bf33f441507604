/** `wasmtorrent info <torrent-id> [--json]`: what a torrent file, URL, magnet or info-hash holds. */
import { hasMetadata, parseTorrent } from '../metainfo/parse-torrent.js'
import { toMagnetURI } from '../metainfo/magnet.js'
import type { MagnetTorrent, ParsedTorrent } from '../metainfo/types.js'
import { formatBytes, parse, UsageError } from './usage.js'

export function infoJson (t: MagnetTorrent | ParsedTorrent): Record<string, unknown> {
  const common = {
    infoHash: t.infoHash,
    ...(t.infoHashV2 ? { infoHashV2: t.infoHashV2 } : {}),
    name: t.name,
    announce: t.announce,
    urlList: t.urlList,
    magnetURI: toMagnetURI(t)
  }
  if (!hasMetadata(t)) {
    return {
      ...common,
      metadata: false,
      peerAddresses: t.peerAddresses,
      ...(t.so ? { so: t.so } : {}),
      ...(t.exactSources ? { exactSources: t.exactSources } : {})
    }
  }
  return {
    ...common,
    metadata: true,
    version: t.version,
    length: t.length,
    pieceLength: t.pieceLength,
    lastPieceLength: t.lastPieceLength,
    pieceCount: t.pieceHashes.length / 20,
    private: t.private ?? false,
    created: t.created?.toISOString(),
    createdBy: t.createdBy,
    comment: t.comment,
    files: t.files.map(f => ({ path: f.path, length: f.length, offset: f.offset })),
    padFiles: t.padFiles.length
  }
}

function summary (t: MagnetTorrent | ParsedTorrent): string {
  const lines: string[] = []
  const row = (k: string, v: string | number | undefined) => { if (v !== undefined && v !== '') lines.push(`${(k + ':').padEnd(14)}${v}`) }
  row('name', t.name ?? '(unknown until metadata is fetched)')
  row('info-hash', t.infoHash)
  row('info-hash v2', t.infoHashV2)
  if (hasMetadata(t)) {
    row('size', `${formatBytes(t.length)} (${t.length} bytes)`)
    row('pieces', `${t.pieceHashes.length / 20} x ${formatBytes(t.pieceLength)}`)
    row('private', t.private ? 'yes' : 'no')
    if (t.version === 'hybrid') row('version', 'hybrid v1+v2 (loaded as v1)')
    row('created', t.created?.toISOString())
    row('created by', t.createdBy)
    row('comment', t.comment)
  } else {
    row('metadata', 'not included (a magnet: files and size come from peers)')
    if (t.peerAddresses.length) row('peers', t.peerAddresses.join(', '))
    if (t.so) row('selected', t.so.join(','))
  }
  lines.push(`trackers:     ${t.announce.length === 0 ? '(none)' : ''}`)
  for (const u of t.announce) lines.push(`  ${u}`)
  if (t.urlList.length) {
    lines.push('web seeds:')
    for (const u of t.urlList) lines.push(`  ${u}`)
  }
  if (hasMetadata(t)) {
    lines.push(`files:        ${t.files.length}${t.padFiles.length ? ` (+${t.padFiles.length} pad files)` : ''}`)
    for (const f of t.files) lines.push(`  ${formatBytes(f.length).padStart(11)}  ${f.path}`)
  }
  lines.push(`magnet:       ${toMagnetURI(t)}`)
  return lines.join('\n') + '\n'
}

// How long `info <magnet>` waits for a peer to send the metadata.
const DEFAULT_METADATA_TIMEOUT_S = 30

export async function runInfo (args: string[]): Promise<void> {
  const { values, positionals } = parse(args, {
    json: { type: 'boolean' },
    'no-fetch': { type: 'boolean' },
    timeout: { type: 'string' }
  }, 1)
  let t: MagnetTorrent | ParsedTorrent = await parseTorrent(positionals[0])
  if (!hasMetadata(t) && values['no-fetch'] !== true && t.peerAddresses.length > 0) {
    const seconds = values.timeout !== undefined ? Number(values.timeout) : DEFAULT_METADATA_TIMEOUT_S
    if (!(seconds > 0)) throw new UsageError('--timeout must be a positive number of seconds')
    const { fetchMetadata } = await import('./fetch-metadata.js')
    t = await fetchMetadata(t, seconds * 1000)
  }
  process.stdout.write(values.json ? JSON.stringify(infoJson(t), null, 2) + '\n' : summary(t))
}
