/**
 * A full disk during a download, on a real 2 MiB tmpfs. Mounting needs root (or passwordless sudo);
 * without either these tests fail and say how to run them — they are not skipped.
 */
import { execFileSync } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { existsSync, mkdtempSync, readdirSync, rmSync, statfsSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { fetchPackage } from '../main/engine/download/fetch-package'
import { startPackageServer, type PackageServer } from '../main/engine/sim/package-server'
import { simTls } from '../main/engine/sim/tls'
import { runCli } from './harness/cli'

/** Mounts a tmpfs of `size` at a fresh directory; returns it and how to undo it. */
function smallDisk(size: string, readOnly = false): { dir: string; unmount: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'flashline-disk-'))
  const args = ['-t', 'tmpfs', '-o', `size=${size}${readOnly ? ',ro' : ''}`, 'tmpfs', dir]
  const attempts: Array<[string, string[]]> = process.getuid?.() === 0 ? [['mount', args]] : [['sudo', ['-n', 'mount', ...args]]]
  const errors: string[] = []
  for (const [cmd, a] of attempts) {
    try {
      execFileSync(cmd, a, { stdio: 'pipe' })
      const umount = cmd === 'sudo' ? ['sudo', ['-n', 'umount', dir]] : ['umount', [dir]]
      return {
        dir,
        unmount: () => {
          execFileSync(umount[0] as string, umount[1] as string[], { stdio: 'pipe' })
          rmSync(dir, { recursive: true, force: true })
        }
      }
    } catch (e) {
      errors.push(`${cmd} ${a.join(' ')}: ${(e as Error).message.split('\n')[0]}`)
    }
  }
  rmSync(dir, { recursive: true, force: true })
  throw new Error(`these tests need a small real file system: run them as root, or give this user passwordless sudo for mount/umount (tried ${errors.join('; ')})`)
}

const free = (dir: string): number => {
  const s = statfsSync(dir)
  return s.bavail * s.bsize
}

describe('a full disk during a download (2 MiB tmpfs, 3 MiB package)', () => {
  let server: PackageServer
  let disk: { dir: string; unmount: () => void }
  const data = randomBytes(3 * 1024 * 1024)
  const sha256 = createHash('sha256').update(data).digest('hex')
  const ca = simTls().ca

  beforeAll(async () => {
    server = await startPackageServer({ tls: true })
  })
  afterAll(async () => {
    await server.close()
  })
  afterEach(() => {
    disk?.unmount()
    for (const k of Object.keys(server.faults)) delete server.faults[k as keyof typeof server.faults]
  })

  it('size not announced: the write fails with ENOSPC, the partial download is deleted first, then a disk-full download error names the directory', async () => {
    disk = smallDisk('2m')
    const { url } = server.addPackage('disk/a.bin', data, {})
    server.faults.noLength = true // chunked: nothing tells the size before the disk fills
    const cacheDir = join(disk.dir, 'cache')
    const empty = free(disk.dir)
    await expect(fetchPackage({ url }, {}, { cacheDir, ca })).rejects.toMatchObject({
      kind: 'download',
      code: 'disk-full',
      message: expect.stringMatching(new RegExp(`the disk holding ${cacheDir} is full \\(ENOSPC\\): the package needs more than .* The partial download was deleted`))
    })
    expect(readdirSync(join(cacheDir, 'partial'))).toEqual([]) // neither the partial file nor the lock
    expect(free(disk.dir)).toBeGreaterThan(empty - 64 * 1024) // the space is back
  })

  it('size announced (Content-Length): fails before writing, saying how much the package needs', async () => {
    disk = smallDisk('2m')
    const { url } = server.addPackage('disk/b.bin', data, {})
    const cacheDir = join(disk.dir, 'cache')
    await expect(fetchPackage({ url }, { sha256 }, { cacheDir, ca })).rejects.toMatchObject({
      kind: 'download',
      code: 'disk-full',
      message: expect.stringMatching(new RegExp(`the disk holding ${cacheDir} has too little space: the package needs 3\\.0 MiB \\(3145728 bytes\\), 2\\.0 MiB free`))
    })
    expect(readdirSync(join(cacheDir, 'partial'))).toEqual([])
  })

  it('size only in the order (chunked body): the same early failure', async () => {
    disk = smallDisk('2m')
    const { url } = server.addPackage('disk/c.bin', data, {})
    server.faults.noLength = true
    const cacheDir = join(disk.dir, 'cache')
    await expect(fetchPackage({ url }, { size: data.length }, { cacheDir, ca })).rejects.toMatchObject({ kind: 'download', code: 'disk-full', details: { size: data.length } })
  })

  it('`flashline fetch` exits 3 and names the data directory', async () => {
    disk = smallDisk('2m')
    const { url } = server.addPackage('disk/d.bin', data, {})
    server.faults.noLength = true
    const caFile = join(tmpdir(), `flashline-disk-ca-${process.pid}.pem`)
    writeFileSync(caFile, ca)
    try {
      const r = await runCli(['fetch', '--url', url, '--ca', caFile, '--data-dir', disk.dir])
      expect(r.code, r.stderr).toBe(3)
      expect(r.stderr).toContain(`the disk holding ${join(disk.dir, 'cache')} is full (ENOSPC)`)
      expect(existsSync(join(disk.dir, 'cache', 'partial')) ? readdirSync(join(disk.dir, 'cache', 'partial')) : []).toEqual([])
    } finally {
      rmSync(caFile, { force: true })
    }
  }, 60_000)
})

describe('`flashline fetch --out` on a read-only file system', () => {
  it('exit 2 naming the path and EROFS, before anything is downloaded', async () => {
    const server = await startPackageServer({ tls: true })
    const disk = smallDisk('1m', true)
    const caFile = join(tmpdir(), `flashline-ro-ca-${process.pid}.pem`)
    writeFileSync(caFile, simTls().ca)
    const dataDir = mkdtempSync(join(tmpdir(), 'flashline-ro-data-'))
    try {
      const { url } = server.addPackage('ro/fw.bin', Buffer.alloc(5000, 7), {})
      const r = await runCli(['fetch', '--url', url, '--ca', caFile, '--out', join(disk.dir, 'fw.bin'), '--data-dir', dataDir])
      expect(r.code).toBe(2)
      expect(r.stderr).toContain(`--out ${join(disk.dir, 'fw.bin')}: cannot write in ${disk.dir} (EROFS`)
      expect(server.requests).toHaveLength(0)
    } finally {
      disk.unmount()
      rmSync(caFile, { force: true })
      rmSync(dataDir, { recursive: true, force: true })
      await server.close()
    }
  }, 60_000)
})
