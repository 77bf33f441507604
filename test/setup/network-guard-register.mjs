// `node --import ./test/setup/network-guard-register.mjs ...`: the same guard for child processes that tests
// spawn (the CLI); a violation is printed on stderr, which those tests check is empty or expected.
import { installNetworkGuard } from './network-guard.mjs'

installNetworkGuard(err => { process.stderr.write(`NETWORK RULE VIOLATION: ${err.message}\n`) })
