export function installNetworkGuard (onViolation: (err: Error) => void): void
