import { spawnSync } from 'node:child_process'
import { chmodSync, copyFileSync, cpSync, existsSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { tempDir } from './harness/tmp'

// resources/bin/flashline in the layouts of an installed app (the .deb's /opt/Flashline, an extracted
// AppImage, a macOS bundle), with a stand-in for the app binary that behaves like Electron with
// ELECTRON_RUN_AS_NODE=1 (it is Node then) and refuses otherwise. app.asar is a plain folder here
// (Electron reads into the archive transparently; plain Node cannot).

const root = join(__dirname, '..')
let tmp: ReturnType<typeof tempDir>

function layout(resources: string, binary: string): void {
  mkdirSync(join(resources, 'bin'), { recursive: true })
  copyFileSync(join(root, 'resources', 'bin', 'flashline'), join(resources, 'bin', 'flashline'))
  chmodSync(join(resources, 'bin', 'flashline'), 0o755)
  mkdirSync(join(resources, 'app.asar', 'out'), { recursive: true })
  cpSync(join(root, 'out', 'cli'), join(resources, 'app.asar', 'out', 'cli'), { recursive: true })
  symlinkSync(join(root, 'node_modules'), join(resources, 'app.asar', 'node_modules'))
  writeFileSync(binary, `#!/bin/sh\nif [ "$ELECTRON_RUN_AS_NODE" = 1 ]; then exec "${process.execPath}" "$@"; fi\necho "not run as node" >&2\nexit 9\n`, { mode: 0o755 })
}

function run(launcher: string, ...args: string[]) {
  return spawnSync(launcher, args, { encoding: 'utf8', env: { ...process.env, ELECTRON_RUN_AS_NODE: '' }, timeout: 60_000 })
}

beforeAll(() => {
  tmp = tempDir('flashline-launcher-')
  // built by npm test (and npm ci); rebuilt here only when missing, never under the feet of the
  // other test files' flashline processes, which may be loading it right now
  if (!existsSync(join(root, 'out', 'cli', 'flashline.js'))) {
    const r = spawnSync(process.execPath, [join(root, 'scripts', 'build-cli.mjs')], { encoding: 'utf8' })
    expect(r.status, r.stderr).toBe(0)
  }
  layout(join(tmp.dir, 'opt', 'Flashline', 'resources'), join(tmp.dir, 'opt', 'Flashline', 'flashline-desktop'))
  mkdirSync(join(tmp.dir, 'Flashline.app', 'Contents', 'MacOS'), { recursive: true })
  layout(join(tmp.dir, 'Flashline.app', 'Contents', 'Resources'), join(tmp.dir, 'Flashline.app', 'Contents', 'MacOS', 'Flashline'))
}, 60_000)
afterAll(() => tmp.cleanup())

describe('the flashline launcher of the desktop app', () => {
  it('runs the bundled CLI with the app binary as Node (Linux layout), through a link on the PATH too', () => {
    const launcher = join(tmp.dir, 'opt', 'Flashline', 'resources', 'bin', 'flashline')
    const help = run(launcher, '--help')
    expect(help.stderr).toBe('')
    expect(help.status).toBe(0)
    expect(help.stdout).toMatch(/^Flashline — flash IoT devices/)
    mkdirSync(join(tmp.dir, 'usr-local-bin'))
    symlinkSync(launcher, join(tmp.dir, 'usr-local-bin', 'flashline'))
    const ports = run(join(tmp.dir, 'usr-local-bin', 'flashline'), 'ports', '--json')
    expect(ports.status, ports.stderr).toBe(0)
    for (const line of ports.stdout.split('\n').filter(Boolean)) expect(JSON.parse(line)).toHaveProperty('type')
    // the CLI's own exit codes come through
    expect(run(launcher, 'flash', '--nope').status).toBe(2)
  })

  it('finds the app binary of a macOS bundle', () => {
    const r = run(join(tmp.dir, 'Flashline.app', 'Contents', 'Resources', 'bin', 'flashline'), 'ui', '--help')
    expect(r.status, r.stderr).toBe(0)
    expect(r.stdout).toMatch(/^flashline ui \[--demo\]/)
  })

  it('says where it looked when there is no app binary next to it', () => {
    const lonely = join(tmp.dir, 'lonely', 'resources', 'bin')
    mkdirSync(lonely, { recursive: true })
    copyFileSync(join(root, 'resources', 'bin', 'flashline'), join(lonely, 'flashline'))
    chmodSync(join(lonely, 'flashline'), 0o755)
    const r = run(join(lonely, 'flashline'), '--help')
    expect(r.status).toBe(1)
    expect(r.stderr).toMatch(/app binary is not next to .*lonely\/resources/)
  })
})
