import { createHash } from 'node:crypto'
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { FlashlineError } from '../errors'
import type { PackageExpectation, PackageSource } from '../model'
import type { PackageOnDisk } from '../jobs/job-record'
import { writeFileAtomic } from '../store/atomic-file'
import { diskFullError, freeBytes, isDiskFull } from './disk-space'
import { compareExpectation, hashFile } from './hashers'
import { httpGet, trustContext, type GetResponse } from './http-get'
import { PackageLock, type LockWait } from './package-lock'
import { PackageSink, type SinkDigest } from './package-sink'
import { parsePackageUrl } from './package-url'
import { redactUrl } from '../util/redact'

export interface FetchOptions {
  cacheDir: string
  /** PEM trust root added to the system roots (TLS verification always stays on). */
  ca?: string
  allowHttp?: boolean
  signal?: AbortSignal
  onProgress?: (p: { done: number; total?: number; bytesPerSec: number }) => void
  /** Attempts after a dropped connection or a 5xx. */
  retries?: number
  idleTimeoutMs?: number
  /** Name of the partial file, so a restarted job resumes the same download. */
  partKey?: string
  /** Also compute MD5 and the byte sum when no expectation asks for them (e.g. to show them). */
  allDigests?: boolean
  /** Another process is downloading the same package into this cache: called when waiting starts and every few seconds. */
  onWait?: (w: LockWait) => void
  /** Stop waiting for another process's download when its partial file has not grown for this long (default 5 min). */
  lockWaitMs?: number
}

export type FetchedPackage = PackageOnDisk & { fromCache: boolean }

/** A network failure worth another attempt (with Range); anything else ends the download. */
class Retryable extends Error {}

const MAX_REDIRECTS = 5

export function cachedPath(cacheDir: string, sha256: string): string {
  return join(cacheDir, 'sha256', sha256.toLowerCase())
}

/**
 * Downloads a package to the content-addressed cache, streaming to disk and hashing in the same
 * pass. Resumes dropped connections with `Range: bytes=N-` (accepting only a matching 206, starting
 * over on 200); 401/403 mean the token or URL expired and are never retried. The package is
 * returned only once it matches every expectation; a mismatching file never reaches the cache.
 *
 * Processes sharing a data directory download a package once: the partial file is guarded by a
 * lock (see package-lock.ts), a second process waits and then takes the package from the cache, and
 * a partial file left by a process that died is resumed by the next one.
 */
export async function fetchPackage(source: PackageSource, expect: PackageExpectation, options: FetchOptions): Promise<FetchedPackage> {
  const url = parsePackageUrl(source.url, options.allowHttp)
  const cached = await fromCache(options.cacheDir, expect)
  if (cached) return cached
  const partial = join(options.cacheDir, 'partial')
  try {
    onDisk(`cannot create the download folder ${partial}`, () => mkdirSync(partial, { recursive: true }))
  } catch (e) {
    if (isDiskFull(e)) throw diskFullError(options.cacheDir, { size: expect.size, received: 0, free: freeBytes(options.cacheDir), deleted: false, errno: errnoOf(e) })
    throw e
  }
  const key = options.partKey || defaultKey(source, expect)
  const part = join(partial, `${key}.part`)
  let lock: PackageLock
  try {
    lock = await PackageLock.acquire(join(partial, `${key}.lock`), {
      partPath: part,
      signal: options.signal,
      maxStallMs: options.lockWaitMs ?? 5 * 60_000,
      onWait: options.onWait
    })
  } catch (e) {
    if (isDiskFull(e)) throw diskFullError(options.cacheDir, { size: expect.size, received: 0, free: freeBytes(options.cacheDir), deleted: false, errno: errnoOf(e) })
    throw e
  }
  try {
    if (lock.waited) {
      // another process had it: its result is in the cache unless it failed
      const theirs = await fromCache(options.cacheDir, expect)
      if (theirs) return theirs
    }
    return await download(url, source, expect, options, part, lock)
  } finally {
    lock.release()
  }
}

/** A verified cache entry for what the order expects, if there is one. */
async function fromCache(cacheDir: string, expect: PackageExpectation): Promise<FetchedPackage | undefined> {
  // MD5-only orders (FogCloud, Wudun) find their package through a small md5 → sha256 index.
  const known = expect.sha256 ?? (expect.md5 ? readIndex(cacheDir, expect.md5) : undefined)
  if (!known) return undefined
  const hit = cachedPath(cacheDir, known)
  if (!existsSync(hit)) return undefined
  const digest = await hashFile(hit)
  if (!compareExpectation(digest, expect)) return { path: hit, ...digest, fromCache: true }
  rmSync(hit, { force: true }) // a damaged cache entry is dropped, never flashed
  return undefined
}

/** The partial file's name: the package's hash when the order gives one (so every order for it shares it), else the URL's. */
function defaultKey(source: PackageSource, expect: PackageExpectation): string {
  if (expect.sha256) return `sha256-${expect.sha256.toLowerCase()}`
  if (expect.md5) return `md5-${expect.md5.toLowerCase()}`
  return createHash('sha256').update(source.url.split('?')[0]!).digest('hex').slice(0, 32)
}

async function download(url: URL, source: PackageSource, expect: PackageExpectation, options: FetchOptions, part: string, lock: PackageLock): Promise<FetchedPackage> {
  // If another process takes the lock over (it judged ours abandoned), stop touching the partial file.
  const lost = new AbortController()
  lock.onLost(() => lost.abort())
  options = { ...options, signal: options.signal ? AbortSignal.any([options.signal, lost.signal]) : lost.signal }
  const retries = options.retries ?? 5
  const digests = { md5: expect.md5 !== undefined || options.allDigests, sum32: expect.sum32 !== undefined || options.allDigests }
  // A partial file an earlier run left behind is hashed by the sink's worker while the request is
  // already on its way; the body waits for it (see downloadOnce).
  let resumeAt = existsSync(part) ? statSync(part).size : 0
  if (expect.size !== undefined && resumeAt > expect.size) {
    closeSync(openSync(part, 'w')) // longer than the package can be: not a prefix of it
    resumeAt = 0
  }
  const sink = new PackageSink(part, digests)
  if (options.ca && url.protocol === 'https:') trustContext(options.ca) // while the sink's worker starts
  const opened = sink.open()
  opened.catch(() => undefined) // awaited before the first body byte
  const state: DownloadState = { sink, opened, part, digests, have: resumeAt, total: undefined, limit: expect.size, started: Date.now(), startedAt: resumeAt }
  let attempt = 0
  let digest: SinkDigest
  try {
    for (;;) {
      if (options.signal?.aborted) throw new FlashlineError('interrupted', 'aborted', 'interrupted')
      try {
        await downloadOnce(url, source, expect, options, part, state)
        break
      } catch (e) {
        if (!(e instanceof Retryable)) throw e
        if (++attempt > retries) {
          throw new FlashlineError('download', 'network', `download from ${url.host} failed after ${retries + 1} attempts: ${e.message}`)
        }
        await sleep(200 * attempt, options.signal)
      }
    }
    digest = await state.sink.digest()
    if (lock.lost) throw lockLost(lock)
  } catch (e) {
    await state.sink.dispose()
    if (lock.lost) throw lockLost(lock) // the partial file is the new owner's now: leave it alone
    if (isDiskFull(e)) {
      // the disk is full: free what this download took first (job records and reports live there too)
      const received = Math.max(state.have, sizeOf(part))
      rmSync(part, { force: true })
      throw diskFullError(options.cacheDir, { size: state.total ?? expect.size, received, free: freeBytes(options.cacheDir), deleted: true, errno: errnoOf(e) })
    }
    // bytes that cannot be the package are not kept for a resume; nor is an empty file
    if ((e instanceof FlashlineError && e.kind === 'integrity') || sizeOf(part) === 0) rmSync(part, { force: true })
    throw e
  } finally {
    await state.sink.dispose()
  }
  if (digest.file.size !== digest.size) {
    rmSync(part, { force: true })
    throw new FlashlineError(
      'integrity',
      'changed',
      `the partial file ${part} holds ${digest.file.size} bytes but ${digest.size} were received and hashed: something else wrote to it; the package was not flashed`,
      { field: 'size', expected: String(digest.size), actual: String(digest.file.size) }
    )
  }
  const mismatch = compareExpectation(digest, expect)
  if (mismatch) {
    rmSync(part, { force: true })
    throw new FlashlineError('integrity', 'mismatch', `package ${mismatch.field} mismatch: expected ${mismatch.expected}, got ${mismatch.actual}; the package was not flashed`, { ...mismatch })
  }
  const final = cachedPath(options.cacheDir, digest.sha256)
  onDisk(`cannot move the verified package into the cache ${final}`, () => {
    mkdirSync(join(options.cacheDir, 'sha256'), { recursive: true })
    renameSync(part, final)
  })
  const { file, ...sums } = digest
  const st = statSync(final)
  if (st.ino !== file.ino || st.dev !== file.dev || st.size !== file.size) {
    // Not the file that was hashed (another process put its own copy of this package there): check what is there.
    const there = await hashFile(final)
    if (there.sha256 !== digest.sha256 || compareExpectation(there, expect)) {
      rmSync(final, { force: true })
      throw new FlashlineError('integrity', 'changed', `the cached package ${final} changed after it was verified; the package was not flashed`)
    }
  }
  if (digest.md5) {
    try {
      writeIndex(options.cacheDir, digest.md5, digest.sha256)
    } catch {
      // the index only saves a download for the next MD5-only order; the package itself is in place
    }
  }
  return { path: final, ...sums, fromCache: false }
}

/** Runs a file-system step; its failure becomes a download error that names what could not be done. */
function onDisk<T>(what: string, step: () => T): T {
  try {
    return step()
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    throw new FlashlineError('download', 'disk', `${what}: ${(e as Error).message}`, code ? { errno: code } : undefined)
  }
}

function errnoOf(e: unknown): string | undefined {
  const errno = e instanceof FlashlineError ? e.details?.['errno'] : (e as NodeJS.ErrnoException).code
  return typeof errno === 'string' ? errno : undefined
}

function sizeOf(path: string): number {
  try {
    return statSync(path).size
  } catch {
    return 0
  }
}

function lockLost(lock: PackageLock): FlashlineError {
  return new FlashlineError(
    'download',
    'lock-lost',
    `another flashline process took over this download (it judged the lock ${lock.path} abandoned); this attempt stopped and kept nothing — try again`
  )
}

function readIndex(cacheDir: string, md5: string): string | undefined {
  try {
    const sha = readFileSync(join(cacheDir, 'md5', md5.toLowerCase()), 'utf8').trim()
    return /^[0-9a-f]{64}$/.test(sha) ? sha : undefined
  } catch {
    return undefined
  }
}

function writeIndex(cacheDir: string, md5: string, sha256: string): void {
  writeFileAtomic(join(cacheDir, 'md5', md5.toLowerCase()), sha256)
}

/** Where a redirect points, held to the same rules as the order's URL (no downgrade to http://). */
function redirectTarget(location: string, from: URL, allowHttp?: boolean): URL {
  let next: string
  try {
    next = new URL(location, from).toString()
  } catch {
    throw new FlashlineError('download', 'bad-url', `the package server ${from.host} redirected to an invalid address "${redactUrl(location)}"`)
  }
  try {
    return parsePackageUrl(next, allowHttp)
  } catch (e) {
    if (e instanceof FlashlineError) throw new FlashlineError(e.kind, e.code, `the package server ${from.host} redirected elsewhere: ${e.message}`)
    throw e
  }
}

interface DownloadState {
  sink: PackageSink
  /** The sink's open() until the first body: resolves with the bytes it found (and hashed) in the partial file. */
  opened: Promise<number> | null
  part: string
  digests: { md5?: boolean; sum32?: boolean }
  have: number
  total: number | undefined
  /** The expected size: receiving more than this stops the download at once. */
  limit: number | undefined
  started: number
  startedAt: number
}

async function restart(part: string, state: DownloadState): Promise<void> {
  await state.sink.dispose()
  closeSync(openSync(part, 'w'))
  state.sink = new PackageSink(part, state.digests)
  state.opened = null
  state.have = await state.sink.open()
  state.startedAt = 0
  state.started = Date.now()
}

async function downloadOnce(first: URL, source: PackageSource, expect: PackageExpectation, options: FetchOptions, part: string, state: DownloadState): Promise<void> {
  let url = first
  for (let hop = 0; ; hop++) {
    // A bearer token is for the host that issued the order: not for wherever it redirects.
    const res = await request(url, url.origin === first.origin ? source.bearerToken : undefined, options, state.have)
    const status = res.statusCode
    if (status >= 300 && status < 400 && res.headers['location']) {
      res.discard()
      if (hop >= MAX_REDIRECTS) throw new FlashlineError('download', 'redirects', `too many redirects fetching the package from ${first.host}`)
      url = redirectTarget(res.headers['location'], url, options.allowHttp)
      continue
    }
    if (status === 401 || status === 403) {
      res.discard()
      throw new FlashlineError(
        'download',
        'refused',
        `the download token or URL was refused (HTTP ${status}) by ${url.host}: it has probably expired; ask the platform for a new upgrade order`,
        { status }
      )
    }
    if (status === 416 && state.have > 0) {
      res.discard()
      await restart(part, state)
      throw new Retryable('the server refused to resume (416); starting over')
    }
    if (status >= 500) {
      res.discard()
      throw new Retryable(`HTTP ${status}`)
    }
    if (status !== 200 && status !== 206) {
      res.discard()
      throw new FlashlineError('download', 'http-status', `the package server ${url.host} answered HTTP ${status} ${res.statusMessage}`.trim(), { status })
    }
    if (status === 206) {
      const m = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(String(res.headers['content-range'] ?? ''))
      if (!m || Number(m[1]) !== state.have) {
        // A partial answer that does not continue where we are cannot be appended safely.
        res.discard()
        await restart(part, state)
        throw new Retryable(`the server answered 206 with Content-Range "${res.headers['content-range'] ?? ''}" for bytes=${state.have}-; starting over`)
      }
      if (m[3] !== '*') state.total = Number(m[3])
    } else {
      if (state.have > 0) await restart(part, state) // 200: the whole file again, from byte 0
      const len = res.headers['content-length']
      state.total = len !== undefined && /^\d+$/.test(len) ? Number(len) : undefined
    }
    if (state.total !== undefined && expect.size !== undefined && state.total !== expect.size) {
      res.discard()
      throw new FlashlineError('integrity', 'mismatch', `package size mismatch: expected ${expect.size}, the server offers ${state.total}; the package was not flashed`, {
        field: 'size',
        expected: String(expect.size),
        actual: String(state.total)
      })
    }
    if (state.opened) {
      let found: number
      try {
        found = await state.opened
      } catch (e) {
        res.discard()
        throw e
      }
      state.opened = null
      if (found !== state.have) {
        res.discard()
        await restart(part, state)
        throw new Retryable('the partial file changed while resuming; starting over')
      }
    }
    const size = state.total ?? expect.size
    const free = size !== undefined ? freeBytes(options.cacheDir) : undefined
    if (size !== undefined && free !== undefined && free < size - state.have) {
      // fail now rather than fill the disk the job records and reports also live on
      res.discard()
      throw diskFullError(options.cacheDir, { size, received: state.have, free, deleted: false })
    }
    await receive(res, part, state, options)
    return
  }
}

function request(url: URL, bearerToken: string | undefined, options: FetchOptions, from: number): Promise<GetResponse> {
  const headers: Record<string, string> = {}
  // Presigned URLs (IoTDA v2/OBS, FogCloud) carry their auth in the query: no extra headers at all.
  if (bearerToken) headers['Authorization'] = `Bearer ${bearerToken}`
  if (from > 0) headers['Range'] = `bytes=${from}-`
  const idle = options.idleTimeoutMs ?? 30_000
  return httpGet({
    url,
    headers,
    ca: options.ca,
    idleTimeoutMs: idle,
    signal: options.signal,
    onIdle: () => new Retryable(`no data from ${url.host} for ${Math.round(idle / 1000)} s`)
  }).catch((e: NodeJS.ErrnoException) => {
    throw classify(e, url, options)
  })
}

const TLS_CODES = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|HOSTNAME|ERR_TLS|ERR_SSL|UNABLE_TO_GET_ISSUER/

function classify(e: NodeJS.ErrnoException, url: URL, options: FetchOptions): Error {
  if (e instanceof Retryable || e instanceof FlashlineError) return e
  if (e.name === 'AbortError' || options.signal?.aborted) return new FlashlineError('interrupted', 'aborted', 'interrupted')
  if (e.code && TLS_CODES.test(e.code)) {
    return new FlashlineError('download', 'tls', `TLS verification of ${url.host} failed (${e.code}: ${e.message}); if the server uses a private CA, give it in \`ca\``)
  }
  if (e.code === 'ENOTFOUND' || e.code === 'EAI_AGAIN') return new FlashlineError('download', 'network', `cannot resolve the package host ${url.hostname} (${e.code}); check the network or DNS`)
  return new Retryable(`${e.code ?? ''} ${e.message}`.trim())
}

/**
 * Streams the body into the sink (a worker writes 512 KiB batches to the partial file and hashes
 * them, leaving this thread to TLS). Everything received is on disk and hashed before this settles,
 * so a retry resumes exactly at `state.have`.
 */
function receive(res: GetResponse, part: string, state: DownloadState, options: FetchOptions): Promise<void> {
  return new Promise((resolve, reject) => {
    let lastReport = 0
    let received = state.have
    const expected = state.total
    let settled = false
    const sink = state.sink
    const finish = (err?: Error): void => {
      if (settled) return
      settled = true
      // whatever arrived is on disk and hashed before we settle, so a retry resumes exactly after it
      sink.settle().then(
        () => {
          state.have = sink.written
          if (err) reject(err)
          else resolve()
        },
        (e: Error) => reject(e instanceof FlashlineError ? e : new FlashlineError('download', 'disk', `cannot write the package to ${part}: ${e.message}`))
      )
    }
    res.body({
      data: (chunk) => {
        if (settled) return false
        if (state.limit !== undefined && received + chunk.length > state.limit) {
          // a chunked or close-delimited body has no length to check up front: stop at the first byte too many
          res.discard()
          finish(oversize(state.limit, received + chunk.length))
          return false
        }
        try {
          sink.write(chunk) // copies: the chunk is the socket's reused read buffer
        } catch (e) {
          res.discard()
          finish(e as Error)
          return false
        }
        received += chunk.length
        const now = Date.now()
        if (options.onProgress && (now - lastReport >= 100 || received === expected)) {
          lastReport = now
          const secs = Math.max(0.001, (now - state.started) / 1000)
          options.onProgress({ done: received, total: expected, bytesPerSec: (received - state.startedAt) / secs })
        }
        if (!sink.congested) return true
        void sink.drained().then(() => res.resume())
        return false
      },
      end: (complete) => {
        if (!complete || (expected !== undefined && received < expected)) finish(new Retryable(`connection closed after ${received} of ${expected ?? '?'} bytes`))
        else finish()
      },
      error: (e) => {
        if (options.signal?.aborted) finish(new FlashlineError('interrupted', 'aborted', 'interrupted'))
        else finish(e instanceof Retryable || e instanceof FlashlineError ? e : new Retryable(e.message))
      }
    })
  })
}

function oversize(limit: number, got: number): FlashlineError {
  return new FlashlineError('integrity', 'mismatch', `package size mismatch: expected ${limit} bytes, the server sent more (${got} so far); download stopped, the package was not flashed`, {
    field: 'size',
    expected: String(limit),
    actual: `more than ${limit}`
  })
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(resolve, ms)
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(t)
        reject(new FlashlineError('interrupted', 'aborted', 'interrupted'))
      },
      { once: true }
    )
  })
}
