import { spawn } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { Bench, defaultDataDir, FlashlineError, useSimulators, EXIT_CODES } from '../../engine'
import { startBridgeServer } from '../../host/bridge-server'
import { createHost, DemoController, KeyFileSecretStore, RECORDS_DB_KEY } from '../../host'
import { int, parseFlags, str } from '../args'
import type { Output } from '../output'

export const UI_HELP = `flashline ui [--demo] [--host 127.0.0.1] [--port N] [--data-dir DIR] [--allow-remote]
  Serve the Flashline app to a web browser on this machine: prints one line with its address
  (http://127.0.0.1:PORT/?token=…), then serves until Ctrl-C. Open the address in a browser.
  --demo           run the simulated IoT platforms and boards in this process (the app's demo mode)
  --host ADDR      the address to listen on (default 127.0.0.1); only loopback addresses unless --allow-remote
  --port N         the port (default 0: a free one)
  --allow-remote   allow a non-loopback --host: then the page, its token and every secret typed into it
                   travel unencrypted over that network — only on a network you trust
  --data-dir DIR   where jobs, packages, records, settings and secrets are kept
  The address holds a random access token; every request and the app's socket need it. Secrets
  (device secrets, broker passwords, the records database URL) are kept under the data directory in a
  file encrypted with a key kept next to it: that protects them from casual reading only; the desktop
  app keeps them in the system keychain.`

/** The Flashline checkout or installed app: the folder with our package.json (out/cli/.. or main/cli/commands/../../..). */
function appRoot(): string {
  for (let dir = __dirname; ; dir = dirname(dir)) {
    try {
      if (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).name === 'flashline') return dir
    } catch {
      /* not here */
    }
    if (dirname(dir) === dir) throw new FlashlineError('internal', 'no-app-root', `cannot find Flashline's files above ${__dirname}`)
  }
}

function isLoopback(host: string): boolean {
  return host === '::1' || /^127(\.\d{1,3}){3}$/.test(host)
}

/** Builds the renderer with electron-vite when a source checkout has not built it yet (output to stderr: stdout is the one line). */
async function ensureRenderer(root: string): Promise<string> {
  const dir = join(root, 'out', 'renderer')
  if (existsSync(join(dir, 'index.html'))) return dir
  let bin: string
  try {
    const pkgFile = require.resolve('electron-vite/package.json', { paths: [root] })
    const pkg = JSON.parse(readFileSync(pkgFile, 'utf8')) as { bin: string | Record<string, string> }
    bin = join(dirname(pkgFile), typeof pkg.bin === 'string' ? pkg.bin : pkg.bin['electron-vite']!)
  } catch {
    throw new FlashlineError('usage', 'no-renderer', `${dir}/index.html is missing and electron-vite is not installed to build it; run "npm ci && npx electron-vite build" in ${root}`)
  }
  process.stderr.write(`building the app's pages (${dir}) …\n`)
  const code = await new Promise<number | null>((resolve) => {
    const child = spawn(process.execPath, [bin, 'build'], { cwd: root, stdio: ['ignore', 2, 2] })
    child.on('close', resolve)
    child.on('error', () => resolve(null))
  })
  if (code !== 0 || !existsSync(join(dir, 'index.html'))) throw new FlashlineError('internal', 'renderer-build-failed', `building the app's pages failed; run "npx electron-vite build" in ${root} to see why`)
  return dir
}

export async function uiCommand(argv: string[], makeOutput: (json: boolean) => Output, signal: AbortSignal): Promise<number> {
  const flags = parseFlags(
    argv,
    { demo: { type: 'boolean' }, host: { type: 'string' }, port: { type: 'string' }, 'data-dir': { type: 'string' }, 'allow-remote': { type: 'boolean' } },
    'ui'
  )
  const out = makeOutput(false)
  let bindHost = str(flags, 'host') ?? '127.0.0.1'
  if (bindHost === 'localhost') bindHost = '127.0.0.1'
  if (bindHost === '0.0.0.0' || bindHost === '::' || bindHost === '[::]') {
    throw new FlashlineError('usage', 'bad-flag', `--host ${bindHost} listens on every network; give the address of one interface (and --allow-remote)`)
  }
  if (!isLoopback(bindHost) && flags['allow-remote'] !== true) {
    throw new FlashlineError('usage', 'bad-flag', `--host ${bindHost} is not a loopback address: the app would be reachable from the network, unencrypted; add --allow-remote if that is really wanted`)
  }
  const port = int(flags, 'port', { min: 0, max: 65535 }) ?? 0
  const dataDir = str(flags, 'data-dir') ?? defaultDataDir()
  const root = appRoot()
  const rendererDir = await ensureRenderer(root)
  const version = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version

  useSimulators()
  const secrets = new KeyFileSecretStore(dataDir)
  const newBench = (recordsDb: string | undefined) => new Bench({ dataDir, recordsDb, recordsDbSource: 'the app settings' })
  let bench: Bench
  try {
    bench = newBench(secrets.get(RECORDS_DB_KEY))
  } catch (e) {
    if (!(e instanceof FlashlineError) || e.code === 'data-dir') throw e
    out.error(`warning: the records database setting cannot be used (${e.message}); records stay local until it is fixed in the settings`)
    bench = newBench(undefined)
  }
  const demo = flags['demo'] ? new DemoController() : undefined
  try {
    await demo?.start()
  } catch (e) {
    await bench.close()
    throw e
  }
  const host = createHost({ bench, secrets, settingsFile: join(dataDir, 'settings.json'), demo, recreateBench: newBench, info: { version, host: 'browser' } })
  let server
  try {
    server = await startBridgeServer({ host, rendererDir, bindHost, port })
  } catch (e) {
    await host.close()
    await demo?.close()
    const err = e as NodeJS.ErrnoException
    if (err.code === 'EADDRINUSE') throw new FlashlineError('usage', 'port-in-use', `port ${port} on ${bindHost} is in use; give another --port (0 picks a free one)`)
    if (err.code === 'EADDRNOTAVAIL') throw new FlashlineError('usage', 'bad-flag', `--host ${bindHost} is not an address of this machine`)
    throw e
  }
  if (bindHost !== '127.0.0.1' && !isLoopback(bindHost)) out.error(`warning: serving on ${bindHost} without encryption; anyone on that network who sees the address can use the app`)
  process.stdout.write(`Flashline UI: ${server.url}\n`)

  await new Promise<void>((resolve) => (signal.aborted ? resolve() : signal.addEventListener('abort', () => resolve(), { once: true })))
  await server.close()
  await host.close()
  await demo?.close()
  return EXIT_CODES.interrupted
}
