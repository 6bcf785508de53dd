import { appendFileSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs'
import { join } from 'node:path'
import type { LogLine } from '../engine'

/**
 * The desktop app's log: every line the host passes on (secrets already masked by the host), one per
 * line, in `<dir>/flashline.log` (0600), kept to about `maxBytes`: when it grows past that it becomes
 * flashline.1.log (the older one is dropped).
 */
export function logFileSink(dir: string, maxBytes = 10 * 1024 * 1024): (line: LogLine) => void {
  mkdirSync(dir, { recursive: true, mode: 0o700 })
  const file = join(dir, 'flashline.log')
  let size = 0
  try {
    size = statSync(file).size
  } catch {
    /* new */
  }
  return (l) => {
    const ids = [l.jobId && `job=${l.jobId}`, l.slotId && `slot=${l.slotId}`, l.connectionId && `connection=${l.connectionId}`].filter(Boolean).join(' ')
    const text = `${l.time} ${l.level.toUpperCase().padEnd(5)} ${l.source}${ids ? ` ${ids}` : ''} ${l.message.replace(/\n/g, '\n    ')}\n`
    try {
      if (size + text.length > maxBytes) {
        rmSync(join(dir, 'flashline.1.log'), { force: true })
        renameSync(file, join(dir, 'flashline.1.log'))
        size = 0
      }
      appendFileSync(file, text, { mode: 0o600 })
      size += Buffer.byteLength(text)
    } catch {
      // a log that cannot be written (full disk) must not stop the app
    }
  }
}
