/**
 * One record per finished job of any origin (a platform order, a local flash, a unit of a batch):
 * who flashed which unit with which package, when, and how it ended. The field names are the
 * columns of the CSV export and of the PostgreSQL table `flash_records`; times are UTC ISO-8601.
 */
export interface FlashRecord {
  job_id: string
  origin: 'platform' | 'local' | 'batch'
  station: string | null
  operator: string | null
  port: string
  usb_serial: string | null
  usb_location: string | null
  protocol: string
  chip: string | null
  /** The unit's own identity: STM32 96-bit UID, ESP MAC, MCUboot image hash, or the USB adapter's serial. */
  chip_id: string | null
  serial_number: string | null
  /** The same unit (chip_id) was seen earlier in the same run. */
  duplicate: boolean
  package: string | null
  package_sha256: string | null
  package_size: number | null
  from_version: string | null
  to_version: string | null
  platform: string | null
  task_id: string | null
  started_at: string
  ended_at: string
  duration_ms: number
  download_ms: number | null
  flash_ms: number | null
  verify_ms: number | null
  result: 'succeeded' | 'failed' | 'cancelled'
  reason: string | null
  message: string | null
  retries: number
  log_file: string | null
}

/** The columns in their documented order (CSV header, table definition). */
export const RECORD_FIELDS = [
  'job_id',
  'origin',
  'station',
  'operator',
  'port',
  'usb_serial',
  'usb_location',
  'protocol',
  'chip',
  'chip_id',
  'serial_number',
  'duplicate',
  'package',
  'package_sha256',
  'package_size',
  'from_version',
  'to_version',
  'platform',
  'task_id',
  'started_at',
  'ended_at',
  'duration_ms',
  'download_ms',
  'flash_ms',
  'verify_ms',
  'result',
  'reason',
  'message',
  'retries',
  'log_file'
] as const satisfies ReadonlyArray<keyof FlashRecord>
