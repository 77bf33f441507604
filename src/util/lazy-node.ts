/**
 * Node-only dependencies loaded on first use instead of at import. Together they cost ~45 MB of RSS and a
 * noticeable share of start-up CPU (measured: importing undici + bittorrent-dht + nat-upnp + nat-pmp adds
 * 44 MB to a bare Node process), which a client that never makes an HTTP request, runs no DHT or maps no
 * port should not pay. undici, nat-upnp and nat-pmp are CommonJS, so a synchronous require works;
 * bittorrent-dht is an ES module and is loaded with import() (see loadDht).
 */
import { createRequire } from 'node:module'
import type * as Undici from 'undici'

const require = createRequire(import.meta.url)

let undiciModule: typeof Undici | undefined
export function undici (): typeof Undici {
  undiciModule ??= require('undici') as typeof Undici
  return undiciModule
}

let natUpnpModule: typeof import('nat-upnp').default | undefined
export function natUpnpLib (): typeof import('nat-upnp').default {
  natUpnpModule ??= require('nat-upnp') as typeof import('nat-upnp').default
  return natUpnpModule
}

let natPmpModule: typeof import('nat-pmp').default | undefined
export function natPmpLib (): typeof import('nat-pmp').default {
  natPmpModule ??= require('nat-pmp') as typeof import('nat-pmp').default
  return natPmpModule
}
