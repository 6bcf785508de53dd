import type { JobRecord } from '../jobs/job-record'
import type { JobPhase } from '../model'
import type { FlashRecord } from './record'

/** When the job entered `phase` (the first time), from its journalled history. */
function entered(job: JobRecord, ...phases: JobPhase[]): number | undefined {
  return job.history.find((h) => phases.includes(h.phase))?.at
}

function span(from: number | undefined, to: number | undefined): number | null {
  return from !== undefined && to !== undefined && to >= from ? to - from : null
}

const known = (v: string | undefined): string | null => (v && v !== 'unknown' ? v : null)

/** The record of a job that has ended: who flashed which unit with which package, and how it went. */
export function recordOf(job: JobRecord, extra: { logFile: string | null; platform?: string; taskId?: string }): FlashRecord {
  const o = job.outcome
  const ctx = job.context ?? {}
  const end = entered(job, 'succeeded', 'failed', 'cancelled') ?? job.updatedAt
  const obtain = entered(job, 'downloading', 'checking')
  const verified = entered(job, 'verified')
  const flashing = entered(job, 'flashing')
  const proving = entered(job, 'proving')
  const flashEnd = proving ?? entered(job, 'reporting') ?? end
  return {
    job_id: job.id,
    origin: job.origin ?? 'platform',
    station: ctx.station ?? null,
    operator: ctx.operator ?? null,
    port: job.slot?.port ?? '',
    usb_serial: ctx.usbSerial ?? null,
    usb_location: ctx.usbLocation ?? null,
    protocol: job.slot?.protocol ?? '',
    chip: job.identity?.chip ?? null,
    // boards that do not name themselves (YMODEM, MCUboot) are known by their USB adapter's serial number
    chip_id: job.identity?.id ?? ctx.usbSerial ?? null,
    serial_number: ctx.serialNumber ?? null,
    duplicate: ctx.duplicate ?? false,
    package: job.package?.name ?? job.order?.source.fileName ?? null,
    package_sha256: job.package?.sha256 ?? null,
    package_size: job.package?.size ?? null,
    from_version: known(job.startVersion),
    to_version: o?.result === 'succeeded' ? known(o.version) : null,
    platform: extra.platform ?? null,
    task_id: extra.taskId ?? null,
    started_at: new Date(job.createdAt).toISOString(),
    ended_at: new Date(end).toISOString(),
    duration_ms: Math.max(0, end - job.createdAt),
    download_ms: span(obtain, verified),
    flash_ms: span(flashing, flashEnd),
    verify_ms: span(proving, entered(job, 'reporting') ?? end),
    result: o?.result ?? 'failed',
    reason: o?.reason ?? null,
    message: o?.message ?? null,
    retries: job.retries ?? 0,
    log_file: extra.logFile
  }
}
