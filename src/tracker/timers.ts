/** Real timers. Timers scheduled for far-away announces are unref'd in Node so they never keep a process alive. */
import type { Timers } from './types.js'

export const realTimers: Timers = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>)
}

/** Lets a (real) timer not hold the Node event loop open; a no-op for fake timers and in browsers. */
export function unrefTimer (handle: unknown): void {
  const h = handle as { unref?: () => void } | null
  if (h !== null && typeof h === 'object' && typeof h.unref === 'function') h.unref()
}
