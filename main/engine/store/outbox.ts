import { closeSync, existsSync, openSync, readdirSync, readFileSync, rmSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import type { OutboundMessage } from '../model'
import { isDiskFull, mkdirPrivate, PRIVATE_FILE_MODE, syncDir, writeFileAtomic } from './atomic-file'
import { quarantine, type StoreProblem } from './quarantine'
import { firstIssue, outboxEntrySchema } from './schemas'

export interface OutboxEntry {
  id: string
  /** The job this message belongs to, if any (its final report closes the job once acknowledged). */
  jobId?: string
  final?: boolean
  message: OutboundMessage
  queuedAt: number
}

/** Room kept free for reports: released when the disk fills up, so a failure can still be queued. */
const RESERVE_BYTES = 256 * 1024
const RESERVE = '.reserve'

/**
 * Reports waiting for the broker's acknowledgement, one file each, in order.
 * A message leaves the outbox only after a QoS 1 PUBACK; a crash before that resends it on restart.
 * Entries are checked when read: a damaged one is moved to the quarantine folder with a log line,
 * and the queue keeps moving. On a full disk the reserve file is given up for the report; if even
 * that is not enough, the report is kept in memory (and said so) rather than dropped.
 */
export class Outbox {
  private readonly dir: string
  private seq = 0
  /** Reports that could not be written to disk (disk full): sent like the others, lost only if the process dies too. */
  private readonly volatile = new Map<string, OutboxEntry>()

  constructor(
    private readonly dataDir: string,
    private readonly problem: StoreProblem = () => undefined
  ) {
    this.dir = join(dataDir, 'outbox')
    mkdirPrivate(this.dir)
    for (const name of readdirSync(this.dir)) {
      // a temporary file left by a process that died (or ran out of space) mid-write
      if (name.endsWith('.tmp')) rmSync(join(this.dir, name), { force: true })
    }
    for (const name of this.fileNames()) {
      const n = Number.parseInt(name.split('-')[0] ?? '0', 10)
      if (Number.isFinite(n) && n >= this.seq) this.seq = n + 1
    }
    this.keepReserve()
  }

  add(messages: OutboundMessage[], meta: { jobId?: string; final?: boolean } = {}): OutboxEntry[] {
    return messages.map((message, i) => {
      const id = `${String(this.seq++).padStart(12, '0')}-${Date.now().toString(36)}`
      const entry: OutboxEntry = { id, jobId: meta.jobId, final: meta.final && i === messages.length - 1, message, queuedAt: Date.now() }
      this.store(entry)
      return entry
    })
  }

  private store(entry: OutboxEntry): void {
    const file = join(this.dir, `${entry.id}.json`)
    const text = JSON.stringify(entry)
    try {
      writeFileAtomic(file, text)
      return
    } catch (e) {
      if (!isDiskFull(e)) throw e
    }
    this.releaseReserve()
    try {
      writeFileAtomic(file, text)
      this.problem('warn', `the disk is full: the space kept for reports was used for report ${entry.id}; free some space in ${this.dataDir}`)
    } catch (e) {
      if (!isDiskFull(e)) throw e
      this.volatile.set(entry.id, entry)
      this.problem('error', `the disk is full: report ${entry.id} is kept in memory only until the broker acknowledges it; free some space in ${this.dataDir}`)
    }
  }

  /** The oldest pending message (reads no more files than it must: a long outage can queue many). */
  next(): OutboxEntry | undefined {
    return this.read(1)[0]
  }

  /** Pending messages, oldest first. Entries that cannot be used are quarantined, named in the log, and skipped. */
  pending(): OutboxEntry[] {
    return this.read(Infinity)
  }

  private read(limit: number): OutboxEntry[] {
    const volatile = [...this.volatile.values()]
    const out: OutboxEntry[] = []
    for (const name of this.fileNames()) {
      if (out.length >= limit) break
      const file = join(this.dir, name)
      let why: string
      try {
        const parsed = outboxEntrySchema.safeParse(JSON.parse(readFileSync(file, 'utf8')))
        if (parsed.success) {
          out.push(parsed.data)
          continue
        }
        why = firstIssue(parsed.error)
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue
        why = (e as Error).message
      }
      const moved = quarantine(this.dataDir, file)
      this.problem('error', `outbox entry ${file} is not a report that can be sent (${why}); moved to ${moved}, the queue goes on without it`)
    }
    return [...volatile, ...out].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)).slice(0, limit)
  }

  get size(): number {
    return this.fileNames().length + this.volatile.size
  }

  acknowledge(id: string): void {
    if (this.volatile.delete(id)) return
    rmSync(join(this.dir, `${id}.json`), { force: true })
    syncDir(this.dir)
    this.keepReserve()
  }

  /** Frees the space kept for reports (the disk is full); it is taken again after the next acknowledgement. */
  releaseReserve(): void {
    Outbox.releaseReserve(this.dataDir)
  }

  static releaseReserve(dataDir: string): void {
    rmSync(join(dataDir, 'outbox', RESERVE), { force: true })
  }

  private keepReserve(): void {
    const file = join(this.dir, RESERVE)
    if (existsSync(file)) return
    let fd: number | undefined
    try {
      fd = openSync(file, 'w', PRIVATE_FILE_MODE)
      writeSync(fd, Buffer.alloc(RESERVE_BYTES))
    } catch {
      rmSync(file, { force: true }) // no room for it now; tried again after the next acknowledgement
    } finally {
      if (fd !== undefined) closeSync(fd)
    }
  }

  private fileNames(): string[] {
    return readdirSync(this.dir)
      .filter((n) => n.endsWith('.json'))
      .sort()
  }
}
