/**
 * Tiny file systems for disk-full tests (root on Linux): a tmpfs of a given size, or, where tmpfs cannot be
 * mounted, an ext4 image on a loop device. Every mount is recorded so unmountAll() can clean up.
 */
import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const mounts: string[] = []

export function run (cmd: string, args: string[]): boolean {
  try {
    execFileSync(cmd, args, { stdio: 'pipe' })
    return true
  } catch {
    return false
  }
}

/** Mounts a tiny file system at `dir` (`size` bytes, optionally `inodes` inodes); false when impossible. */
export function mountTiny (dir: string, size: number, inodes?: number): boolean {
  mkdirSync(dir, { recursive: true })
  const opts = `size=${size}` + (inodes ? `,nr_inodes=${inodes}` : '')
  if (run('mount', ['-t', 'tmpfs', '-o', opts, 'tmpfs', dir])) {
    mounts.push(dir)
    return true
  }
  const image = dir + '.img'
  writeFileSync(image, '')
  execFileSync('truncate', ['-s', String(Math.max(size, 1 << 20)), image])
  if (run('mkfs.ext4', ['-q', '-F', ...(inodes ? ['-N', String(Math.max(inodes, 16))] : []), image]) &&
      run('mount', ['-o', 'loop', image, dir])) {
    mounts.push(dir)
    return true
  }
  return false
}

/** Whether this process can mount tiny file systems (Linux, root, tmpfs or loop devices allowed). */
export function canMountTiny (): boolean {
  if (process.platform !== 'linux' || process.getuid?.() !== 0) return false
  const dir = join(mkdtempSync(join(tmpdir(), 'wt-probe-')), 'm')
  if (!mountTiny(dir, 64 * 1024)) return false
  run('umount', [dir])
  mounts.pop()
  return true
}

/** Unmounts `dir` (lazily if busy). */
export function unmount (dir: string): void {
  if (!run('umount', [dir])) run('umount', ['-l', dir])
  const i = mounts.indexOf(dir)
  if (i >= 0) mounts.splice(i, 1)
}

export function unmountAll (): void {
  for (const dir of mounts.splice(0).reverse()) {
    if (!run('umount', [dir])) run('umount', ['-l', dir])
  }
}

/** Records a mount made elsewhere (e.g. a bind mount) for unmountAll(). */
export function trackMount (dir: string): void {
  mounts.push(dir)
}
