import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { INSTANCES_ENV, startUi, type InstanceName, type InstanceInfo, type RunningUi } from './instances'

const ROOT = join(__dirname, '..', '..')
const BIN = join(ROOT, 'bin', 'flashline.js')

function build(command: string, args: string[]): void {
  const r = spawnSync(command, args, { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'] })
  if (r.status !== 0) throw new Error(`"${command} ${args.join(' ')}" failed (${r.status ?? r.signal}); run it in ${ROOT} to see why`)
}

/**
 * Starts the real engine for the specs in test/e2e-real: `flashline ui --demo` (simulated clouds and
 * boards) and a plain `flashline ui` for the boards on ptys, each with a data directory of its own;
 * their addresses go to the workers in FLASHLINE_REAL_UI. Returns the teardown (Ctrl-C, wait for close).
 */
export default async function globalSetup(): Promise<() => Promise<void>> {
  // npm test builds the renderer before Playwright; a run of its own builds what is missing
  if (!existsSync(join(ROOT, 'out', 'renderer', 'index.html'))) build('npx', ['electron-vite', 'build'])
  build(process.execPath, [join(ROOT, 'scripts', 'build-cli.mjs')])
  const base = mkdtempSync(join(tmpdir(), 'flashline-e2e-real-'))
  const running: Partial<Record<InstanceName, RunningUi>> = {}
  const stopAll = async () => {
    const results = await Promise.all(Object.values(running).map((r) => r.stop()))
    rmSync(base, { recursive: true, force: true })
    return results
  }
  try {
    running.demo = await startUi(BIN, ['--demo', '--port', '0'], join(base, 'demo'))
    running.bench = await startUi(BIN, ['--port', '0'], join(base, 'bench'))
  } catch (e) {
    await stopAll()
    throw e
  }
  const info: Record<string, InstanceInfo> = {}
  for (const [name, r] of Object.entries(running)) info[name] = r.info
  process.env[INSTANCES_ENV] = JSON.stringify(info)
  return async () => {
    const ended = await stopAll()
    // Ctrl-C ends flashline ui with 130 (interrupted); anything else is a finding
    for (const [i, r] of ended.entries()) if (r.code !== 130) console.error(`flashline ui (${Object.keys(running)[i]}) ended with ${r.code ?? r.signal}, not 130:\n${Object.values(running)[i]!.stderr()}`)
  }
}
