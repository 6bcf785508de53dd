import { readFileSync } from 'node:fs'
import { PRIVATE_DIR_MODE, PRIVATE_FILE_MODE, writePrivateFile } from '../engine'

/** Files the host keeps (settings, slots, profiles, secrets) are for the user who runs Flashline only: 0600, written atomically. */
export { PRIVATE_DIR_MODE, PRIVATE_FILE_MODE, writePrivateFile }

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
