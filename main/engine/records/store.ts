import { closeSync, constants, fstatSync, fsyncSync, mkdirSync, openSync, readSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { FlashlineError } from '../errors'
import { PRIVATE_DIR_MODE, PRIVATE_FILE_MODE, syncDir } from '../store/atomic-file'
import { decodeRecord, encodeRecord } from './codec'
import { readLines } from './lines'
import type { FlashRecord } from './record'

export interface RecordFilter {
  /** Jobs started at or after this time. */
  since?: Date
  /** Jobs started before this time. */
  until?: Date
  result?: FlashRecord['result']
  origin?: FlashRecord['origin']
  /** Compared without regard to case (hex UIDs and MACs are written both ways). */
  chipId?: string
  serialNumber?: string
}

export interface RecordQuery {
  records: FlashRecord[]
  /** Lines that were skipped, each naming the file and line and why. */
  warnings: string[]
}

export const RECORDS_FILE = 'records.jsonl'

/**
 * The traceability records of a data dir: `<dataDir>/records/records.jsonl`, one JSON line per finished
 * job, only ever appended to. Several processes may append at once: each append is one O_APPEND write
 * of a whole line, then fsync, so lines never interleave and an acknowledged append survives a crash.
 * A process killed mid-write can at worst leave its own last line torn: readers skip it with a warning,
 * and the next append starts on a fresh line, so no other record is ever lost.
 */
export class RecordStore {
  readonly dir: string
  readonly file: string

  constructor(readonly dataDir: string) {
    this.dir = join(dataDir, 'records')
    this.file = join(this.dir, RECORDS_FILE)
  }

  /** Durably appends one record; throws a FlashlineError when the record is invalid or cannot be written. */
  append(record: FlashRecord): void {
    let line: string
    try {
      line = encodeRecord(record)
    } catch (e) {
      throw new FlashlineError('internal', 'bad-record', (e as Error).message)
    }
    try {
      this.ensureDir()
      // O_RDWR (not O_WRONLY) so the last byte can be read to see whether the file ends torn.
      const fd = openSync(this.file, constants.O_RDWR | constants.O_APPEND | constants.O_CREAT, PRIVATE_FILE_MODE)
      try {
        const size = fstatSync(fd).size
        const data = Buffer.from((size > 0 && !endsWithNewline(fd, size) ? '\n' : '') + line + '\n')
        const written = writeSync(fd, data)
        if (written !== data.length) throw Object.assign(new Error(`only ${written} of ${data.length} bytes were written`), { code: 'ENOSPC' })
        fsyncSync(fd)
        if (size === 0) syncDir(this.dir)
      } finally {
        closeSync(fd)
      }
    } catch (e) {
      throw new FlashlineError('internal', 'records-write-failed', `cannot append the record of job "${record.job_id}" to ${this.file}: ${(e as Error).message}; free space or fix the permissions of the data directory`)
    }
  }

  /** The records that pass `filter`, in the order they were appended, and the lines that were skipped. */
  query(filter: RecordFilter = {}): RecordQuery {
    const records: FlashRecord[] = []
    const warnings: string[] = []
    const since = filter.since?.getTime()
    const until = filter.until?.getTime()
    const chipId = filter.chipId?.toLowerCase()
    for (const line of readLines(this.file)) {
      if (line.text.trim() === '') continue
      const decoded = decodeRecord(line.text)
      if (!decoded.ok) {
        warnings.push(
          line.terminated
            ? `${this.file}:${line.lineNo}: skipped a line that is ${decoded.why}`
            : `${this.file}:${line.lineNo}: skipped a torn last line (${line.end - line.start} bytes without an end of line: an append cut short by a crash); the records before it are intact`
        )
        continue
      }
      const r = decoded.record
      const started = Date.parse(r.started_at)
      if (since !== undefined && started < since) continue
      if (until !== undefined && started >= until) continue
      if (filter.result !== undefined && r.result !== filter.result) continue
      if (filter.origin !== undefined && r.origin !== filter.origin) continue
      if (chipId !== undefined && r.chip_id?.toLowerCase() !== chipId) continue
      if (filter.serialNumber !== undefined && r.serial_number !== filter.serialNumber) continue
      records.push(r)
    }
    return { records, warnings }
  }

  private ensureDir(): void {
    try {
      // Not recursive: the data dir itself is made (and checked) by prepareDataDir.
      mkdirSync(this.dir, { mode: PRIVATE_DIR_MODE })
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e
    }
  }
}

function endsWithNewline(fd: number, size: number): boolean {
  const b = Buffer.alloc(1)
  return readSync(fd, b, 0, 1, size - 1) === 1 && b[0] === 0x0a
}
