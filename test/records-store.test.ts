import { spawn } from 'node:child_process'
import { appendFileSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { FlashlineError } from '../main/engine/errors'
import { RECORD_FIELDS } from '../main/engine/records/record'
import { RecordStore } from '../main/engine/records/store'
import { sampleRecord } from './harness/records'
import { tempDir } from './harness/tmp'

const REPO = resolve(__dirname, '..')

/** Waits for a child's 'close' (its output is then complete), with a deadline. */
function closed(child: ReturnType<typeof spawn>, ms: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((res, rej) => {
    const timer = setTimeout(() => rej(new Error(`child did not close within ${ms} ms`)), ms)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      res({ code, signal })
    })
  })
}

/** A child process that appends records to `dataDir` through the real store: `count` of them, or forever when count is 0. */
function appender(dataDir: string, prefix: string, count: number, messageBytes: number) {
  const script = join(dataDir, `${prefix}-append.ts`)
  writeFileSync(
    script,
    `import { RecordStore } from ${JSON.stringify(join(REPO, 'main/engine/records/store.ts'))}
import { sampleRecord } from ${JSON.stringify(join(REPO, 'test/harness/records.ts'))}
const store = new RecordStore(${JSON.stringify(dataDir)})
const message = 'x'.repeat(${messageBytes})
for (let n = 0; ${count} === 0 || n < ${count}; n++) {
  store.append(sampleRecord(n, { job_id: '${prefix}-' + n, message }))
  if (n === 0) process.stdout.write('first\\n')
}
`
  )
  const child = spawn(process.execPath, ['--import', 'tsx', script], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] })
  let stderr = ''
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()))
  return { child, stderr: () => stderr }
}

describe('RecordStore: append and query', () => {
  it('reads back every field in order, in a private folder and file', () => {
    const { dir, cleanup } = tempDir()
    try {
      const store = new RecordStore(dir)
      const a = sampleRecord(1, { message: 'line one\nline "two", with a comma', duplicate: true, platform: 'iotda', task_id: 't-1' })
      store.append(a)
      store.append(sampleRecord(2))
      const { records, warnings } = store.query({})
      expect(warnings).toEqual([])
      expect(records).toEqual([a, sampleRecord(2)])
      expect(Object.keys(records[0]!)).toEqual([...RECORD_FIELDS])
      expect(statSync(join(dir, 'records')).mode & 0o777).toBe(0o700)
      expect(statSync(join(dir, 'records', 'records.jsonl')).mode & 0o777).toBe(0o600)
      // one JSON line per record, nothing else
      const lines = readFileSync(join(dir, 'records', 'records.jsonl'), 'utf8').split('\n')
      expect(lines).toHaveLength(3)
      expect(lines[2]).toBe('')
      expect(JSON.parse(lines[1]!).job_id).toBe('job-000002')
    } finally {
      cleanup()
    }
  })

  it('stores times as UTC ISO-8601 and durations as whole milliseconds', () => {
    const { dir, cleanup } = tempDir()
    try {
      const store = new RecordStore(dir)
      store.append(sampleRecord(1, { started_at: '2025-03-01T10:00:00+02:00', ended_at: '2025-03-01T10:00:01.5+02:00', duration_ms: 1500.4, flash_ms: 999.6 }))
      const [r] = store.query().records
      expect(r!.started_at).toBe('2025-03-01T08:00:00.000Z')
      expect(r!.ended_at).toBe('2025-03-01T08:00:01.500Z')
      expect(r!.duration_ms).toBe(1500)
      expect(r!.flash_ms).toBe(1000)
    } finally {
      cleanup()
    }
  })

  it('refuses an invalid record naming the field, and writes nothing', () => {
    const { dir, cleanup } = tempDir()
    try {
      const store = new RecordStore(dir)
      let err: unknown
      try {
        store.append(sampleRecord(1, { result: 'maybe' as never }))
      } catch (e) {
        err = e
      }
      expect(err).toBeInstanceOf(FlashlineError)
      expect((err as FlashlineError).code).toBe('bad-record')
      expect((err as Error).message).toMatch(/job "job-000001".*result/)
      expect(() => store.append(sampleRecord(2, { started_at: 'yesterday' }))).toThrow(/started_at/)
      expect(store.query()).toEqual({ records: [], warnings: [] })
    } finally {
      cleanup()
    }
  })

  it('filters by time range, result, origin, chip id (any case) and serial number', () => {
    const { dir, cleanup } = tempDir()
    try {
      const store = new RecordStore(dir)
      // sampleRecord(n) starts at 2025-01-01T08:00Z + n minutes
      store.append(sampleRecord(0))
      store.append(sampleRecord(1, { result: 'failed', reason: 'verify-mismatch', origin: 'platform' }))
      store.append(sampleRecord(2, { result: 'cancelled', origin: 'local', chip_id: 'AABBCCDDEEFF' }))
      store.append(sampleRecord(3, { serial_number: 'SN-X' }))
      const ids = (f: Parameters<RecordStore['query']>[0]) => store.query(f).records.map((r) => r.job_id.slice(-1))
      expect(ids({})).toEqual(['0', '1', '2', '3'])
      expect(ids({ since: new Date('2025-01-01T08:01:00Z') })).toEqual(['1', '2', '3'])
      expect(ids({ until: new Date('2025-01-01T08:02:00Z') })).toEqual(['0', '1'])
      expect(ids({ since: new Date('2025-01-01T08:01:00Z'), until: new Date('2025-01-01T08:03:00Z') })).toEqual(['1', '2'])
      expect(ids({ result: 'failed' })).toEqual(['1'])
      expect(ids({ result: 'succeeded' })).toEqual(['0', '3'])
      expect(ids({ origin: 'local' })).toEqual(['2'])
      expect(ids({ origin: 'batch' })).toEqual(['0', '3'])
      expect(ids({ chipId: 'aabbccddeeff' })).toEqual(['2'])
      expect(ids({ serialNumber: 'SN-X' })).toEqual(['3'])
      expect(ids({ serialNumber: 'sn-x' })).toEqual([])
      expect(ids({ result: 'failed', origin: 'batch' })).toEqual([])
    } finally {
      cleanup()
    }
  })

  it('a data dir without records has none, and no warning', () => {
    const { dir, cleanup } = tempDir()
    try {
      expect(new RecordStore(dir).query()).toEqual({ records: [], warnings: [] })
    } finally {
      cleanup()
    }
  })
})

describe('RecordStore: crashes never cost an earlier record', () => {
  it('skips a torn last line with a warning naming file and line, and the next append starts on a fresh line', () => {
    const { dir, cleanup } = tempDir()
    try {
      const store = new RecordStore(dir)
      for (let n = 1; n <= 3; n++) store.append(sampleRecord(n))
      const torn = JSON.stringify(sampleRecord(4)).slice(0, 57)
      appendFileSync(store.file, torn)
      const before = store.query()
      expect(before.records.map((r) => r.job_id)).toEqual(['job-000001', 'job-000002', 'job-000003'])
      expect(before.warnings).toHaveLength(1)
      expect(before.warnings[0]).toContain(`${store.file}:4:`)
      expect(before.warnings[0]).toMatch(/torn last line \(57 bytes/)

      store.append(sampleRecord(5))
      const after = store.query()
      expect(after.records.map((r) => r.job_id)).toEqual(['job-000001', 'job-000002', 'job-000003', 'job-000005'])
      expect(after.records[3]).toEqual(sampleRecord(5))
      // the torn bytes now sit alone on line 4; record 5 is whole on line 5
      expect(after.warnings).toEqual([expect.stringMatching(new RegExp(`^${store.file.replace(/[.]/g, '\\.')}:4: skipped a line that is not JSON`))])
      const lines = readFileSync(store.file, 'utf8').split('\n')
      expect(lines[3]).toBe(torn)
      expect(JSON.parse(lines[4]!)).toEqual(sampleRecord(5))
    } finally {
      cleanup()
    }
  })

  it('skips a line that is JSON but not a record, naming the field', () => {
    const { dir, cleanup } = tempDir()
    try {
      const store = new RecordStore(dir)
      store.append(sampleRecord(1))
      appendFileSync(store.file, JSON.stringify({ ...sampleRecord(2), duplicate: 'no' }) + '\n{}\n')
      store.append(sampleRecord(3))
      const { records, warnings } = store.query()
      expect(records.map((r) => r.job_id)).toEqual(['job-000001', 'job-000003'])
      expect(warnings).toHaveLength(2)
      expect(warnings[0]).toMatch(/:2: skipped a line that is not a flash record \(duplicate: /)
      expect(warnings[1]).toMatch(/:3: skipped a line that is not a flash record \(job_id: /)
    } finally {
      cleanup()
    }
  })

  it('two processes appending at once interleave whole lines only', async () => {
    const { dir, cleanup } = tempDir()
    try {
      const a = appender(dir, 'a', 150, 9000)
      const b = appender(dir, 'b', 150, 9000)
      const [ra, rb] = await Promise.all([closed(a.child, 60_000), closed(b.child, 60_000)])
      expect(ra.code, a.stderr()).toBe(0)
      expect(rb.code, b.stderr()).toBe(0)
      const { records, warnings } = new RecordStore(dir).query()
      expect(warnings).toEqual([])
      expect(records).toHaveLength(300)
      for (const p of ['a', 'b']) expect(records.filter((r) => r.job_id.startsWith(`${p}-`)).map((r) => r.job_id)).toEqual(Array.from({ length: 150 }, (_, n) => `${p}-${n}`))
    } finally {
      cleanup()
    }
  })

  it('kill -9 of a process appending in a loop loses no acknowledged record, and a new append works', async () => {
    const { dir, cleanup } = tempDir()
    try {
      const store = new RecordStore(dir)
      // 1 MB lines span many pages, so the kill can land inside a write and leave a torn line (Linux
      // stops a write to a regular file between pages when a fatal signal is pending)
      const { child, stderr } = appender(dir, 'k', 0, 1_000_000)
      const started = new Promise<void>((res) => child.stdout!.once('data', () => res()))
      const done = closed(child, 60_000)
      await started
      const deadline = Date.now() + 30_000
      while (statSync(store.file).size < 20 * 1_000_000) {
        if (Date.now() > deadline) throw new Error(`the appender wrote only ${statSync(store.file).size} bytes in 30 s\n${stderr()}`)
        await new Promise((r) => setTimeout(r, 20))
      }
      child.kill('SIGKILL')
      expect((await done).signal).toBe('SIGKILL')

      const { records, warnings } = store.query()
      expect(records.length).toBeGreaterThanOrEqual(20)
      // every record read back is whole, and none is missing before the last one
      expect(records.map((r) => r.job_id)).toEqual(Array.from({ length: records.length }, (_, n) => `k-${n}`))
      for (const r of records) expect(r.message).toHaveLength(1_000_000)
      // at most the line being written when the kill came may be torn
      expect(warnings.length).toBeLessThanOrEqual(1)
      if (warnings.length) expect(warnings[0]).toMatch(/torn last line/)

      store.append(sampleRecord(999_999))
      const after = store.query()
      expect(after.records.at(-1)).toEqual(sampleRecord(999_999))
      expect(after.records).toHaveLength(records.length + 1)
      expect(after.warnings).toHaveLength(warnings.length)
    } finally {
      cleanup()
    }
  })
})
