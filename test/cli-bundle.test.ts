/**
 * The CLI bundle built at install time (scripts/build-cli.mjs → out/cli): bin/flashline.js runs it
 * while it is current and falls back to the sources through tsx when a source is newer or the build
 * is incomplete. Works on a copy of the checkout, so touching sources here disturbs no other test.
 */
import { spawn } from 'node:child_process'
import { cpSync, mkdirSync, readFileSync, realpathSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { tempDir } from './harness/tmp'

const REPO = join(__dirname, '..')
const work = tempDir('flashline-bundle-')
const root = join(work.dir, 'checkout')
const elsewhere = join(work.dir, 'elsewhere')
const probe = join(work.dir, 'probe.cjs')

interface Run {
  code: number | null
  stdout: string
  stderr: string
  /** What the main thread had loaded when it exited. */
  loaded: { tsx: boolean; bundle: boolean; packages: string[] }
}

function run(cmd: string, args: string[], { cwd = elsewhere, env = {} }: { cwd?: string; env?: Record<string, string> } = {}): Promise<Run> {
  const report = join(work.dir, `loaded-${Math.random().toString(36).slice(2)}.json`)
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-r', probe, cmd, ...args], { cwd, env: { ...process.env, FLASHLINE_FROM_SOURCE: '', ...env, PROBE_OUT: report }, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    const timer = setTimeout(() => child.kill('SIGKILL'), 50_000)
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(timer)
      let loaded: Run['loaded'] = { tsx: false, bundle: false, packages: [] }
      try {
        loaded = JSON.parse(readFileSync(report, 'utf8'))
      } catch {
        /* the process died before its exit handler ran: `loaded` stays empty and the test's code check fails */
      }
      resolve({ code, stdout, stderr, loaded })
    })
  })
}

const flashline = (...args: string[]): Promise<Run> => run(join(root, 'bin', 'flashline.js'), args)

function events(stdout: string): Array<Record<string, unknown> & { type: string }> {
  return stdout
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l))
}

beforeAll(async () => {
  // the parts of a checkout the CLI and its build use; node_modules is the real one
  for (const p of ['bin', 'main', 'preload', 'resources', 'scripts/build-cli.mjs', 'package.json', 'tsconfig.json']) cpSync(join(REPO, p), join(root, p), { recursive: true })
  symlinkSync(realpathSync(join(REPO, 'node_modules')), join(root, 'node_modules'))
  mkdirSync(elsewhere)
  writeFileSync(
    probe,
    `const { isMainThread } = require('node:worker_threads')
if (isMainThread) process.on('exit', () => {
  const keys = Object.keys(require.cache)
  const packages = [...new Set(keys.map((k) => /node_modules[\\\\/]((?:@[^\\\\/]+[\\\\/])?[^\\\\/]+)/.exec(k)?.[1]).filter(Boolean))]
  require('node:fs').writeFileSync(process.env.PROBE_OUT, JSON.stringify({
    tsx: packages.includes('tsx'),
    bundle: keys.some((k) => /out[\\\\/]cli[\\\\/]flashline\\.js$/.test(k)),
    packages
  }))
})
`
  )
  const build = await run(join(root, 'scripts', 'build-cli.mjs'), [], { cwd: root })
  expect(build.code, build.stderr).toBe(0)
}, 60_000)
afterAll(() => work.cleanup())

describe('flashline runs its install-time bundle while it is current', () => {
  it('ports --json: from the bundle, without tsx and without the MQTT client, broker, ESP loader or CBOR', async () => {
    const r = await flashline('ports', '--json')
    expect(r.code, r.stderr).toBe(0)
    const [ports, ...rest] = events(r.stdout)
    expect(ports?.type).toBe('ports')
    expect(Array.isArray(ports?.['ports'])).toBe(true)
    expect(rest).toEqual([])
    expect(r.loaded.bundle).toBe(true)
    expect(r.loaded.tsx).toBe(false)
    expect(r.loaded.packages).toContain('serialport')
    for (const heavy of ['mqtt', 'aedes', 'esptool-js', 'cbor']) expect(r.loaded.packages).not.toContain(heavy)
  })

  it('--help loads no package; flash (no platform) loads neither the MQTT client nor the broker', async () => {
    const r = await flashline('--help')
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/^usage: flashline <command>/m)
    expect(r.loaded.bundle).toBe(true)
    expect(r.loaded.packages).toEqual([])
    const f = await flashline('flash', '--help')
    expect(f.code).toBe(0)
    expect(f.stdout).toMatch(/^flashline flash --port PATH/)
    expect(f.loaded.bundle).toBe(true)
    for (const heavy of ['mqtt', 'aedes', 'tsx']) expect(f.loaded.packages).not.toContain(heavy)
  })

  it('flashes the ESP simulator on the worker bundled next to the CLI, from another working directory', async () => {
    const fw = join(elsewhere, 'fw.bin')
    writeFileSync(fw, Buffer.alloc(32 * 1024, 0x5a))
    const r = await flashline('flash', '--port', 'sim:esp', '--protocol', 'esp', '--file', fw, '--json')
    expect(r.code, r.stderr).toBe(0)
    const done = events(r.stdout).find((e) => e.type === 'flash-done') as { bytes: number; identity: { details: { thread: string } } } | undefined
    expect(done?.bytes).toBe(32 * 1024)
    expect(done?.identity.details.thread).toBe('worker')
    expect(r.loaded.bundle).toBe(true)
    expect(r.loaded.tsx).toBe(false)
  })

  it('the demo finds the simulators\' TLS files from the bundle, from another working directory', async () => {
    const r = await flashline('demo', '--json')
    expect(r.code, r.stderr).toBe(0)
    const result = events(r.stdout).find((e) => e.type === 'demo-result') as { results: Array<{ ok: boolean }> } | undefined
    expect(result?.results.length).toBeGreaterThan(0)
    expect(result?.results.every((x) => x.ok)).toBe(true)
    expect(r.loaded.bundle).toBe(true)
  })
})

// From source, bin/flashline.js runs the TypeScript in a child node with tsx's loader (see there), so
// this process itself loads neither the bundle nor tsx; what it printed shows the sources ran.
describe('flashline runs the sources instead of a bundle that may be out of date', () => {
  it('a source saved after the build: runs through tsx, and again from the bundle once rebuilt', async () => {
    const later = new Date(Date.now() + 5_000)
    utimesSync(join(root, 'main', 'engine', 'ports.ts'), later, later)
    const stale = await flashline('ports', '--json')
    expect(stale.code, stale.stderr).toBe(0)
    expect(events(stale.stdout)[0]?.type).toBe('ports')
    expect(stale.loaded.bundle).toBe(false)

    const now = new Date()
    utimesSync(join(root, 'main', 'engine', 'ports.ts'), now, now)
    expect((await run(join(root, 'scripts', 'build-cli.mjs'), [], { cwd: root })).code).toBe(0)
    const fresh = await flashline('ports', '--json')
    expect(fresh.code, fresh.stderr).toBe(0)
    expect(fresh.loaded.bundle).toBe(true)
  })

  it('an incomplete build (the ESP worker missing): runs through tsx', async () => {
    const worker = join(root, 'out', 'cli', 'esp-worker.js')
    const saved = readFileSync(worker)
    rmSync(worker)
    try {
      const r = await flashline('--help')
      expect(r.code).toBe(0)
      expect(r.loaded.bundle).toBe(false)
    } finally {
      writeFileSync(worker, saved)
    }
  })

  it('FLASHLINE_FROM_SOURCE=1 runs through tsx even with a current bundle', async () => {
    expect((await flashline('--help')).loaded.bundle).toBe(true)
    const s = await run(join(root, 'bin', 'flashline.js'), ['--help'], { env: { FLASHLINE_FROM_SOURCE: '1' } })
    expect(s.code).toBe(0)
    expect(s.stdout).toMatch(/^usage: flashline <command>/m)
    expect(s.loaded.bundle).toBe(false)
  })
})
