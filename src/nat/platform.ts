/**
 * The platform seam of NAT traversal ("#nat-platform" in package.json): Node gets nat-upnp, nat-pmp and the
 * default-route lookup; browsers a stub, so nat-upnp, nat-pmp and node:* never reach the browser bundle.
 */
export { natSupported, createNatBackend } from '#nat-platform'

export type NatProtocol = 'tcp' | 'udp'

export interface PortMapRequest {
  protocol: NatProtocol
  internalPort: number
  /** Requested external port. */
  externalPort: number
  /** Requested lease in seconds (0 = permanent for UPnP; for NAT-PMP 0 deletes). */
  lifetime: number
  description: string
}

export interface PmpResult {
  /** The external port the gateway assigned (may differ from the requested one). */
  externalPort: number
  /** The lease the gateway granted, in seconds. */
  lifetime: number
}

export interface NatBackend {
  /** The IPv4 gateway of the default route, or null. Reads the routing table only; no network traffic. */
  defaultGateway (): Promise<string | null>
  /**
   * One NAT-PMP request (RFC 6886) to `gateway`:5351, retransmitted after each of `timeouts` (ms) expires
   * without an answer. Lifetime 0 deletes the mapping. Rejects with WasmTorrentError ERR_NAT_PMP_*.
   */
  pmpMap (gateway: string, req: PortMapRequest, timeouts: number[]): Promise<PmpResult>
  /**
   * UPnP IGD AddPortMapping (SSDP discovery, then SOAP), bounded by `timeoutMs`. Rejects with
   * ERR_NAT_UPNP_* (ERR_NAT_UPNP_REFUSED when the gateway answered with a SOAP fault).
   */
  upnpMap (req: PortMapRequest, timeoutMs: number): Promise<void>
  /** UPnP DeletePortMapping of (externalPort, protocol), bounded by `timeoutMs`. */
  upnpUnmap (req: { protocol: NatProtocol, externalPort: number }, timeoutMs: number): Promise<void>
}
