import { spawnSync } from 'node:child_process'
import { appendFileSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { RECORD_FIELDS, type FlashRecord } from '../main/engine/records/record'
import { RecordStore } from '../main/engine/records/store'
import { runCli } from './harness/cli'
import { sampleRecord } from './harness/records'
import { tempDir } from './harness/tmp'

/** Python's csv module (RFC 4180 dialect "excel"), a parser that shares nothing with the exporter. */
function parseCsvWithPython(text: string): string[][] {
  const r = spawnSync('python3', ['-c', 'import csv, io, json, sys\nrows = list(csv.reader(io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8", newline=""), strict=True))\nprint(json.dumps(rows))'], {
    input: text,
    encoding: 'utf8'
  })
  if (r.status !== 0) throw new Error(`python3 csv failed: ${r.stderr}`)
  return JSON.parse(r.stdout) as string[][]
}

const tricky = 'He said "hi", then\nleft;\r\nCRC 0x1A2B, ünïcödé ✓'
const records: FlashRecord[] = [
  sampleRecord(1),
  sampleRecord(2, { result: 'failed', reason: 'verify-mismatch', message: tricky, duplicate: true, retries: 2 }),
  sampleRecord(3, { origin: 'platform', platform: 'iotda', task_id: 'task-9', chip_id: 'AA:BB:CC:DD:EE:FF', serial_number: null, from_version: null, download_ms: 800 }),
  sampleRecord(4, { result: 'cancelled', origin: 'local', station: null, operator: null, message: 'stopped by the operator, at 40%' })
]

/** What each CSV field must read as, written out from the record (not from the exporter). */
function expectedRow(r: FlashRecord): string[] {
  return RECORD_FIELDS.map((f) => {
    const v = r[f]
    if (v === null) return ''
    if (typeof v === 'boolean') return v ? 'true' : 'false'
    return String(v)
  })
}

describe('flashline records: export', () => {
  const { dir, cleanup } = tempDir()
  beforeAll(() => {
    const store = new RecordStore(dir)
    for (const r of records) store.append(r)
  })
  afterAll(cleanup)

  it('CSV: a header of exactly the field names, RFC 4180 quoting that a separate parser reads back field for field', async () => {
    const run = await runCli(['records', '--format', 'csv', '--data-dir', dir])
    expect(run.stderr).toBe('')
    expect(run.code).toBe(0)
    const rows = parseCsvWithPython(run.stdout)
    expect(rows[0]).toEqual([...RECORD_FIELDS])
    expect(rows.slice(1)).toEqual(records.map(expectedRow))
    // exact bytes of the quoted field: quotes doubled, the line breaks kept inside the quotes (RFC 4180 §2.6, §2.7)
    expect(run.stdout).toContain(',"He said ""hi"", then\nleft;\r\nCRC 0x1A2B, ünïcödé ✓",')
    expect(run.stdout).toContain(',"stopped by the operator, at 40%",')
    // records end with CRLF (RFC 4180 §2.1), times are UTC ISO-8601
    expect(run.stdout.startsWith(RECORD_FIELDS.join(',') + '\r\n')).toBe(true)
    expect(run.stdout.endsWith('\r\n')).toBe(true)
    expect(run.stdout).toContain(',2025-01-01T08:01:00.000Z,2025-01-01T08:01:12.345Z,')
  })

  it('filters on the command line, and jsonl gives one whole record per line', async () => {
    const run = await runCli(['records', '--format', 'jsonl', '--since', '2025-01-01T08:02:00Z', '--until', '2025-01-01T08:04', '--data-dir', dir])
    expect(run.code).toBe(0)
    const lines = run.stdout.split('\n')
    expect(lines.at(-1)).toBe('')
    expect(lines.slice(0, -1).map((l) => JSON.parse(l))).toEqual([records[1], records[2]])

    const byResult = await runCli(['records', '--format', 'jsonl', '--result', 'cancelled', '--origin', 'local', '--data-dir', dir])
    expect(byResult.stdout.trim().split('\n').map((l) => JSON.parse(l).job_id)).toEqual(['job-000004'])
    const byChip = await runCli(['records', '--format', 'jsonl', '--chip-id', 'aa:bb:cc:dd:ee:ff', '--data-dir', dir])
    expect(byChip.stdout.trim().split('\n').map((l) => JSON.parse(l).job_id)).toEqual(['job-000003'])
    const bySerial = await runCli(['records', '--format', 'csv', '--serial', 'SN4', '--data-dir', dir])
    expect(parseCsvWithPython(bySerial.stdout).map((r) => r[0])).toEqual(['job_id', 'job-000004'])
    const none = await runCli(['records', '--format', 'csv', '--since', '2030-01-01', '--data-dir', dir])
    expect(none.stdout).toBe(RECORD_FIELDS.join(',') + '\r\n')
  })

  it('table: one aligned line per record, a line break in a message cannot break it', async () => {
    const run = await runCli(['records', '--data-dir', dir])
    expect(run.code).toBe(0)
    const lines = run.stdout.split('\n')
    expect(lines.at(-1)).toBe('')
    expect(lines).toHaveLength(records.length + 3)
    const header = lines[0]!
    for (const title of ['STARTED (UTC)', 'RESULT', 'ORIGIN', 'PORT', 'PROTOCOL', 'CHIP ID', 'SERIAL', 'VERSION', 'SECONDS', 'REASON']) expect(header).toContain(title)
    const col = header.indexOf('RESULT')
    expect(lines.slice(1, 5).map((l) => l.slice(col).split(' ')[0])).toEqual(['succeeded', 'failed', 'succeeded', 'cancelled'])
    expect(lines[1]!.startsWith('2025-01-01 08:01:00  ')).toBe(true)
    expect(lines[2]).toContain('verify-mismatch: He said "hi", then left; CRC')
    expect(lines[5]).toBe('4 records (2 succeeded, 1 failed, 1 cancelled)')
  })

  it.each([
    [['--since', 'yesterday'], /--since must be an ISO-8601 date or time .*"yesterday"/],
    [['--until', '2025-02-30'], /--until must be an ISO-8601 date or time .*"2025-02-30"/],
    [['--since', '2025-01-01T25:00:00Z'], /--since must be an ISO-8601/],
    [['--result', 'ok'], /--result must be one of succeeded, failed, cancelled, got "ok"/],
    [['--origin', 'factory'], /--origin must be one of platform, local, batch/],
    [['--format', 'xml'], /--format must be one of table, csv, jsonl/],
    [['--since', '2025-02-01', '--until', '2025-01-01'], /--since .* must be before --until/],
    [['--bogus'], /unknown flag --bogus/]
  ])('%j is a one-line usage error (exit 2)', async (args, message) => {
    const run = await runCli(['records', ...args, '--data-dir', dir])
    expect(run.code).toBe(2)
    expect(run.stdout).toBe('')
    expect(run.stderr.split('\n')).toHaveLength(2)
    expect(run.stderr).toMatch(message)
  })

  it('a torn last line is named on stderr and the export still succeeds', async () => {
    const { dir: d, cleanup: c } = tempDir()
    try {
      const store = new RecordStore(d)
      store.append(records[0]!)
      appendFileSync(store.file, '{"job_id":"job-torn","orig')
      const run = await runCli(['records', '--format', 'jsonl', '--data-dir', d])
      expect(run.code).toBe(0)
      expect(run.stdout.trim().split('\n').map((l) => JSON.parse(l))).toEqual([records[0]])
      expect(run.stderr).toBe(`warning: ${store.file}:2: skipped a torn last line (26 bytes without an end of line: an append cut short by a crash); the records before it are intact\n`)
    } finally {
      c()
    }
  })
})
