/** bittorrent-tracker's server (npm; what WebTorrent's ecosystem runs) on 127.0.0.1: HTTP, UDP and WebSocket. */
export interface BtTracker { http: string, udp: string, ws: string, server: any, close: () => Promise<void> } // eslint-disable-line @typescript-eslint/no-explicit-any

export async function startBtTracker (): Promise<BtTracker> {
  const spec = 'bittorrent-tracker/server' // untyped package: a computed specifier keeps tsc out of it
  const { default: Server } = await import(spec)
  const server = new Server({ stats: false, interval: 600_000 })
  server.on('warning', () => {})
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, { http: '127.0.0.1', udp: '127.0.0.1', udp6: '::1' }, () => resolve())
  })
  const httpPort = server.http.address().port
  const udpPort = server.udp4.address().port
  return {
    http: `http://127.0.0.1:${httpPort}/announce`,
    udp: `udp://127.0.0.1:${udpPort}/announce`,
    ws: `ws://127.0.0.1:${httpPort}`,
    server,
    close: () => new Promise<void>(resolve => server.close(() => resolve()))
  }
}
