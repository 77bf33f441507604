// vitest setup file: installs the network guard in every test worker and fails a test during which code in
// this process tried to reach anything but loopback (even if the library swallowed the refusal as a warning).
import { afterEach } from 'vitest'
import { installNetworkGuard } from './network-guard.mjs'

const violations: Error[] = []
installNetworkGuard((err: Error) => { violations.push(err) })

/** Removes and returns the violations recorded so far (for the guard's own test). */
export function takeViolations (): Error[] {
  return violations.splice(0)
}

afterEach(() => {
  if (violations.length === 0) return
  const list = violations.splice(0).map(e => e.message)
  throw new Error(`network rule violated ${list.length} time(s):\n  ${[...new Set(list)].join('\n  ')}`)
})
