// Minimal types for the two CommonJS NAT packages (neither ships types). Only what src/nat uses.
declare module 'nat-upnp' {
  interface UpnpClient {
    timeout: number
    ssdp: { sockets: Array<{ on (event: 'error', fn: (err: Error) => void): void }> }
    portMapping (opts: { public: number, private: number, protocol: string, description: string, ttl: number },
      cb: (err: Error | null) => void): void
    portUnmapping (opts: { public: number, protocol: string }, cb: (err: Error | null) => void): void
    close (): void
  }
  const natUpnp: { createClient (): UpnpClient }
  export default natUpnp
}

declare module 'nat-pmp' {
  interface PmpResponse { vers: number, op: number, resultCode: number, epoch: number, private: number, public: number, ttl: number, type: string }
  interface PmpClient {
    gateway: string
    listening: boolean
    socket: import('node:dgram').Socket | null
    onmessage (msg: Buffer, rinfo: { address: string, port: number }): void
    on (event: 'error', fn: (err: Error) => void): this
    portMapping (opts: { type: string, private: number, public: number, ttl: number }, cb: (err: (Error & { code?: number }) | null, res?: PmpResponse) => void): void
    close (): void
  }
  const natPmp: {
    Client: new (gateway: string) => PmpClient
    SERVER_PORT: number
    RESULT_CODES: Record<number, string>
  }
  export default natPmp
}
