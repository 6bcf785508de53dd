import { stringify } from 'csv-stringify/sync'
import { RECORD_FIELDS, type FlashRecord } from './record'

export const EXPORT_FORMATS = ['table', 'csv', 'jsonl'] as const
export type ExportFormat = (typeof EXPORT_FORMATS)[number]

/**
 * RFC 4180 CSV: a header row of the field names, CRLF line ends, fields quoted when they hold a comma,
 * a quote or a line break (quotes doubled). Times are UTC ISO-8601 as stored, booleans true/false,
 * null an empty field.
 */
export function toCsv(records: readonly FlashRecord[]): string {
  return stringify(records as FlashRecord[], {
    header: true,
    columns: [...RECORD_FIELDS],
    record_delimiter: 'windows',
    cast: { boolean: (v) => (v ? 'true' : 'false') }
  })
}

/** One JSON object per line, fields in the documented order. */
export function toJsonl(records: readonly FlashRecord[]): string {
  return records.map((r) => JSON.stringify(r, [...RECORD_FIELDS]) + '\n').join('')
}

interface Column {
  title: string
  max: number
  value: (r: FlashRecord) => string
  right?: boolean
}

const COLUMNS: Column[] = [
  { title: 'STARTED (UTC)', max: 19, value: (r) => r.started_at.replace('T', ' ').slice(0, 19) },
  { title: 'RESULT', max: 9, value: (r) => r.result },
  { title: 'ORIGIN', max: 8, value: (r) => r.origin },
  { title: 'PORT', max: 18, value: (r) => r.port },
  { title: 'PROTOCOL', max: 8, value: (r) => r.protocol },
  { title: 'CHIP ID', max: 26, value: (r) => r.chip_id ?? '' },
  { title: 'DUP', max: 3, value: (r) => (r.duplicate ? 'dup' : '') },
  { title: 'SERIAL', max: 16, value: (r) => r.serial_number ?? '' },
  { title: 'VERSION', max: 21, value: (r) => (r.to_version ? `${r.from_version ?? '?'} -> ${r.to_version}` : '') },
  { title: 'SECONDS', max: 8, value: (r) => (r.duration_ms / 1000).toFixed(1), right: true },
  { title: 'REASON', max: 48, value: (r) => [r.reason, r.message].filter(Boolean).join(': ') }
]

/** A fixed-width table for a terminal: one line per record, long values cut with "…", then a count. */
export function toTable(records: readonly FlashRecord[]): string {
  if (records.length === 0) return 'no records\n'
  const cells = records.map((r) => COLUMNS.map((c) => fit(oneLine(c.value(r)), c.max)))
  const widths = COLUMNS.map((c, i) => Math.max(c.title.length, ...cells.map((row) => row[i]!.length)))
  const line = (row: string[]) =>
    row
      .map((v, i) => (COLUMNS[i]!.right ? v.padStart(widths[i]!) : i === row.length - 1 ? v : v.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd()
  const counts = (['succeeded', 'failed', 'cancelled'] as const).map((k) => `${records.filter((r) => r.result === k).length} ${k}`).join(', ')
  return [line(COLUMNS.map((c) => c.title)), ...cells.map(line), `${records.length} record${records.length === 1 ? '' : 's'} (${counts})`].join('\n') + '\n'
}

/** Control characters (line breaks, tabs, escapes) would break the table or drive the terminal. */
function oneLine(s: string): string {
  return s.replace(/[\u0000-\u001f\u007f-\u009f]+/g, ' ')
}

function fit(s: string, max: number): string {
  return s.length <= max ? s : s.slice(0, max - 1) + '…'
}
