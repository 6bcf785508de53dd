import type { DeviceIdentity, FailureReason, JobPhase, UpgradeOrder } from '../model'

export interface PackageOnDisk {
  path: string
  size: number
  sha256: string
  md5?: string
  sum32?: string
}

export interface JobOutcome {
  result: 'succeeded' | 'failed'
  reason?: FailureReason
  message?: string
  /** The version the device runs at the end (target on success, the old one on failure). */
  version: string
}

/** A job as persisted in the journal: enough to resume or to report truthfully after a crash. */
export interface JobRecord {
  id: string
  order: UpgradeOrder
  phase: JobPhase
  createdAt: number
  updatedAt: number
  /** Version the device ran when the order arrived. */
  startVersion: string
  package?: PackageOnDisk
  identity?: DeviceIdentity
  bytesFlashed?: number
  probedVersion?: string
  outcome?: JobOutcome
  error?: { kind: string; code: string; message: string }
  /** The order named no checksum and the station allowed it: the package was flashed unverified. */
  unverified?: boolean
  /** How many times the job was (re)started, counting resumes after a restart. */
  runs: number
  history: Array<{ phase: JobPhase; at: number }>
}

export const TERMINAL_PHASES: ReadonlySet<JobPhase> = new Set(['succeeded', 'failed'])

export function isTerminal(job: JobRecord): boolean {
  return TERMINAL_PHASES.has(job.phase)
}

/**
 * Once a job has its outcome its download credentials are of no more use: the bearer token and a
 * presigned URL's query (its signature) are removed before the job is journalled again.
 */
export function forgetCredentials(job: JobRecord): void {
  const source = job.order.source
  delete source.bearerToken
  const q = source.url.search(/[?#]/)
  if (q >= 0) source.url = source.url.slice(0, q)
}
