import { defineConfig } from 'tsup'

// Two builds of the same sources. package.json "imports" conditions pick platform modules at bundle time:
// the Node build resolves the "node" condition, the browser build the "default" one, so no Node-only module
// (node:*, utp-native, nat-*) can reach dist/browser.
export default defineConfig([
  {
    // Worker entries sit next to the bundle: src/worker/spawn.ts finds them at dist/<name>.js.
    entry: { index: 'src/index.ts', 'hash-worker': 'src/worker/hash-worker.ts' },
    outDir: 'dist',
    format: ['esm'],
    platform: 'node',
    target: 'node20',
    dts: true,
    sourcemap: true,
    clean: false,
    splitting: true
  },
  {
    // The CLI: one file with a shebang (package.json "bin"); it spawns dist/hash-worker.js like the library.
    entry: { cli: 'src/cli/main.ts' },
    outDir: 'dist',
    format: ['esm'],
    platform: 'node',
    target: 'node20',
    sourcemap: true,
    clean: false,
    splitting: false,
    banner: { js: '#!/usr/bin/env node' }
  },
  {
    entry: { wasmtorrent: 'src/index.ts' },
    outDir: 'dist/browser',
    format: ['esm'],
    platform: 'browser',
    target: 'es2022',
    sourcemap: true,
    clean: false,
    noExternal: [/.*/],
    esbuildOptions (options) {
      options.conditions = ['browser', 'module', 'import', 'default']
    }
  }
])
