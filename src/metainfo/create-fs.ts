/** The platform seam for createTorrent inputs that are file-system paths ("#create-fs" in package.json). */
export { canWalkPaths, isFilePath, expandPath, basename } from '#create-fs'

/** A file found under an input path. */
export interface FsFile {
  /** Where to read it. */
  fsPath: string
  /** Its path in the torrent (components). */
  path: string[]
  length: number
}
