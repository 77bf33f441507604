/** A multi-file test tree: odd sizes, a 0-byte file, nested directories, a non-ASCII name. */
import { mkdirSync, readFileSync, writeFileSync, existsSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { rng, randomBytes } from './random.js'

export const TREE: Array<[string, number]> = [
  ['readme.txt', 1234],
  ['empty.dat', 0],
  ['media/clip one.bin', 150_001],
  ['media/nested/deep/ünïcødé – file.bin', 65_537],
  ['media/nested/tiny.bin', 7],
  ['zz-last.bin', 300_000]
]

export function writeTree (root: string, seed = 1, tree = TREE): void {
  const rand = rng(seed)
  for (const [p, n] of tree) {
    const f = join(root, p)
    mkdirSync(join(f, '..'), { recursive: true })
    writeFileSync(f, randomBytes(rand, n))
  }
}

/** Asserts every file of the tree under `b` equals the one under `a` (0-byte files must exist). */
export function sameTree (a: string, b: string, tree = TREE): string[] {
  const diffs: string[] = []
  for (const [p] of tree) {
    const fb = join(b, p)
    if (!existsSync(fb)) { diffs.push(`${p}: missing`); continue }
    if (statSync(fb).size !== statSync(join(a, p)).size || !readFileSync(fb).equals(readFileSync(join(a, p)))) diffs.push(`${p}: differs`)
  }
  return diffs
}
