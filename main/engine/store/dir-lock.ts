import { closeSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs'
import { hostname } from 'node:os'
import { join } from 'node:path'
import { FlashlineError } from '../errors'
import { isDiskFull, mkdirPrivate, PRIVATE_FILE_MODE } from './atomic-file'

interface LockOwner {
  pid: number
  host: string
  since: string
  what: string
}

/** True while a process with this pid runs on this machine. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/**
 * An exclusive claim on a state directory (one station identity's journal and outbox) across
 * processes: a `lock` file holding the owner's pid. A second process gets a clear refusal; a lock
 * left by a process that died (kill -9, power cut) is taken over. On a full disk `makeRoom` is asked
 * to free space for the few bytes of the owner (a lock that cannot name its owner counts as stale).
 * Returns the release function.
 */
export function lockDir(dir: string, what: string, makeRoom?: () => void): () => void {
  mkdirPrivate(dir)
  const file = join(dir, 'lock')
  const me: LockOwner = { pid: process.pid, host: hostname(), since: new Date().toISOString(), what }
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = openSync(file, 'wx', PRIVATE_FILE_MODE)
      try {
        writeOwner(fd, JSON.stringify(me), makeRoom)
      } finally {
        closeSync(fd)
      }
      let released = false
      return () => {
        if (released) return
        released = true
        try {
          if ((JSON.parse(readFileSync(file, 'utf8')) as LockOwner).pid === process.pid) rmSync(file, { force: true })
        } catch {
          // already gone
        }
      }
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e
    }
    let owner: Partial<LockOwner> = {}
    try {
      owner = JSON.parse(readFileSync(file, 'utf8')) as LockOwner
    } catch {
      // torn or empty: its writer died between creating and writing it
    }
    const sameHost = owner.host === undefined || owner.host === me.host
    if (typeof owner.pid === 'number' && owner.pid !== process.pid && sameHost && alive(owner.pid)) {
      throw new FlashlineError(
        'usage',
        'data-dir-in-use',
        `${owner.what ?? 'this station'} is already being served from ${dir} by another Flashline process (pid ${owner.pid}, since ${owner.since ?? '?'}); stop that process or use another data directory (if no such process runs, delete ${file})`
      )
    }
    if (!sameHost) {
      throw new FlashlineError('usage', 'data-dir-in-use', `${dir} is locked by Flashline on host ${owner.host} (pid ${owner.pid}); a data directory cannot be shared between machines (if that host no longer uses it, delete ${file})`)
    }
    rmSync(file, { force: true }) // left by a process that is gone
  }
  throw new FlashlineError('usage', 'data-dir-in-use', `cannot lock ${dir}: another process keeps claiming it`)
}

function writeOwner(fd: number, text: string, makeRoom?: () => void): void {
  try {
    writeSync(fd, text)
  } catch (e) {
    if (!isDiskFull(e) || !makeRoom) return
    makeRoom()
    try {
      writeSync(fd, text)
    } catch {
      // still full: the lock holds without an owner, and starting up matters more
    }
  }
}
