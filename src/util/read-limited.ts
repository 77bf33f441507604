/**
 * Reads a byte stream into one buffer, failing with `tooLarge()` as soon as it passes `maxBytes` (never
 * buffering more). Leaving early ends the iteration, which cancels a web stream read through iterateReadable;
 * `onAbort` is for other sources (e.g. an undici body to discard).
 */
export async function readLimited (chunks: AsyncIterable<Uint8Array>, maxBytes: number, tooLarge: () => Error,
  onAbort?: () => void): Promise<Uint8Array> {
  const parts: Uint8Array[] = []
  let total = 0
  for await (const chunk of chunks) {
    total += chunk.length
    if (total > maxBytes) {
      onAbort?.()
      throw tooLarge()
    }
    parts.push(chunk)
  }
  const out = new Uint8Array(total)
  let o = 0
  for (const p of parts) {
    out.set(p, o)
    o += p.length
  }
  return out
}

/**
 * A web ReadableStream as an async iterable (Safari's streams are not async-iterable); leaving the loop
 * early cancels the stream.
 */
export async function * iterateReadable (stream: ReadableStream<Uint8Array>): AsyncGenerator<Uint8Array> {
  const reader = stream.getReader()
  let finished = false
  try {
    for (;;) {
      const { done, value } = await reader.read()
      if (done) {
        finished = true
        return
      }
      yield value
    }
  } finally {
    if (!finished) await reader.cancel().catch(() => {})
    reader.releaseLock()
  }
}
