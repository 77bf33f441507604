/**
 * Peer ids in the Azureus style: "-WA0010-" (client "WA" = wasmtorrent, version 0.1.0) and 12 random bytes
 * shown as hex, like webtorrent's "-WW0300-". Random bytes come from crypto.getRandomValues (Node and
 * browsers).
 */
export const PEER_ID_PREFIX = '-WA0010-'

export function randomPeerId (): string {
  let hex = ''
  for (let i = 0; i < PEER_ID_PREFIX.length; i++) hex += PEER_ID_PREFIX.charCodeAt(i).toString(16).padStart(2, '0')
  const rnd = crypto.getRandomValues(new Uint8Array(12))
  for (const b of rnd) hex += b.toString(16).padStart(2, '0')
  return hex
}
