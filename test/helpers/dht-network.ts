/**
 * A local DHT network for tests: several bittorrent-dht nodes on 127.0.0.1, each bootstrapped from the ones
 * started before it (and so known to all of them). Tests give our clients `dht: { bootstrap: net.bootstrap }`
 * — never the public routers.
 */
import DHT from 'bittorrent-dht'

export interface DhtNetwork {
  nodes: DHT[]
  /** 'host:port' of every node. */
  bootstrap: string[]
  close (): Promise<void>
}

export async function startDhtNetwork (n = 4): Promise<DhtNetwork> {
  const nodes: DHT[] = []
  const bootstrap: string[] = []
  for (let i = 0; i < n; i++) {
    const dht = new DHT({ bootstrap: [...bootstrap], timeout: 500 }) // KRPC query timeout (default 2 s)
    dht.on('warning', () => {})
    dht.on('error', () => {})
    await new Promise<void>(resolve => dht.listen(0, '127.0.0.1', () => resolve()))
    await new Promise<void>(resolve => dht.ready ? resolve() : dht.once('ready', () => resolve()))
    nodes.push(dht)
    bootstrap.push(`127.0.0.1:${dht.address().port}`)
  }
  return {
    nodes,
    bootstrap,
    close: () => Promise.all(nodes.map(d => new Promise<void>(resolve => d.destroy(() => resolve())))).then(() => {})
  }
}
