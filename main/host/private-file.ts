import { chmodSync, closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs'
import { dirname } from 'node:path'

/** Files the host keeps (settings, slots, profiles, secrets) are for the user who runs Flashline only. */
export const PRIVATE_FILE_MODE = 0o600
export const PRIVATE_DIR_MODE = 0o700

/** Writes a file readable by its owner only, atomically: a crash leaves the old or the new content. */
export function writePrivateFile(path: string, data: string | Buffer): void {
  mkdirSync(dirname(path), { recursive: true, mode: PRIVATE_DIR_MODE })
  const tmp = `${path}.${process.pid}.tmp`
  try {
    const fd = openSync(tmp, 'w', PRIVATE_FILE_MODE)
    try {
      writeSync(fd, typeof data === 'string' ? Buffer.from(data) : data)
      fsyncSync(fd)
    } finally {
      closeSync(fd)
    }
    // an existing file keeps the mode it was created with; make sure it is private
    chmodSync(tmp, PRIVATE_FILE_MODE)
    renameSync(tmp, path)
  } catch (e) {
    rmSync(tmp, { force: true })
    throw e
  }
}

/** A JSON file's content, or `fallback` when there is no file yet. A damaged file is an error naming it. */
export function readJsonFile<T>(path: string, fallback: T): T {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return fallback
    throw e
  }
  try {
    return JSON.parse(text) as T
  } catch (e) {
    throw new Error(`${path} is not valid JSON (${(e as Error).message}); fix or remove it`)
  }
}

export function writeJsonFile(path: string, value: unknown): void {
  writePrivateFile(path, JSON.stringify(value, null, 1) + '\n')
}
