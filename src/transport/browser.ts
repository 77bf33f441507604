/**
 * Browser side of "#transport" (default condition): no TCP, no uTP. Peers reach a browser over WebRTC, whose
 * connections are handed to the pool with `pool.accept()`; this keeps Node's net and dgram modules and the
 * native uTP module out of the browser bundle.
 */
import { TransportError } from './errors.js'
import type { IncomingConnection, Transport, TransportKind, TransportOptions, TransportSocket, DialOptions } from './types.js'

export const UTP_SUPPORT = false

class BrowserTransport implements Transport {
  readonly tcp = false
  readonly utp = false
  readonly port = 0

  listen (_port: number, _host: string | undefined, _on: (c: IncomingConnection) => void): Promise<number> {
    return Promise.reject(new TransportError('ERR_TRANSPORT_UNSUPPORTED', 'browsers cannot listen for TCP or uTP'))
  }

  dial (kind: TransportKind, _host: string, _port: number, _opts: DialOptions): Promise<TransportSocket> {
    return Promise.reject(new TransportError('ERR_TRANSPORT_UNSUPPORTED', `browsers cannot dial ${kind}`))
  }

  async close (): Promise<void> {}
}

export function createTransport (_opts?: TransportOptions): Transport {
  return new BrowserTransport()
}
