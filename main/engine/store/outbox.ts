import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import type { OutboundMessage } from '../model'
import { syncDir, writeFileAtomic } from './atomic-file'

export interface OutboxEntry {
  id: string
  /** The job this message belongs to, if any (its final report closes the job once acknowledged). */
  jobId?: string
  final?: boolean
  message: OutboundMessage
  queuedAt: number
}

/**
 * Reports waiting for the broker's acknowledgement, one file each, in order.
 * A message leaves the outbox only after a QoS 1 PUBACK; a crash before that resends it on restart.
 */
export class Outbox {
  private readonly dir: string
  private seq = 0

  constructor(dataDir: string) {
    this.dir = join(dataDir, 'outbox')
    mkdirSync(this.dir, { recursive: true })
    for (const name of this.fileNames()) {
      const n = Number.parseInt(name.split('-')[0] ?? '0', 10)
      if (Number.isFinite(n) && n >= this.seq) this.seq = n + 1
    }
  }

  add(messages: OutboundMessage[], meta: { jobId?: string; final?: boolean } = {}): OutboxEntry[] {
    return messages.map((message, i) => {
      const id = `${String(this.seq++).padStart(12, '0')}-${Date.now().toString(36)}`
      const entry: OutboxEntry = { id, jobId: meta.jobId, final: meta.final && i === messages.length - 1, message, queuedAt: Date.now() }
      writeFileAtomic(join(this.dir, `${id}.json`), JSON.stringify(entry))
      return entry
    })
  }

  /** Pending messages, oldest first. Unreadable files (torn by a crash mid-write) are skipped and removed. */
  pending(): OutboxEntry[] {
    const out: OutboxEntry[] = []
    for (const name of this.fileNames()) {
      const file = join(this.dir, name)
      try {
        out.push(JSON.parse(readFileSync(file, 'utf8')) as OutboxEntry)
      } catch {
        rmSync(file, { force: true })
      }
    }
    return out
  }

  get size(): number {
    return this.fileNames().length
  }

  acknowledge(id: string): void {
    rmSync(join(this.dir, `${id}.json`), { force: true })
    syncDir(this.dir)
  }

  private fileNames(): string[] {
    return readdirSync(this.dir)
      .filter((n) => n.endsWith('.json'))
      .sort()
  }
}
