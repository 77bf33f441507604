/**
 * Path sanitizing: every file path of a torrent must resolve under the download root on Linux, macOS and
 * Windows, whatever the torrent says (bad-input cases 7-9). Each path component is cleaned on its own:
 *  - control characters (C0, C1, NUL) and the characters Windows forbids (< > : " / \ | ? *) become '_',
 *    so a component can never carry a separator, a drive ("C:") or a stream name ("a:b");
 *  - invisible format characters (Unicode Cf: U+200E/U+200F, bidi overrides, zero-widths, BOM) are removed,
 *    so names cannot masquerade as others;
 *  - trailing dots and spaces are removed (Windows drops them, which would turn "..." into "..");
 *  - "", "." and ".." (and anything that became empty) are dropped;
 *  - Windows device names (CON, PRN, AUX, NUL, COM0-9, LPT0-9, with any extension, any case) get a '_' prefix;
 *  - components longer than 255 UTF-8 bytes are shortened, keeping a short extension.
 * Invalid UTF-8 (e.g. the overlong "\xc0\xae" for '.') was already replaced by U+FFFD when decoding, so it can
 * never form "..".
 */
import { MAX_COMPONENT_BYTES } from './limits.js'

const encoder = new TextEncoder()

// eslint-disable-next-line no-control-regex
const FORBIDDEN = /[\u0000-\u001f\u007f-\u009f<>:"/\\|?*]/g
const FORMAT = /\p{Cf}/gu
const TRAILING = /[. ]+$/
// Printable ASCII without forbidden characters, not dot-only, no trailing dot/space, short: already safe.
const PLAIN = /^(?=[^]*[^.])[\x20-\x7e]{1,85}$/
const PLAIN_BAD = /[<>:"/\\|?*]|[. ]$/
const RESERVED = /^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³]|conin\$|conout\$)(\..*)?$/i

function byteLength (s: string): number {
  return encoder.encode(s).length
}

/** Shortens `s` to at most `max` UTF-8 bytes without splitting a character. */
function truncateBytes (s: string, max: number): string {
  let bytes = 0
  let out = ''
  for (const ch of s) {
    const n = byteLength(ch)
    if (bytes + n > max) break
    bytes += n
    out += ch
  }
  return out
}

function shorten (s: string): string {
  // A UTF-16 code unit is at most 3 UTF-8 bytes: short strings need no encoding to know they fit.
  if (s.length * 3 <= MAX_COMPONENT_BYTES || byteLength(s) <= MAX_COMPONENT_BYTES) return s
  const dot = s.lastIndexOf('.')
  const ext = dot > 0 && s.length - dot <= 16 ? s.slice(dot) : ''
  const stem = truncateBytes(s.slice(0, s.length - ext.length), MAX_COMPONENT_BYTES - byteLength(ext))
  return stem.replace(TRAILING, '') + ext
}

/** A safe version of one path component, or null when nothing usable is left (the component is dropped). */
export function sanitizeComponent (raw: string): string | null {
  if (PLAIN.test(raw) && !PLAIN_BAD.test(raw) && !RESERVED.test(raw)) return raw
  let s = raw.replace(FORMAT, '').replace(FORBIDDEN, '_').replace(TRAILING, '')
  if (s === '' || s === '.' || s === '..') return null
  if (RESERVED.test(s)) s = '_' + s
  s = shorten(s)
  return s === '' ? null : s
}

/** Sanitizes every component of a path, dropping those that are empty or dot-only. */
export function sanitizePath (components: readonly string[]): string[] {
  const out: string[] = []
  for (const c of components) {
    const s = sanitizeComponent(c)
    if (s !== null) out.push(s)
  }
  return out
}

/**
 * Key under which two paths collide on a case-insensitive, normalization-insensitive file system (Windows,
 * macOS): the same key means the same file there.
 */
export function collisionKey (components: readonly string[]): string {
  let key = ''
  for (let i = 0; i < components.length; i++) key += (i ? '/' : '') + foldComponent(components[i])
  return key
}

/** One component as collisionKey folds it. */
export function foldComponent (c: string): string {
  // ASCII needs no normalization (the common case, and much cheaper).
  return /^[\x00-\x7f]*$/.test(c) ? c.toLowerCase() : c.normalize('NFC').toLowerCase()
}

/** `name.ext` -> `name.N.ext` (libtorrent's way of renaming a colliding file). */
export function numberedName (name: string, n: number): string {
  const dot = name.lastIndexOf('.')
  return dot > 0 ? `${name.slice(0, dot)}.${n}${name.slice(dot)}` : `${name}.${n}`
}
