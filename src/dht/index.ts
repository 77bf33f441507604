/** The client's DHT node (BEP 5) over bittorrent-dht; Node only (browsers get `dhtSupported = false`). */
export { DhtNode, dhtSupported, DHT_SAVE_INTERVAL } from './dht.js'
export type { DhtLike, DhtOptions, DhtNodeOptions, DhtNodeEvents } from './dht.js'
export type { DhtState } from './platform.js'
