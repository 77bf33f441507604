/** BEP 53 file-index ranges for the magnet `so` parameter: "0,2,4-6". */
import { MagnetError } from './errors.js'
import { MAX_SELECT_INDICES } from './limits.js'

/** Parses `so` ranges into ascending, de-duplicated indices. Throws ERR_MAGNET_INVALID on bad or huge ranges. */
export function parseRanges (s: string): number[] {
  const set = new Set<number>()
  for (const part of s.split(',')) {
    if (part === '') continue
    const m = /^(\d{1,10})(?:-(\d{1,10}))?$/.exec(part.trim())
    if (!m) throw new MagnetError('ERR_MAGNET_INVALID', `invalid BEP 53 range "${part}" in so=`)
    const start = Number(m[1])
    const end = m[2] === undefined ? start : Number(m[2])
    if (end < start) throw new MagnetError('ERR_MAGNET_INVALID', `invalid BEP 53 range "${part}" in so=`)
    if (end - start + 1 + set.size > MAX_SELECT_INDICES) {
      throw new MagnetError('ERR_MAGNET_INVALID', `so= selects more than ${MAX_SELECT_INDICES} files`)
    }
    for (let i = start; i <= end; i++) set.add(i)
  }
  return [...set].sort((a, b) => a - b)
}

/** Composes indices into the shortest BEP 53 range list ("0-2,5"). */
export function composeRanges (indices: readonly number[]): string {
  const sorted = [...new Set(indices)].sort((a, b) => a - b)
  const out: string[] = []
  for (let i = 0; i < sorted.length;) {
    let j = i
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j] + 1) j++
    out.push(j > i ? `${sorted[i]}-${sorted[j]}` : `${sorted[i]}`)
    i = j + 1
  }
  return out.join(',')
}
