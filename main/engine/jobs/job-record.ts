import type { DeviceIdentity, FailureReason, FlashManifest, JobOrigin, JobPhase, PackageExpectation, ProtocolName, UpgradeOrder } from '../model'

export interface PackageOnDisk {
  path: string
  size: number
  sha256: string
  md5?: string
  sum32?: string
  /** Name announced to the device and shown to people (YMODEM block 0, records). */
  name?: string
  /** A multi-part ESP manifest instead of one file (local jobs). */
  manifest?: FlashManifest
}

export interface JobOutcome {
  result: 'succeeded' | 'failed' | 'cancelled'
  reason?: FailureReason
  message?: string
  /** The version the device runs at the end (target on success, the old one on failure). */
  version: string
}

/** What a local or batch job flashes: a file (or an ESP manifest) on this machine, with the digest it must have. */
export interface LocalPackageRequest {
  file?: string
  manifest?: string
  expect?: PackageExpectation
}

/** Who and where, for the records: filled by the bench that runs the job. */
export interface JobContext {
  station?: string
  operator?: string
  serialNumber?: string
  batchId?: string
  usbSerial?: string
  usbLocation?: string
  /** The same unit (chip id) was already flashed earlier in this run. */
  duplicate?: boolean
}

/** A job as persisted in the journal: enough to resume or to report truthfully after a crash. */
export interface JobRecord {
  id: string
  /** Absent in journals written before local jobs existed: those are platform jobs. */
  origin?: JobOrigin
  /** The platform's order (platform jobs only). */
  order?: UpgradeOrder
  /** Local and batch jobs: the package to flash. */
  request?: LocalPackageRequest
  /** Where the job runs: the slot's id, port and protocol. */
  slot?: { id?: string; port: string; protocol: ProtocolName }
  /** A digest of where a platform job's package comes from (URL and token), to tell a retry from a redelivery. */
  sourceKey?: string
  /** The platform connection a platform job belongs to. */
  connectionId?: string
  context?: JobContext
  /** The process running a local job: another process on the same data dir leaves it alone while it lives. */
  owner?: { pid: number; host: string }
  phase: JobPhase
  createdAt: number
  updatedAt: number
  /** Version the device ran when the order arrived. */
  startVersion: string
  package?: PackageOnDisk
  identity?: DeviceIdentity
  bytesFlashed?: number
  /** 'device': the device proved the write (CRC, read-back, MD5, image list); 'none': only sent. */
  verified?: 'device' | 'none'
  probedVersion?: string
  outcome?: JobOutcome
  error?: { kind: string; code: string; message: string }
  /** The order named no checksum and the station allowed it: the package was flashed unverified. */
  unverified?: boolean
  /** How many times the job was (re)started, counting resumes after a restart. */
  runs: number
  /** Failed attempts retried within this job (batch --retries). */
  retries?: number
  history: Array<{ phase: JobPhase; at: number }>
}

/** A platform job: one with an order. */
export type PlatformJob = JobRecord & { order: UpgradeOrder }

export function isPlatformJob(job: JobRecord): job is PlatformJob {
  return job.order !== undefined
}

export const TERMINAL_PHASES: ReadonlySet<JobPhase> = new Set(['succeeded', 'failed', 'cancelled'])

export function isTerminal(job: JobRecord): boolean {
  return TERMINAL_PHASES.has(job.phase)
}

/**
 * Once a job has its outcome its download credentials are of no more use: the bearer token and a
 * presigned URL's query (its signature) are removed before the job is journalled again.
 */
export function forgetCredentials(job: JobRecord): void {
  const source = job.order?.source
  if (!source) return
  delete source.bearerToken
  const q = source.url.search(/[?#]/)
  if (q >= 0) source.url = source.url.slice(0, q)
}
