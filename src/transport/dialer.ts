/**
 * Outgoing connection attempts: which transports to try, in which order, each with a connect timeout.
 *
 * Order (documented decision): TCP first, then uTP if the TCP connect fails. A refused TCP connect fails in
 * well under a millisecond on loopback and in one round trip on the Internet, so a uTP-only peer costs one RTT
 * more; the reverse order would cost every TCP-only peer a full uTP connect timeout, because the uTP library
 * does not report ICMP port-unreachable. `preferUtp` flips the order (libtorrent's default: uTP first, TCP on
 * failure). Once a transport completed the handshakes with an address it is tried first on reconnects. A
 * connection that is accepted and then closed before the peer's handshake (libtorrent with incoming TCP off
 * does exactly that) is retried at once over the other transport by the pool (pool.ts, switchTransport).
 * uTP is skipped for IPv6 hosts (the uTP library is IPv4 only), before the pool listens, and when it is off.
 */
import { TransportError } from './errors.js'
import type { Transport, TransportKind, TransportSocket } from './types.js'

export interface DialResult {
  socket: TransportSocket
  kind: TransportKind
}

/** Transports to try for `host`, in order. */
export function dialOrder (transport: Transport, host: string, opts: { preferUtp?: boolean, last?: TransportKind }): TransportKind[] {
  const utpOk = transport.utp && transport.port !== 0 && !host.includes(':')
  const tcpOk = transport.tcp
  let first: TransportKind = opts.last ?? (opts.preferUtp ? 'utp' : 'tcp')
  if (first === 'utp' && !utpOk) first = 'tcp'
  const order: TransportKind[] = []
  if (first === 'tcp' ? tcpOk : utpOk) order.push(first)
  const second: TransportKind = first === 'tcp' ? 'utp' : 'tcp'
  if (second === 'tcp' ? tcpOk : utpOk) order.push(second)
  return order
}

/**
 * Tries each transport in `order` until one connects. Rejects with the last attempt's TransportError (the
 * earlier ones are in its `attempts`), or ERR_TRANSPORT_ABORTED as soon as `signal` aborts.
 */
export async function dialPeer (transport: Transport, host: string, port: number, order: TransportKind[],
  timeout: number, signal?: AbortSignal): Promise<DialResult> {
  if (order.length === 0) throw new TransportError('ERR_TRANSPORT_UNSUPPORTED', `no transport can reach ${host}:${port}`)
  const errors: TransportError[] = []
  for (const kind of order) {
    try {
      const socket = await transport.dial(kind, host, port, { timeout, signal })
      return { socket, kind }
    } catch (err) {
      const e = err instanceof TransportError ? err : new TransportError('ERR_TRANSPORT_CONNECT', String(err), { cause: err })
      errors.push(e)
      if (e.code === 'ERR_TRANSPORT_ABORTED' || signal?.aborted) break
    }
  }
  const last = errors[errors.length - 1]
  ;(last as TransportError & { attempts?: TransportError[] }).attempts = errors
  throw last
}
