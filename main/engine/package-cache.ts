import { copyFileSync, existsSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs'
import { basename, join } from 'node:path'
import { cachedPath, fetchPackage, type FetchOptions } from './download/fetch-package'
import { compareExpectation, hashFile } from './download/hashers'
import { FlashlineError } from './errors'
import type { PackageOnDisk } from './jobs/job-record'
import type { PackageExpectation, PackageSource } from './model'
import { mkdirPrivate } from './store/atomic-file'

export interface PackageInfo extends PackageOnDisk {
  fromCache?: boolean
}

export type DownloadOptions = Pick<FetchOptions, 'ca' | 'allowHttp' | 'signal' | 'onProgress' | 'retries' | 'idleTimeoutMs' | 'onWait' | 'lockWaitMs' | 'allDigests'>

/**
 * The content-addressed package cache under `<dataDir>/cache`: verified packages only, named by
 * their SHA-256. Downloads of the same package share one transfer (gateway children, several
 * connections); local files are copied in and hashed as copied, so what is flashed is what was checked.
 */
export class PackageCache {
  private readonly inflight = new Map<string, Promise<PackageInfo>>()

  constructor(readonly dir: string) {}

  /** Downloads (or finds) a package; one transfer serves every caller asking for the same package meanwhile. */
  fetch(source: PackageSource, expect: PackageExpectation, options: DownloadOptions = {}): Promise<PackageInfo> {
    const key = expect.sha256 ?? expect.md5 ?? source.url.split('?')[0]!
    const running = this.inflight.get(key)
    if (running) return running
    // the partial file and its lock are named by the package's digest, so other processes on this
    // data dir (another agent, `flashline fetch`) share one download of it
    const p = fetchPackage(source, expect, { ...options, cacheDir: this.dir }).finally(() => this.inflight.delete(key))
    this.inflight.set(key, p)
    return p
  }

  /**
   * Copies a local file into the cache and checks the copy against `expect`; a file that does not
   * match is refused (integrity error) and nothing is kept.
   */
  async import(file: string, expect: PackageExpectation = {}): Promise<PackageInfo> {
    let size: number
    try {
      const st = statSync(file)
      if (!st.isFile()) throw Object.assign(new Error('not a regular file'), { code: 'EISDIR' })
      size = st.size
    } catch (e) {
      throw new FlashlineError('usage', 'unreadable-file', `${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`, { file })
    }
    if (size === 0) throw new FlashlineError('usage', 'empty-image', `${basename(file)} is empty (0 bytes); there is nothing to flash — check that the right file was given`)
    mkdirPrivate(join(this.dir, 'import'))
    const tmp = join(this.dir, 'import', `${process.pid}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`)
    copyFileSync(file, tmp)
    try {
      const digest = await hashFile(tmp)
      const mismatch = compareExpectation(digest, expect)
      if (mismatch) {
        throw new FlashlineError('integrity', 'hash-mismatch', `${file} does not match its expected ${mismatch.field}: expected ${mismatch.expected}, the file has ${mismatch.actual}; not flashing`, { ...mismatch })
      }
      const path = cachedPath(this.dir, digest.sha256)
      mkdirPrivate(join(this.dir, 'sha256'))
      if (existsSync(path)) rmSync(tmp, { force: true })
      else renameSync(tmp, path)
      return { path, ...digest, name: basename(file), fromCache: false }
    } finally {
      rmSync(tmp, { force: true })
    }
  }

  /** Every cached package (hashes re-read only when asked to verify). */
  list(): PackageInfo[] {
    const dir = join(this.dir, 'sha256')
    if (!existsSync(dir)) return []
    return readdirSync(dir)
      .filter((n) => /^[0-9a-f]{64}$/.test(n))
      .map((sha256) => ({ path: join(dir, sha256), sha256, size: statSync(join(dir, sha256)).size }))
  }

  /** The cached package with this SHA-256, checked again before use. */
  async get(sha256: string): Promise<PackageInfo | undefined> {
    const path = cachedPath(this.dir, sha256)
    if (!existsSync(path)) return undefined
    const digest = await hashFile(path)
    if (digest.sha256 !== sha256.toLowerCase()) {
      rmSync(path, { force: true }) // damaged on disk: never flashed
      return undefined
    }
    return { path, ...digest, fromCache: true }
  }

  remove(sha256: string): boolean {
    const path = cachedPath(this.dir, sha256)
    if (!existsSync(path)) return false
    rmSync(path, { force: true })
    return true
  }
}

