// The network rule, enforced: tests, benches and demos may send traffic only to 127.0.0.0/8 and ::1 (and to
// hosts in network namespaces a test created, which run in child processes inside those namespaces, not
// here). This patches Node's TCP connect and UDP send/connect in the current process: any other destination
// (public or private addresses, multicast, host names other than localhost) is refused before a packet leaves
// and reported to `onViolation`.
import net from 'node:net'
import dgram from 'node:dgram'
import { readFileSync } from 'node:fs'

function isLoopback (h) {
  if (h === '::1' || h === '0:0:0:0:0:0:0:1') return true
  const v4 = h.startsWith('::ffff:') ? h.slice(7) : h
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(v4)
}

// Host names that /etc/hosts maps only to loopback addresses (e.g. the machine's own name): a local,
// synchronous answer, so a name is allowed only when it cannot leave the machine.
const loopbackNames = new Set(['localhost'])
try {
  const byName = new Map()
  for (const line of readFileSync('/etc/hosts', 'utf8').split('\n')) {
    const [addr, ...names] = line.replace(/#.*/, '').trim().split(/\s+/)
    if (!addr) continue
    for (const n of names) byName.set(n.toLowerCase(), (byName.get(n.toLowerCase()) ?? true) && isLoopback(addr))
  }
  for (const [n, onlyLoopback] of byName) if (onlyLoopback) loopbackNames.add(n)
} catch {}

function allowed (host) {
  if (host === undefined || host === null || host === '') return true // Node defaults to localhost
  const h = String(host).replace(/^\[|\]$/g, '').toLowerCase()
  return loopbackNames.has(h) || isLoopback(h)
}

export function installNetworkGuard (onViolation) {
  if (net.Socket.prototype.__wtGuard) return
  const refuse = (what, host) => {
    const err = new Error(`network rule: ${what} to ${host} refused (tests may only reach 127.0.0.0/8 or ::1)`)
    err.code = 'ERR_TEST_NETWORK_RULE'
    onViolation(err)
    return err
  }

  const connect = net.Socket.prototype.connect
  net.Socket.prototype.connect = function (...args) {
    let opts = args[0]
    if (Array.isArray(opts)) opts = opts[0] // internal normalized form
    let host
    if (typeof opts === 'object' && opts !== null) {
      if (opts.path === undefined) host = opts.host
    } else if (typeof opts === 'number' || /^\d+$/.test(String(opts))) {
      host = typeof args[1] === 'string' ? args[1] : undefined
    } else {
      host = undefined // a pipe / unix socket path
    }
    if (!allowed(host)) throw refuse('TCP connect', host)
    return connect.apply(this, args)
  }
  net.Socket.prototype.__wtGuard = true

  const send = dgram.Socket.prototype.send
  dgram.Socket.prototype.send = function (msg, ...rest) {
    // send(msg[, offset, length][, port][, address][, cb]): the address is the first string argument.
    const address = rest.find(a => typeof a === 'string')
    if (!allowed(address)) throw refuse('UDP send', address)
    return send.call(this, msg, ...rest)
  }
  const udpConnect = dgram.Socket.prototype.connect
  dgram.Socket.prototype.connect = function (port, address, cb) {
    if (typeof address === 'string' && !allowed(address)) throw refuse('UDP connect', address)
    return udpConnect.call(this, port, address, cb)
  }
}
