import { chmodSync, closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs'
import { dirname } from 'node:path'

/** Folders under the data dir hold tokens, reports and device records: only the station user may read them. */
export const PRIVATE_DIR_MODE = 0o700
export const PRIVATE_FILE_MODE = 0o600

export function mkdirPrivate(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR_MODE })
}

/**
 * Writes a file so that a crash leaves either the old or the new content, never a torn one. When the
 * write fails (a full disk), the temporary file is removed again and the error is thrown.
 */
export function writeFileAtomic(path: string, data: string | Buffer): void {
  mkdirPrivate(dirname(path))
  const tmp = `${path}.${process.pid}.tmp`
  try {
    const fd = openSync(tmp, 'w', PRIVATE_FILE_MODE)
    try {
      writeSync(fd, typeof data === 'string' ? Buffer.from(data) : data)
      fsyncSync(fd)
    } finally {
      closeSync(fd)
    }
    // a temporary file left behind by a crash keeps the mode it was created with: make sure it is private
    chmodSync(tmp, PRIVATE_FILE_MODE)
    renameSync(tmp, path)
  } catch (e) {
    rmSync(tmp, { force: true })
    throw e
  }
  syncDir(dirname(path))
}

export function syncDir(dir: string): void {
  try {
    const fd = openSync(dir, 'r')
    try {
      fsyncSync(fd)
    } finally {
      closeSync(fd)
    }
  } catch {
    // Directories cannot be opened for fsync on Windows; rename is already durable enough there.
  }
}

/** True for the errors a full disk or an exhausted quota gives. */
export function isDiskFull(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException | undefined)?.code
  return code === 'ENOSPC' || code === 'EDQUOT'
}
