import { appendFileSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import type { JobRecord } from '../jobs/job-record'
import type { UpgradeOrder } from '../model'
import { mkdirPrivate, PRIVATE_FILE_MODE, writeFileAtomic } from './atomic-file'
import { quarantine, type StoreProblem } from './quarantine'
import { firstIssue, jobRecordSchema, upgradeOrderSchema } from './schemas'

/** A job file that could not be read back: its order, when that part survived, so the job can still be answered. */
export interface LostJob {
  id: string
  file: string
  movedTo: string
  order?: UpgradeOrder
  why: string
}

/**
 * Where jobs live on disk: the current snapshot of each job (rewritten atomically on every transition)
 * and an append-only history of transitions (records.jsonl) for the technician's records.
 */
export class Journal {
  private readonly jobsDir: string
  private readonly historyFile: string

  constructor(
    readonly dataDir: string,
    private readonly problem: StoreProblem = () => undefined
  ) {
    this.jobsDir = join(dataDir, 'jobs')
    this.historyFile = join(dataDir, 'records.jsonl')
    mkdirPrivate(this.jobsDir)
    for (const name of readdirSync(this.jobsDir)) if (name.endsWith('.tmp')) rmSync(join(this.jobsDir, name), { force: true })
  }

  /** Persists the job. A failure (full disk) is reported, not thrown: the job carries on in memory. */
  save(job: JobRecord): void {
    try {
      writeFileAtomic(join(this.jobsDir, `${job.id}.json`), JSON.stringify(job, null, 1))
      appendFileSync(this.historyFile, JSON.stringify({ at: new Date().toISOString(), id: job.id, phase: job.phase, deviceId: job.order?.deviceId, port: job.slot?.port, error: job.error }) + '\n', { mode: PRIVATE_FILE_MODE })
    } catch (e) {
      this.problem('error', `cannot save job ${job.id} (${(e as Error).message}); it goes on, but a crash now would lose its state`)
    }
  }

  load(id: string): JobRecord | undefined {
    try {
      const parsed = jobRecordSchema.safeParse(JSON.parse(readFileSync(join(this.jobsDir, `${id}.json`), 'utf8')))
      return parsed.success ? (parsed.data as unknown as JobRecord) : undefined
    } catch {
      return undefined
    }
  }

  /**
   * Every job, oldest first, and the job files that cannot be used: those are moved to the quarantine
   * folder and returned with their order when it could be read, so the station can report them failed.
   */
  scan(): { jobs: JobRecord[]; lost: LostJob[] } {
    const jobs: JobRecord[] = []
    const lost: LostJob[] = []
    for (const name of readdirSync(this.jobsDir)) {
      if (!name.endsWith('.json')) continue
      const file = join(this.jobsDir, name)
      let raw: unknown
      let why: string
      try {
        raw = JSON.parse(readFileSync(file, 'utf8'))
        const parsed = jobRecordSchema.safeParse(raw)
        if (parsed.success) {
          jobs.push(parsed.data as unknown as JobRecord)
          continue
        }
        why = firstIssue(parsed.error)
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue
        why = (e as Error).message
      }
      const order = upgradeOrderSchema.safeParse((raw as { order?: unknown } | null | undefined)?.order)
      const movedTo = quarantine(this.dataDir, file)
      lost.push({ id: name.slice(0, -'.json'.length), file, movedTo, why, order: order.success ? (order.data as unknown as UpgradeOrder) : undefined })
    }
    return { jobs: jobs.sort((a, b) => a.createdAt - b.createdAt), lost }
  }

  all(): JobRecord[] {
    return this.scan().jobs
  }
}
