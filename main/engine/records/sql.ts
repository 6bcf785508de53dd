import { RECORD_FIELDS, type FlashRecord } from './record'

export const RECORDS_TABLE = 'flash_records'

/** The PostgreSQL type of each column; the record's fields, one to one. */
const COLUMN_TYPES: Record<keyof FlashRecord, string> = {
  job_id: 'text PRIMARY KEY',
  origin: 'text NOT NULL',
  station: 'text',
  operator: 'text',
  port: 'text NOT NULL',
  usb_serial: 'text',
  usb_location: 'text',
  protocol: 'text NOT NULL',
  chip: 'text',
  chip_id: 'text',
  serial_number: 'text',
  duplicate: 'boolean NOT NULL',
  package: 'text',
  package_sha256: 'text',
  package_size: 'bigint',
  from_version: 'text',
  to_version: 'text',
  platform: 'text',
  task_id: 'text',
  started_at: 'timestamptz NOT NULL',
  ended_at: 'timestamptz NOT NULL',
  duration_ms: 'bigint NOT NULL',
  download_ms: 'bigint',
  flash_ms: 'bigint',
  verify_ms: 'bigint',
  result: 'text NOT NULL',
  reason: 'text',
  message: 'text',
  retries: 'integer NOT NULL',
  log_file: 'text'
}

const quoted = (name: string) => `"${name}"`

export const CREATE_TABLE = `CREATE TABLE IF NOT EXISTS ${RECORDS_TABLE} (\n${RECORD_FIELDS.map((f) => `  ${quoted(f)} ${COLUMN_TYPES[f]}`).join(',\n')}\n)`

/** One statement inserting `rows` records; a record whose job_id is already there is left as it is. */
export function insertStatement(rows: FlashRecord[]): { text: string; values: unknown[] } {
  const values: unknown[] = []
  const tuples = rows.map((r) => `(${RECORD_FIELDS.map((f) => `$${values.push(r[f])}`).join(', ')})`)
  return {
    text: `INSERT INTO ${RECORDS_TABLE} (${RECORD_FIELDS.map(quoted).join(', ')}) VALUES\n${tuples.join(',\n')}\nON CONFLICT (job_id) DO NOTHING`,
    values
  }
}
