/**
 * One shared once-a-second tick for every wire (timeouts, keep-alives), instead of a timer per wire per
 * concern. The interval runs only while something is registered and never keeps a Node process alive.
 */
interface Tickable { tick (now: number): void }

const members = new Set<Tickable>()
let timer: ReturnType<typeof setInterval> | null = null
// 1 s: the finest timeout granularity needed (handshake 10 s, request 60 s, inactivity 120 s).
const TICK_MS = 1000

function tickAll (): void {
  const now = Date.now()
  for (const m of members) m.tick(now)
}

export function addTickable (m: Tickable): void {
  members.add(m)
  if (timer === null) {
    timer = setInterval(tickAll, TICK_MS)
    const t = timer as { unref?: () => void }
    if (typeof t.unref === 'function') t.unref()
  }
}

export function removeTickable (m: Tickable): void {
  members.delete(m)
  if (members.size === 0 && timer !== null) {
    clearInterval(timer)
    timer = null
  }
}
