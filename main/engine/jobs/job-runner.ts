import { existsSync } from 'node:fs'
import { asFlashlineError, type FlashlineError } from '../errors'
import { UNKNOWN_VERSION, type FailureReason, type FlashProgress, type FlashResult, type JobPhase, type JobReport } from '../model'
import type { Journal } from '../store/journal'
import { forgetCredentials, isPlatformJob, type JobOutcome, type JobRecord, type PackageOnDisk } from './job-record'

export interface DownloadProgress {
  done: number
  total?: number
  bytesPerSec: number
}

export type JobEvent =
  | { type: 'phase'; job: JobRecord }
  | { type: 'download-progress'; job: JobRecord; progress: DownloadProgress }
  | { type: 'flash-progress'; job: JobRecord; progress: FlashProgress }
  | { type: 'log'; job: JobRecord; message: string; level?: 'info' | 'warn' | 'error' }

export interface FlashOutcome {
  result: FlashResult
  /** The version the device printed after reset, when a probe is configured. */
  probedVersion?: string
}

/** What a job needs from whoever runs it; everything with side effects is injected. */
export interface JobDeps {
  journal: Journal
  /**
   * Queues a report for the platform (persisted before this returns). Platform jobs only: a job
   * without a reporter ends as soon as it has its outcome.
   */
  report?(job: JobRecord, report: JobReport, final: boolean): void
  /** Gets the package onto the disk and proves it: a download for platform jobs, a hash check for local ones. */
  obtain(job: JobRecord, signal: AbortSignal, onProgress: (p: DownloadProgress) => void): Promise<PackageOnDisk>
  flash(job: JobRecord, pkg: PackageOnDisk, signal: AbortSignal, onProgress: (p: FlashProgress) => void, onPhase: (phase: 'proving') => void): Promise<FlashOutcome>
  /** Fills in what is known of the unit before anything else happens (the USB adapter behind the port). */
  describeUnit?(job: JobRecord): Promise<void>
  emit(event: JobEvent): void
}

/** Progress values reported to the platform at each meaningful step. */
const PROGRESS: Record<'downloading' | 'verified' | 'flashing' | 'proving', number> = {
  downloading: 5,
  verified: 30,
  flashing: 40,
  proving: 90
}

/** The reason given to an AbortController when one job is cancelled (as opposed to the whole station stopping). */
export const CANCELLED = 'cancelled by the operator'

export function failureReasonOf(err: FlashlineError): FailureReason {
  switch (err.kind) {
    case 'download':
      return err.code === 'refused' ? 'download-refused' : 'download-timeout'
    case 'integrity':
      return 'verification-failed'
    case 'usage':
      return err.code === 'empty-image' ? 'verification-failed' : 'internal'
    case 'device':
      return err.code === 'version-mismatch' ? 'version-mismatch' : 'install-failed'
    default:
      return 'internal'
  }
}

/**
 * One job, driven through
 * received → downloading (platform) | checking (local) → verified → flashing → proving
 *   → reporting (platform) → succeeded | failed | cancelled.
 * Every transition is journalled before anything else happens, so a killed process resumes from the
 * last phase it reached: downloads resume from their partial file, an interrupted flash is redone
 * from the start (the device state is unknown), and a queued final report is simply resent.
 * A platform job's `run()` ends in 'reporting'; its station moves it to the terminal phase once the
 * platform has acknowledged the final report. Aborting the signal with CANCELLED ends the job as
 * cancelled; any other abort (the station stopping) leaves it to be resumed.
 */
export class JobRunner {
  constructor(
    readonly job: JobRecord,
    private readonly deps: JobDeps
  ) {}

  async run(signal: AbortSignal): Promise<JobRecord> {
    const job = this.job
    if (job.phase === 'reporting' || job.phase === 'succeeded' || job.phase === 'failed' || job.phase === 'cancelled') return job
    job.runs += 1
    try {
      await this.deps.describeUnit?.(job)
      const target = job.order?.targetVersion
      if (target !== undefined && target === job.startVersion && job.phase === 'received') {
        this.log(`device already runs ${target}; nothing to flash`)
        return this.finish({ result: 'succeeded', version: target, message: 'already at the target version' })
      }

      let pkg = job.package
      if (!pkg || !existsSync(pkg.path) || job.phase === 'received' || job.phase === 'downloading' || job.phase === 'checking') {
        this.enter(isPlatformJob(job) ? 'downloading' : 'checking')
        this.progress('downloading')
        pkg = await this.deps.obtain(job, signal, (p) => this.deps.emit({ type: 'download-progress', job, progress: p }))
        job.package = pkg
        this.enter('verified')
        this.progress('verified')
      }

      this.enter('flashing')
      this.progress('flashing')
      const outcome = await this.deps.flash(job, pkg, signal, (p) => this.deps.emit({ type: 'flash-progress', job, progress: p }), () => {
        this.enter('proving')
        this.progress('proving')
      })
      job.identity = outcome.result.identity
      job.bytesFlashed = outcome.result.bytesWritten
      job.verified = outcome.result.verified
      job.probedVersion = outcome.probedVersion

      if (outcome.probedVersion !== undefined && target !== undefined && outcome.probedVersion !== target) {
        return this.finish({
          result: 'failed',
          reason: 'version-mismatch',
          message: `the device booted version "${outcome.probedVersion}" but the order asked for "${target}" (compared exactly)`,
          version: outcome.probedVersion
        })
      }
      // An order without a target version (Wudun) and no probe: the new version is not known, and
      // claiming the old one would be false.
      const version = target ?? outcome.probedVersion ?? UNKNOWN_VERSION
      return this.finish({ result: 'succeeded', version })
    } catch (e) {
      const err = asFlashlineError(e)
      if (err.kind === 'interrupted') {
        // stopped by the operator: this one job ends as cancelled; a whole station stopping resumes it later
        if (signal.reason === CANCELLED) return this.finish({ result: 'cancelled', reason: 'cancelled', message: CANCELLED, version: job.startVersion })
        throw err
      }
      job.error = { kind: err.kind, code: err.code, message: err.message }
      // a flasher that identified the unit before failing says which unit it was
      const identity = err.details?.['identity'] as JobRecord['identity'] | undefined
      if (identity && !job.identity) job.identity = identity
      return this.finish({ result: 'failed', reason: failureReasonOf(err), message: err.message, version: job.startVersion })
    }
  }

  private finish(outcome: JobOutcome): JobRecord {
    const job = this.job
    job.outcome = outcome
    if (this.deps.report && isPlatformJob(job)) {
      const report: JobReport =
        outcome.result === 'succeeded'
          ? { type: 'succeeded', order: job.order, version: outcome.version }
          : {
              type: 'failed',
              order: job.order,
              reason: outcome.reason ?? 'internal',
              message: outcome.message ?? 'failed',
              currentVersion: outcome.version,
              deviceTouched: job.history.some((h) => h.phase === 'flashing')
            }
      this.deps.report(job, report, true)
      forgetCredentials(job)
      this.enter('reporting')
    } else {
      this.enter(outcome.result)
    }
    return job
  }

  private enter(phase: JobPhase): void {
    const job = this.job
    job.phase = phase
    job.updatedAt = Date.now()
    job.history.push({ phase, at: job.updatedAt })
    this.deps.journal.save(job)
    this.deps.emit({ type: 'phase', job })
  }

  private progress(phase: keyof typeof PROGRESS): void {
    const job = this.job
    if (!this.deps.report || !isPlatformJob(job)) return
    this.deps.report(job, { type: 'progress', order: job.order, phase, progress: PROGRESS[phase], currentVersion: job.startVersion }, false)
  }

  private log(message: string): void {
    this.deps.emit({ type: 'log', job: this.job, message })
  }
}
