/**
 * Several processes, one data directory: two agents (or an agent and `flashline fetch`) ordered
 * the same package at the same time. Real processes against the simulated HTTPS package server,
 * paced so the downloads overlap.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync, writeSync } from 'node:fs'
import { hostname } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { fetchPackage } from '../main/engine/download/fetch-package'
import { startPackageServer, type PackageServer } from '../main/engine/sim/package-server'
import { simTls } from '../main/engine/sim/tls'
import { jsonEvents } from './harness/cli'
import { tempDir } from './harness/tmp'

const BIN = join(__dirname, '..', 'bin', 'flashline.js')
const work = tempDir()
const data = randomBytes(3 * 1024 * 1024)
const sha256 = createHash('sha256').update(data).digest('hex')
let server: PackageServer
const caFile = join(work.dir, 'ca.pem')
const children = new Set<ChildProcess>()

beforeAll(async () => {
  server = await startPackageServer({ tls: true })
  writeFileSync(caFile, simTls().ca)
})
afterAll(async () => {
  await server.close()
  work.cleanup()
})
afterEach(() => {
  for (const c of children) c.kill('SIGKILL')
  children.clear()
  for (const k of Object.keys(server.faults)) delete server.faults[k as keyof typeof server.faults]
})

interface Run {
  child: ChildProcess
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>
}

/** `flashline fetch …` as its own process; `done` settles on 'close', when all output is read. */
function cli(args: string[], timeoutMs = 60_000): Run {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  children.add(child)
  let stdout = ''
  let stderr = ''
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()))
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()))
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`flashline ${args.join(' ')} did not finish in ${timeoutMs} ms\n${stdout}\n${stderr}`))
    }, timeoutMs)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      children.delete(child)
      resolve({ code, signal, stdout, stderr })
    })
  })
  return { child, done }
}

async function until(what: string, ok: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

const sizeOf = (path: string): number => (existsSync(path) ? statSync(path).size : 0)

describe('two processes, one data directory', () => {
  it('two `flashline fetch` of the same package at the same time: one downloads, the other waits and takes it from the cache; both get the exact package', async () => {
    const { url } = server.addPackage('conc/a.bin', data, {})
    server.faults.bytesPerSecond = 3 * 1024 * 1024 // about a second: the two runs overlap
    const dataDir = join(work.dir, 'shared-a')
    const outs = [join(work.dir, 'a1.bin'), join(work.dir, 'a2.bin')]
    const runs = outs.map((out) => cli(['fetch', '--url', url, '--sha256', sha256, '--size', String(data.length), '--ca', caFile, '--data-dir', dataDir, '--out', out, '--json']))
    const results = await Promise.all(runs.map((r) => r.done))
    for (const r of results) expect(r.code, r.stderr).toBe(0)
    for (const out of outs) expect(createHash('sha256').update(readFileSync(out)).digest('hex')).toBe(sha256)
    expect(readFileSync(join(dataDir, 'cache', 'sha256', sha256)).equals(data)).toBe(true)
    const served = server.requests.filter((r) => r.path.endsWith('conc/a.bin'))
    expect(served).toHaveLength(1) // the second used the first's result
    const done = results.map((r) => jsonEvents(r.stdout).find((e) => e.type === 'download-done')!)
    expect(done.map((d) => d['fromCache']).sort()).toEqual([false, true])
    const waiter = results[done.findIndex((d) => d['fromCache'] === true)]!
    expect(jsonEvents(waiter.stdout).some((e) => e.type === 'download-wait' && typeof e['pid'] === 'number')).toBe(true)
    expect(readdirSync(join(dataDir, 'cache', 'partial'))).toEqual([])
  }, 90_000)

  it('a download killed with SIGKILL leaves its lock behind; the next run takes it over and resumes the partial file with Range', async () => {
    const { url } = server.addPackage('conc/b.bin', data, {})
    server.faults.bytesPerSecond = 1024 * 1024
    const dataDir = join(work.dir, 'shared-b')
    const args = ['fetch', '--url', url, '--sha256', sha256, '--ca', caFile, '--data-dir', dataDir, '--json']
    const part = join(dataDir, 'cache', 'partial', `sha256-${sha256}.part`)
    const first = cli(args)
    await until('the first run to write 1 MiB', () => sizeOf(part) >= 1024 * 1024)
    first.child.kill('SIGKILL')
    expect((await first.done).signal).toBe('SIGKILL')
    expect(existsSync(join(dataDir, 'cache', 'partial', `sha256-${sha256}.lock`))).toBe(true)
    const kept = sizeOf(part)
    server.faults.bytesPerSecond = undefined
    const second = await cli(args).done
    expect(second.code, second.stderr).toBe(0)
    const resumed = server.requests.filter((r) => r.path.endsWith('conc/b.bin')).at(-1)!
    expect(resumed.status).toBe(206)
    expect(Number(/^bytes=(\d+)-$/.exec(resumed.range ?? '')?.[1])).toBe(kept)
    expect(readFileSync(join(dataDir, 'cache', 'sha256', sha256)).equals(data)).toBe(true)
    expect(readdirSync(join(dataDir, 'cache', 'partial'))).toEqual([])
  }, 90_000)
})

describe('the download lock', () => {
  const dirs: Array<() => void> = []
  afterAll(() => dirs.forEach((d) => d()))
  function cacheDir(): string {
    const t = tempDir()
    dirs.push(t.cleanup)
    return t.dir
  }

  it('two downloads of one package in one process: the second waits for the first and gets its result', async () => {
    const { url } = server.addPackage('conc/c.bin', data, {})
    server.faults.bytesPerSecond = 6 * 1024 * 1024
    const dir = cacheDir()
    const waits: number[] = []
    const [a, b] = await Promise.all([
      fetchPackage({ url }, { sha256 }, { cacheDir: dir, ca: simTls().ca, onWait: (w) => waits.push(w.owner!.pid) }),
      fetchPackage({ url }, { sha256 }, { cacheDir: dir, ca: simTls().ca, onWait: (w) => waits.push(w.owner!.pid) })
    ])
    expect([a.fromCache, b.fromCache].sort()).toEqual([false, true])
    expect(a.path).toBe(b.path)
    expect(readFileSync(a.path).equals(data)).toBe(true)
    expect(waits[0]).toBe(process.pid)
    expect(server.requests.filter((r) => r.path.endsWith('conc/c.bin'))).toHaveLength(1)
  })

  it('waits for a live owner while its partial file does not grow, then gives up with a download error naming it', async () => {
    const { url } = server.addPackage('conc/d.bin', data, {})
    const dir = cacheDir()
    const owner = spawn('sleep', ['30'])
    children.add(owner)
    mkdirSync(join(dir, 'partial'), { recursive: true })
    writeFileSync(join(dir, 'partial', `sha256-${sha256}.lock`), JSON.stringify({ pid: owner.pid, host: hostname(), token: 'other', since: Date.now() }))
    const waits: Array<number | undefined> = []
    const t0 = Date.now()
    await expect(fetchPackage({ url }, { sha256 }, { cacheDir: dir, ca: simTls().ca, lockWaitMs: 700, onWait: (w) => waits.push(w.owner?.pid) })).rejects.toMatchObject({
      kind: 'download',
      code: 'busy',
      message: expect.stringContaining(`pid ${owner.pid}`)
    })
    expect(Date.now() - t0).toBeGreaterThanOrEqual(700)
    expect(waits[0]).toBe(owner.pid)
    expect(server.requests.filter((r) => r.path.endsWith('conc/d.bin'))).toHaveLength(0)
  })

  it('a lock that cannot be read (here: a directory in its place) is a download error naming it, not an endless retry', async () => {
    const { url } = server.addPackage('conc/h.bin', data, {})
    const dir = cacheDir()
    const lock = join(dir, 'partial', `sha256-${sha256}.lock`)
    mkdirSync(lock, { recursive: true })
    await expect(fetchPackage({ url }, { sha256 }, { cacheDir: dir, ca: simTls().ca })).rejects.toMatchObject({
      kind: 'download',
      code: 'disk',
      message: expect.stringContaining(`cannot read the download lock ${lock}: EISDIR`)
    })
  })

  it('a lock file still empty (its owner is between creating and writing it) is waited for, not reported busy at once', async () => {
    const { url } = server.addPackage('conc/i.bin', data, {})
    const dir = cacheDir()
    const lock = join(dir, 'partial', `sha256-${sha256}.lock`)
    mkdirSync(join(dir, 'partial'), { recursive: true })
    writeFileSync(lock, '')
    const waits: Array<unknown> = []
    // the "owner" finishes quickly (here: goes away) and the waiter proceeds
    setTimeout(() => rmSync(lock, { force: true }), 300)
    const pkg = await fetchPackage({ url }, { sha256 }, { cacheDir: dir, ca: simTls().ca, lockWaitMs: 2000, onWait: (w) => waits.push(w.owner) })
    expect(readFileSync(pkg.path).equals(data)).toBe(true)
    expect(waits).toEqual([null])
  })

  it('takes over a lock from another host that has not been touched for a minute', async () => {
    const { url } = server.addPackage('conc/e.bin', data, {})
    const dir = cacheDir()
    const lock = join(dir, 'partial', `sha256-${sha256}.lock`)
    mkdirSync(join(dir, 'partial'), { recursive: true })
    writeFileSync(lock, JSON.stringify({ pid: 1, host: 'another-bench-pc', token: 'other', since: Date.now() - 120_000 }))
    const old = new Date(Date.now() - 60_000)
    utimesSync(lock, old, old)
    const pkg = await fetchPackage({ url }, { sha256 }, { cacheDir: dir, ca: simTls().ca, lockWaitMs: 60_000 })
    expect(readFileSync(pkg.path).equals(data)).toBe(true)
    expect(existsSync(lock)).toBe(false)
  })
})

describe('losing the lock', () => {
  it('an owner whose lock was taken over stops at its next heartbeat, leaves the partial file to the new owner and reports lock-lost', async () => {
    const { url } = server.addPackage('conc/g.bin', data, {})
    server.faults.bytesPerSecond = 1024 * 1024
    const t = tempDir()
    try {
      const part = join(t.dir, 'partial', `sha256-${sha256}.part`)
      const lock = join(t.dir, 'partial', `sha256-${sha256}.lock`)
      const fetching = fetchPackage({ url }, { sha256 }, { cacheDir: t.dir, ca: simTls().ca })
      fetching.catch(() => undefined)
      await until('the download to start writing', () => sizeOf(part) > 0)
      // what another process writes when it judged this lock abandoned and took it over
      writeFileSync(lock, JSON.stringify({ pid: process.pid, host: hostname(), token: 'new-owner', since: Date.now() }))
      const t0 = Date.now()
      await expect(fetching).rejects.toMatchObject({ kind: 'download', code: 'lock-lost' })
      expect(Date.now() - t0).toBeLessThan(2500) // well before the 3 s the body takes
      expect(existsSync(part)).toBe(true)
      expect(JSON.parse(readFileSync(lock, 'utf8')).token).toBe('new-owner')
    } finally {
      t.cleanup()
    }
  })
})

describe('the file returned is the file that was hashed', () => {
  it('bytes another writer adds to the partial file during the download fail the download instead of being flashed', async () => {
    const { url } = server.addPackage('conc/f.bin', data, {})
    server.faults.bytesPerSecond = 4 * 1024 * 1024
    const t = tempDir()
    try {
      const part = join(t.dir, 'partial', `sha256-${sha256}.part`)
      const fetching = fetchPackage({ url }, {}, { cacheDir: t.dir, ca: simTls().ca, partKey: `sha256-${sha256}` })
      fetching.catch(() => undefined)
      await until('the download to start writing', () => sizeOf(part) > 0)
      // A writer that ignores the lock (as two processes did before it existed) appends past the end.
      const fd = openSync(part, 'r+')
      writeSync(fd, Buffer.from('not part of the package'), 0, 23, data.length + 100)
      closeSync(fd)
      await expect(fetching).rejects.toMatchObject({ kind: 'integrity', code: 'changed' })
      expect(existsSync(part)).toBe(false)
      expect(existsSync(join(t.dir, 'sha256'))).toBe(false)
    } finally {
      t.cleanup()
    }
  })
})
