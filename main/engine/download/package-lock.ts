import { randomBytes } from 'node:crypto'
import { closeSync, linkSync, openSync, readFileSync, renameSync, statSync, unlinkSync, utimesSync, writeSync } from 'node:fs'
import { hostname } from 'node:os'
import { FlashlineError } from '../errors'

/**
 * One download of a package at a time per data directory, across processes (two agents or an agent
 * and `flashline fetch` sharing a data dir). The lock is a file next to the partial download holding
 * the owner's pid, host and a random token; the owner touches it every second. Another process
 * waits while the owner is alive and the partial file keeps growing, then takes the finished package
 * from the cache. A lock whose owner is gone (its pid is dead on this host, or it has not been
 * touched for STALE_MS) is taken over, and the partial file it guarded is resumed.
 */
export interface LockOwner {
  pid: number
  host: string
  token: string
  since: number
}

export interface LockWait {
  owner: LockOwner | null
  /** Bytes in the owner's partial file now. */
  partialBytes: number
  waitedMs: number
}

export interface LockOptions {
  /** The partial file the lock guards: its growth shows the owner is making progress. */
  partPath: string
  signal?: AbortSignal
  /** Give up waiting when the partial file has not grown for this long. */
  maxStallMs: number
  /** Called when waiting starts and every few seconds while it lasts. */
  onWait?: (w: LockWait) => void
}

const HEARTBEAT_MS = 1000
export const STALE_MS = 30_000
const POLL_MS = 100
const WAIT_REPORT_MS = 5000

/** Tokens of locks this process holds: a lock with our pid but another token is a previous process's. */
const held = new Set<string>()

export class PackageLock {
  /** True when the lock was found taken and this process waited for it. */
  waited = false
  private timer: NodeJS.Timeout | null = null
  private lostHandlers: Array<() => void> = []
  lost = false

  private constructor(
    readonly path: string,
    readonly owner: LockOwner
  ) {}

  static async acquire(path: string, options: LockOptions): Promise<PackageLock> {
    const owner: LockOwner = { pid: process.pid, host: hostname(), token: randomBytes(12).toString('hex'), since: Date.now() }
    const lock = new PackageLock(path, owner)
    let waitStart = 0
    let lastReport = 0
    let lastSize = -1
    let lastGrowth = 0
    let lastOwner = ''
    for (;;) {
      if (options.signal?.aborted) throw new FlashlineError('interrupted', 'aborted', 'interrupted')
      if (tryCreate(path, owner)) {
        held.add(owner.token)
        lock.startHeartbeat()
        return lock
      }
      const found = readLock(path)
      if (!found) continue // released between our attempt and the look: try again at once
      if (isStale(found)) {
        takeOver(path, found)
        continue
      }
      const now = Date.now()
      const size = sizeOf(options.partPath)
      const ownerToken = found.owner?.token ?? ''
      if (!waitStart) {
        waitStart = now
        lastGrowth = now
      }
      lock.waited = true
      if (size !== lastSize || ownerToken !== lastOwner) {
        lastSize = size
        lastOwner = ownerToken
        lastGrowth = now
      }
      if (now - lastGrowth > options.maxStallMs) {
        const who = found.owner ? `pid ${found.owner.pid} on ${found.owner.host}` : 'another process'
        throw new FlashlineError(
          'download',
          'busy',
          `another flashline process (${who}) has been downloading this package into ${options.partPath} without progress for ${Math.round((now - lastGrowth) / 1000)} s; ` +
            `wait for it or stop it (its lock is ${path})`
        )
      }
      if (now - lastReport >= WAIT_REPORT_MS) {
        lastReport = now
        options.onWait?.({ owner: found.owner, partialBytes: Math.max(0, size), waitedMs: now - waitStart })
      }
      await sleep(POLL_MS, options.signal)
    }
  }

  /** Called (once) if another process takes the lock over while we hold it. */
  onLost(handler: () => void): void {
    this.lostHandlers.push(handler)
  }

  private startHeartbeat(): void {
    this.timer = setInterval(() => {
      let found
      try {
        found = readLock(this.path)
      } catch {
        return // unreadable for a moment: judged at the next beat
      }
      if (found?.owner?.token !== this.owner.token) {
        this.lose()
        return
      }
      try {
        const now = new Date()
        utimesSync(this.path, now, now)
      } catch {
        /* judged at the next beat */
      }
    }, HEARTBEAT_MS)
    this.timer.unref()
  }

  private lose(): void {
    if (this.lost) return
    this.lost = true
    this.stopHeartbeat()
    for (const h of this.lostHandlers) h()
  }

  private stopHeartbeat(): void {
    if (this.timer) clearInterval(this.timer)
    this.timer = null
  }

  /** Removes the lock if it is still ours. Safe to call twice. */
  release(): void {
    this.stopHeartbeat()
    held.delete(this.owner.token)
    const found = peekLock(this.path)
    if (found?.owner?.token !== this.owner.token) return
    try {
      unlinkSync(this.path)
    } catch {
      /* already gone */
    }
  }
}

function tryCreate(path: string, owner: LockOwner): boolean {
  let fd: number
  try {
    fd = openSync(path, 'wx')
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    if (code === 'EEXIST') return false
    throw new FlashlineError('download', 'disk', `cannot create the download lock ${path}: ${(e as Error).message}`, code ? { errno: code } : undefined)
  }
  try {
    writeSync(fd, JSON.stringify(owner))
  } catch (e) {
    closeSync(fd)
    unlinkSync(path)
    const code = (e as NodeJS.ErrnoException).code
    throw new FlashlineError('download', 'disk', `cannot write the download lock ${path}: ${(e as Error).message}`, code ? { errno: code } : undefined)
  }
  closeSync(fd)
  return true
}

interface FoundLock {
  /** null while the owner is between creating the file and writing it (or it died there). */
  owner: LockOwner | null
  mtimeMs: number
  ino: number
  dev: number
}

/** The lock as it is now; undefined when there is none. A lock that cannot be read is a disk error, not a reason to spin. */
function readLock(path: string): FoundLock | undefined {
  let st
  let text: string
  try {
    st = statSync(path)
    text = readFileSync(path, 'utf8')
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    if (code === 'ENOENT') return undefined
    throw new FlashlineError('download', 'disk', `cannot read the download lock ${path}: ${(e as Error).message}`, code ? { errno: code } : undefined)
  }
  let owner: LockOwner | null = null
  try {
    const o = JSON.parse(text) as Partial<LockOwner>
    if (typeof o.pid === 'number' && typeof o.host === 'string' && typeof o.token === 'string') owner = o as LockOwner
  } catch {
    owner = null // being written, or its writer died before writing
  }
  return { owner, mtimeMs: st.mtimeMs, ino: st.ino, dev: st.dev }
}

/** readLock for the heartbeat and release, which must never throw. */
function peekLock(path: string): FoundLock | undefined {
  try {
    return readLock(path)
  } catch {
    return undefined
  }
}

function isStale(found: FoundLock): boolean {
  const age = Date.now() - found.mtimeMs
  const o = found.owner
  if (!o) return age > 5000 // the owner died between creating the lock and writing it
  if (o.host === hostname()) {
    if (o.pid === process.pid) return !held.has(o.token) // an earlier process that had our pid
    if (!alive(o.pid)) return true
  }
  // another host, or a live pid that may have been reused: the heartbeat decides
  return age > STALE_MS
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/**
 * Removes a stale lock without removing a fresh one another waiter created meanwhile: the lock is
 * first moved aside (only one process can move a given file) and removed only if the file moved is
 * the one judged stale; otherwise it is put back.
 */
function takeOver(path: string, stale: FoundLock): void {
  const aside = `${path}.${randomBytes(6).toString('hex')}.stale`
  try {
    renameSync(path, aside)
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    if (code === 'ENOENT') return // someone else moved it first
    throw new FlashlineError('download', 'disk', `cannot take over the abandoned download lock ${path}: ${(e as Error).message}`, code ? { errno: code } : undefined)
  }
  try {
    // inode numbers are reused at once (tmpfs, ext4): the token tells a new lock from the stale one
    const moved = peekLock(aside)
    if (moved && moved.ino === stale.ino && moved.dev === stale.dev && moved.owner?.token === stale.owner?.token) return
    try {
      linkSync(aside, path) // a live lock: back where it was (unless yet another one is there now)
    } catch {
      /* its owner notices at its next heartbeat and stops */
    }
  } finally {
    try {
      unlinkSync(aside)
    } catch {
      /* gone */
    }
  }
}

function sizeOf(path: string): number {
  try {
    return statSync(path).size
  } catch {
    return -1
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(t)
      reject(new FlashlineError('interrupted', 'aborted', 'interrupted'))
    }
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}
