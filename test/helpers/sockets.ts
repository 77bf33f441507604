/** Connected TCP socket pairs on 127.0.0.1 for wire tests. */
import { createServer, connect, type Socket } from 'node:net'

export async function socketPair (): Promise<[Socket, Socket]> {
  const server = createServer()
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as { port: number }).port
  const accepted = new Promise<Socket>(resolve => server.once('connection', resolve))
  const client = connect(port, '127.0.0.1')
  await new Promise<void>((resolve, reject) => { client.once('connect', resolve); client.once('error', reject) })
  const serverSide = await accepted
  server.close()
  client.setNoDelay(true)
  serverSide.setNoDelay(true)
  return [client, serverSide]
}

export function waitFor<T = unknown> (emitter: { once (e: string, fn: (...a: any[]) => void): unknown }, event: string, timeoutMs = 5000): Promise<T[]> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`timed out waiting for '${event}'`)), timeoutMs)
    emitter.once(event, (...args: T[]) => { clearTimeout(t); resolve(args) })
  })
}

export const sleep = (ms: number) => new Promise(resolve => setTimeout(resolve, ms))
