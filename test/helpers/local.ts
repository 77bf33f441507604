/**
 * The network rule for tests, benches and demos: traffic only to 127.0.0.0/8, ::1 or our own namespaces.
 * The client's user defaults (DHT with public bootstrap routers, LSD multicast, UPnP/NAT-PMP) are all on, so
 * every client a test creates starts from these options. (test/setup/network-guard.ts fails any test that
 * still sends elsewhere.)
 */
import type { ClientOptions } from '../../src/index.js'

export const LOCAL_ONLY = {
  host: '127.0.0.1',
  dht: false,
  lsd: false,
  natUpnp: false,
  natPmp: false
} as const satisfies ClientOptions
