/**
 * Starting a worker thread whose entry is a sibling module of this file, from sources or from the bundle:
 *  - published package: this code is bundled into dist/*.js and the entry is dist/<name>.js (tsup.config.ts
 *    builds each worker entry next to the bundle), so `new URL('./<name>.js', import.meta.url)` finds it;
 *  - sources (vitest, `node --import tsx`): this file is src/worker/spawn.ts and the entry src/worker/<name>.ts.
 *    Node 20 does not apply `--import` loaders to a worker's entry, so the worker starts from a small eval'd
 *    bootstrap that registers tsx's ESM hooks (tsx is a devDependency) and then imports the .ts entry.
 * Node only: reached through package.json import conditions, never from the browser bundle.
 */
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { Worker, type WorkerOptions } from 'node:worker_threads'

let tsxApi: string | undefined

/** file: URL of tsx's ESM API (its exports map: "./esm/api" -> import). */
function tsxApiUrl (): string {
  if (tsxApi) return tsxApi
  const require = createRequire(import.meta.url)
  const pkgPath = require.resolve('tsx/package.json')
  const pkg = JSON.parse(readFileSync(pkgPath, 'utf8')) as { exports: Record<string, { import: { default: string } }> }
  tsxApi = pathToFileURL(join(dirname(pkgPath), pkg.exports['./esm/api'].import.default)).href
  return tsxApi
}

export function runningFromSource (): boolean {
  return import.meta.url.endsWith('.ts')
}

export function spawnWorker (name: string, options: WorkerOptions = {}): Worker {
  if (runningFromSource()) {
    const entry = new URL(`./${name}.ts`, import.meta.url).href
    const boot = `import(${JSON.stringify(tsxApiUrl())}).then(m => { m.register(); return import(${JSON.stringify(entry)}) })`
    return new Worker(boot, { ...options, eval: true })
  }
  return new Worker(bundledEntry(name), options)
}

/** Literal `new URL('./x.js', import.meta.url)` forms, so bundlers that copy worker files can see them. */
function bundledEntry (name: string): URL {
  switch (name) {
    case 'hash-worker': return new URL('./hash-worker.js', import.meta.url)
    default: return new URL(`./${name}.js`, import.meta.url)
  }
}
