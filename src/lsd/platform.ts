/**
 * The platform seam of LSD ("#lsd-platform" in package.json): Node gets a node:dgram multicast socket, browsers
 * a stub (no UDP), so the browser bundle never contains node:dgram or node:os.
 */
export { lsdSupported, createLsdSocket } from '#lsd-platform'

export interface LsdSocketOptions {
  /** Multicast group (IPv4). */
  group: string
  /** UDP port, bound on all addresses with SO_REUSEADDR so several clients on one host can share it. */
  port: number
  /** IP_MULTICAST_TTL. */
  ttl: number
  /**
   * IPv4 addresses of the interfaces to join the group on and send from. Default: every non-internal IPv4
   * interface, re-read before each send (interfaces come and go).
   */
  interfaces?: string[]
}

export interface LsdSocket {
  /** Binds and joins the group; rejects when the socket cannot be bound. */
  open (): Promise<void>
  /** Sends `data` to the group on every interface; resolves with the number of interfaces it was sent on. */
  send (data: Uint8Array): Promise<number>
  onMessage (fn: (data: Uint8Array, from: { address: string, port: number }) => void): void
  onError (fn: (err: Error) => void): void
  /** True when `address` is on the subnet of one of our interfaces (LSD is for the local network). */
  isOnLink (address: string): boolean
  close (): void
}
