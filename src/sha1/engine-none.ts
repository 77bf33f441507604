// Runtimes without a synchronous native SHA-1 (browsers: crypto.subtle is async only).
import type { Sha1Engine } from './types.js'

export const nativeEngine: Sha1Engine | null = null
