// Builds the CLI bundle bin/flashline.js runs: out/cli/flashline.js plus the ESP flasher's worker
// (out/cli/esp-worker.js, which main/engine/flash/esp-threaded.ts finds next to the bundle).
// Runs on `npm ci` / `npm install` (the "prepare" script), in `npm run build` and before `npm test`.
//
// Our own sources (and zod) go into the bundle; other packages stay in node_modules and are required
// when a command first needs them (the command modules are required lazily in main/cli/index.ts), so
// `flashline ports` loads serialport and nothing else.
//
// out/cli/build-info.json records when the build started and which sources went in; bin/flashline.js
// runs the bundle only while its outputs are all there and none of its sources has changed since (see there). It is written last, after
// being removed first, so a failed or interrupted build leaves the CLI running from source.
import { build } from 'esbuild'
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))
const BUNDLED = new Set(['zod'])
const outdir = join(root, 'out', 'cli')
const infoFile = join(outdir, 'build-info.json')

rmSync(infoFile, { force: true })
// taken before esbuild reads anything, so a source saved during the build counts as newer
const builtAt = Date.now()
const result = await build({
  absWorkingDir: root,
  entryPoints: { flashline: 'main/cli/index.ts', 'esp-worker': 'main/engine/flash/esp-worker.ts' },
  outdir,
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  // every package stays external except zod, whose ~100 small files cost twice as much to load
  // one by one as bundled (measured: 52 ms against 23 ms on this machine's kind)
  external: Object.keys({ ...pkg.dependencies, ...pkg.devDependencies }).filter((name) => !BUNDLED.has(name)).flatMap((name) => [name, `${name}/*`]),
  metafile: true,
  logLevel: 'warning'
})
const rel = (f) => relative(root, join(root, f)).split('\\').join('/')
const inputs = Object.keys(result.metafile.inputs).map(rel)
const outputs = Object.keys(result.metafile.outputs).map(rel)
mkdirSync(outdir, { recursive: true })
writeFileSync(infoFile, JSON.stringify({ builtAt, inputs, outputs }, null, 1) + '\n')
const kb = Object.values(result.metafile.outputs).reduce((n, o) => n + o.bytes, 0) / 1024
console.log(`flashline CLI bundle: out/cli (${inputs.length} sources, ${kb.toFixed(0)} KiB) in ${Date.now() - builtAt} ms`)
