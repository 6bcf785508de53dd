#!/usr/bin/env node
// Runs the CLI bundle built at install time (out/cli, by scripts/build-cli.mjs on `npm ci`): it starts
// in a fraction of the time the TypeScript sources take through tsx, which matters on a production
// line that runs flashline once per unit.
//
// A bundle older than the sources would silently run old code (a developer edits main/ and tests or
// runs the CLI), so it is used only while every source that went into it is older than the build
// (out/cli/build-info.json lists them; one stat each, about a millisecond in all). Otherwise, or when
// there is no bundle, or with FLASHLINE_FROM_SOURCE=1, the sources run through tsx as before;
// `npm run build:cli` (also part of `npm run build` and `npm test`) brings the bundle up to date.
// Serial writes wait for tcdrain on libuv's thread pool (4 threads by default): a line station with
// 16 USB adapters would queue every port behind four. Set before anything uses the pool.
process.env.UV_THREADPOOL_SIZE ??= '64'
const { readFileSync, statSync } = require('node:fs')
const { join } = require('node:path')

function currentBundle() {
  if (process.env.FLASHLINE_FROM_SOURCE === '1') return null
  const root = join(__dirname, '..')
  const bundle = join(root, 'out', 'cli', 'flashline.js')
  try {
    const { builtAt, inputs, outputs } = JSON.parse(readFileSync(join(root, 'out', 'cli', 'build-info.json'), 'utf8'))
    if (typeof builtAt !== 'number' || !Array.isArray(inputs) || !Array.isArray(outputs)) return null
    for (const f of outputs) statSync(join(root, f)) // the ESP worker is one of them
    for (const f of inputs) if (statSync(join(root, f)).mtimeMs >= builtAt) return null
    return bundle
  } catch {
    return null // no finished build, or a file it lists is gone
  }
}

const bundle = currentBundle()
if (bundle) require(bundle).runCli(process.argv.slice(2))
else runFromSource()

/**
 * The TypeScript sources, in a child node with tsx's loader (the engine loads flashers and simulators
 * with import() when first needed, which tsx's require hook alone cannot serve). Signals go to the
 * child; its exit code is ours; if this process is killed, the child ends too.
 */
function runFromSource() {
  const { spawn } = require('node:child_process')
  const { pathToFileURL } = require('node:url')
  const entry = join(__dirname, '..', 'main', 'cli', 'index.ts')
  // the IPC channel closes when this process dies, even by SIGKILL: the child goes with it
  const run = `process.on('disconnect', () => process.exit(137)); require(${JSON.stringify(entry)}).runCli(process.argv.slice(1))`
  const child = spawn(process.execPath, ['--import', pathToFileURL(require.resolve('tsx')).href, '-e', run, '--', ...process.argv.slice(2)], { stdio: ['inherit', 'inherit', 'inherit', 'ipc'] })
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => child.kill(signal))
  child.on('exit', (code, signal) => process.exit(code ?? (signal === 'SIGINT' ? 130 : 1)))
}
