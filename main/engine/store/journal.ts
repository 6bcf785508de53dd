import { appendFileSync, mkdirSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { JobRecord } from '../jobs/job-record'
import { writeFileAtomic } from './atomic-file'

/**
 * Where jobs live on disk: the current snapshot of each job (rewritten atomically on every transition)
 * and an append-only history of transitions (records.jsonl) for the technician's records.
 */
export class Journal {
  private readonly jobsDir: string
  private readonly historyFile: string

  constructor(readonly dataDir: string) {
    this.jobsDir = join(dataDir, 'jobs')
    this.historyFile = join(dataDir, 'records.jsonl')
    mkdirSync(this.jobsDir, { recursive: true })
  }

  save(job: JobRecord): void {
    writeFileAtomic(join(this.jobsDir, `${job.id}.json`), JSON.stringify(job, null, 1))
    appendFileSync(this.historyFile, JSON.stringify({ at: new Date().toISOString(), id: job.id, phase: job.phase, deviceId: job.order.deviceId, error: job.error }) + '\n')
  }

  load(id: string): JobRecord | undefined {
    try {
      return JSON.parse(readFileSync(join(this.jobsDir, `${id}.json`), 'utf8')) as JobRecord
    } catch {
      return undefined
    }
  }

  all(): JobRecord[] {
    const out: JobRecord[] = []
    for (const name of readdirSync(this.jobsDir)) {
      if (!name.endsWith('.json')) continue
      try {
        out.push(JSON.parse(readFileSync(join(this.jobsDir, name), 'utf8')) as JobRecord)
      } catch {
        // A torn snapshot cannot happen with atomic writes; anything else unreadable is left for inspection.
      }
    }
    return out.sort((a, b) => a.createdAt - b.createdAt)
  }
}
