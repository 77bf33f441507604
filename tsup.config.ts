import { defineConfig } from 'tsup'

// Two builds of the same sources. package.json "imports" conditions pick platform modules at bundle time:
// the Node build resolves the "node" condition, the browser build the "default" one, so no Node-only module
// (node:*, utp-native, nat-*) can reach dist/browser.
export default defineConfig([
  {
    entry: { index: 'src/index.ts' },
    outDir: 'dist',
    format: ['esm'],
    platform: 'node',
    target: 'node20',
    dts: true,
    sourcemap: true,
    clean: true,
    splitting: true
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
