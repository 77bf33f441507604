/**
 * Junk files left out of created torrents, as create-torrent does (the npm `junk` list: OS metadata, editor
 * swap and backup files). create-torrent drops a named input only when it is hidden AND junk, and drops every
 * hidden entry while walking directories; createTorrent does the same so info-hashes match.
 */
const JUNK = new RegExp([
  '^npm-debug\\.log$', '^\\..*\\.swp$', '^\\.DS_Store$', '^\\.AppleDouble$', '^\\.LSOverride$', '^Icon\\r$',
  '^\\._.*', '^\\.Spotlight-V100(?:$|\\/)', '\\.Trashes', '^__MACOSX$', '~$', '^Thumbs\\.db$', '^ehthumbs\\.db$',
  '^[Dd]esktop\\.ini$', '@eaDir$'
].join('|'))

export function isJunk (filename: string): boolean {
  return JUNK.test(filename)
}

/** A named input is left out when its file name is hidden and junk. */
export function isJunkPath (path: readonly string[]): boolean {
  const name = path[path.length - 1] ?? ''
  return name[0] === '.' && isJunk(name)
}

/** A directory entry is left out when hidden or junk. */
export function isSkippedDirEntry (name: string): boolean {
  return name[0] === '.' || isJunk(name)
}
