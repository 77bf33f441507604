export { Bitfield, MAX_BITS } from './bitfield.js'
export { Availability, DEFAULT_PRIORITY } from './availability.js'
