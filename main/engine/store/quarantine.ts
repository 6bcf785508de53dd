import { renameSync, rmSync } from 'node:fs'
import { basename, join } from 'node:path'
import { mkdirPrivate } from './atomic-file'

/**
 * Moves a state file that cannot be used (unparseable, wrong shape) out of the way, so it neither
 * blocks the agent nor gets lost: `<dataDir>/quarantine/<name>.<time>`. Returns where it went.
 */
export function quarantine(dataDir: string, file: string): string {
  const dir = join(dataDir, 'quarantine')
  const target = join(dir, `${basename(file)}.${Date.now().toString(36)}`)
  try {
    mkdirPrivate(dir)
    renameSync(file, target)
    return target
  } catch {
    // A file we can neither read nor move must still not block the queue forever.
    rmSync(file, { force: true })
    return '(deleted: it could not be moved)'
  }
}

/** A problem with stored state, for the station's log: never silent. */
export type StoreProblem = (level: 'warn' | 'error', message: string) => void
