export { NatTraversal } from './nat.js'
export type { NatTraversalOptions, NatMapping, NatMethod } from './nat.js'
export type { NatBackend, NatProtocol, PortMapRequest, PmpResult } from './platform.js'
export { parseProcNetRoute, parseIpRouteDefault, parseRouteGetDefault } from './gateway.js'
