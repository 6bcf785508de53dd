// Builds the CLI bundle bin/flashline.js runs: out/cli/flashline.js plus the ESP flasher's worker
// (out/cli/esp-worker.js, which main/engine/flash/esp-threaded.ts finds next to the bundle).
// Runs on `npm ci` / `npm install` (the "prepare" script), in `npm run build` and before `npm test`.
//
// Only our own sources go into the bundle; packages stay in node_modules and are required when a
// command first needs them (the command modules are required lazily in main/cli/index.ts), so
// `flashline ports` loads serialport and nothing else.
//
// out/cli/build-info.json records when the build started and which sources went in; bin/flashline.js
// runs the bundle only while its outputs are all there and none of its sources has changed since (see there). It is written last, after
// being removed first, so a failed or interrupted build leaves the CLI running from source.
import { build } from 'esbuild'
import { mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
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
  packages: 'external',
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
