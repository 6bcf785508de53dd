import { z } from 'zod'
import { firstIssue } from '../store/schemas'
import { RECORD_FIELDS, type FlashRecord } from './record'

const text = z.string()
const optionalText = z.string().nullable()
const millis = z.number().int().nonnegative()
const time = z.iso.datetime({ offset: true })

/** What a stored line must be to count as a record (unknown extra keys are dropped). */
export const flashRecordSchema = z.object({
  job_id: z.string().min(1),
  origin: z.enum(['platform', 'local', 'batch']),
  station: optionalText,
  operator: optionalText,
  port: text,
  usb_serial: optionalText,
  usb_location: optionalText,
  protocol: text,
  chip: optionalText,
  chip_id: optionalText,
  serial_number: optionalText,
  duplicate: z.boolean(),
  package: optionalText,
  package_sha256: optionalText,
  package_size: millis.nullable(),
  from_version: optionalText,
  to_version: optionalText,
  platform: optionalText,
  task_id: optionalText,
  started_at: time,
  ended_at: time,
  duration_ms: millis,
  download_ms: millis.nullable(),
  flash_ms: millis.nullable(),
  verify_ms: millis.nullable(),
  result: z.enum(['succeeded', 'failed', 'cancelled']),
  reason: optionalText,
  message: optionalText,
  retries: z.number().int().nonnegative(),
  log_file: optionalText
})

// The schema and the interface must describe the same thing: this line stops compiling when they drift.
type Same<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false
const schemaMatchesType: Same<z.infer<typeof flashRecordSchema>, FlashRecord> = true
void schemaMatchesType

export type Decoded = { ok: true; record: FlashRecord } | { ok: false; why: string }

/** One stored line back into a record, or why it is not one. */
export function decodeRecord(line: string): Decoded {
  let raw: unknown
  try {
    raw = JSON.parse(line)
  } catch (e) {
    return { ok: false, why: `not JSON (${(e as Error).message})` }
  }
  const parsed = flashRecordSchema.safeParse(raw)
  if (!parsed.success) return { ok: false, why: `not a flash record (${firstIssue(parsed.error)})` }
  return { ok: true, record: ordered(parsed.data) }
}

/**
 * The stored line for a record (no trailing newline): times as UTC ISO-8601, millisecond durations
 * rounded to whole numbers (the table stores them as integers), fields in the documented order.
 * Throws naming the first bad field when the record is not valid.
 */
export function encodeRecord(record: FlashRecord): string {
  const normal: FlashRecord = {
    ...record,
    started_at: utc(record.started_at),
    ended_at: utc(record.ended_at),
    duration_ms: whole(record.duration_ms),
    download_ms: record.download_ms === null ? null : whole(record.download_ms),
    flash_ms: record.flash_ms === null ? null : whole(record.flash_ms),
    verify_ms: record.verify_ms === null ? null : whole(record.verify_ms)
  }
  const parsed = flashRecordSchema.safeParse(normal)
  if (!parsed.success) throw new Error(`the record of job "${String(record.job_id)}" is not valid: ${firstIssue(parsed.error)}`)
  return JSON.stringify(ordered(parsed.data))
}

function ordered(r: FlashRecord): FlashRecord {
  const out: Record<string, unknown> = {}
  for (const f of RECORD_FIELDS) out[f] = r[f]
  return out as unknown as FlashRecord
}

/** A parseable time as UTC ISO-8601 (…Z); anything else is left for the schema to reject. */
function utc(t: string): string {
  const ms = typeof t === 'string' ? Date.parse(t) : Number.NaN
  return Number.isNaN(ms) ? t : new Date(ms).toISOString()
}

function whole(n: number): number {
  return typeof n === 'number' && Number.isFinite(n) ? Math.round(n) : n
}
