import { appendFileSync, readdirSync, rmSync } from 'node:fs'
import { createServer, type Socket } from 'node:net'
import { join } from 'node:path'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { FlashlineError } from '../main/engine/errors'
import { parseRecordsDb } from '../main/engine/records/db-target'
import { RECORD_FIELDS, type FlashRecord } from '../main/engine/records/record'
import { Replicator } from '../main/engine/records/replicator'
import { RecordStore } from '../main/engine/records/store'
import { runCli } from './harness/cli'
import { startPostgres, type Postgres } from './harness/postgres'
import { sampleRecord } from './harness/records'
import { tempDir } from './harness/tmp'

async function until(what: string, check: () => boolean, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms
  const holds = () => {
    try {
      return check()
    } catch {
      return false // e.g. the table is not there yet
    }
  }
  while (!holds()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 25))
  }
}

describe('records database URL', () => {
  it('names host, port and database and never shows the password', () => {
    const t = parseRecordsDb('postgresql://bench:s%40cr3t@db.example:6543/trace')
    expect([t.host, t.port, t.database, t.label]).toEqual(['db.example', 6543, 'trace', 'db.example:6543/trace'])
    expect(t.redacted).toBe('postgresql://bench:***@db.example:6543/trace')
    expect(t.redact('auth failed for s@cr3t and s%40cr3t')).toBe('auth failed for *** and ***')
    expect(parseRecordsDb('postgresql:///db?host=/run/postgresql').label).toBe('/run/postgresql:5432/db')
  })

  it('a bad URL is a usage error that does not echo it', () => {
    for (const bad of ['db.example:5432', 'mysql://u:hunter2@h/db', 'postgresql://u:hunter2@h:99999/db']) {
      let err: FlashlineError | undefined
      try {
        parseRecordsDb(bad)
      } catch (e) {
        err = e as FlashlineError
      }
      expect(err?.kind).toBe('usage')
      expect(err?.message).not.toContain('hunter2')
    }
  })
})

describe('a database that never answers', () => {
  it('syncOnce gives up after the connect timeout with records-db-unreachable, and appends stay instant', async () => {
    const sockets: Socket[] = []
    const silent = createServer((s) => sockets.push(s))
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r))
    const port = (silent.address() as { port: number }).port
    const { dir, cleanup } = tempDir()
    try {
      const store = new RecordStore(dir)
      store.append(sampleRecord(1))
      const rep = new Replicator(store, { url: `postgresql://u:topsecret@127.0.0.1:${port}/db`, connectTimeoutMs: 500 })
      const t0 = Date.now()
      const sync = rep.syncOnce().then(
        () => undefined,
        (e: unknown) => e as FlashlineError
      )
      // while the sync hangs on the silent server, the flash side keeps appending without waiting
      const times: number[] = []
      for (let n = 2; n <= 6; n++) {
        const a = performance.now()
        store.append(sampleRecord(n))
        times.push(performance.now() - a)
        await new Promise((r) => setTimeout(r, 20))
      }
      expect(Math.max(...times)).toBeLessThan(50)
      const err = await sync
      const took = Date.now() - t0
      expect(err).toBeInstanceOf(FlashlineError)
      expect(err).toMatchObject({ kind: 'platform', code: 'records-db-unreachable' })
      expect(err!.message).toContain(`127.0.0.1:${port}`)
      expect(err!.message).not.toContain('topsecret')
      expect(took).toBeGreaterThanOrEqual(450)
      expect(took).toBeLessThan(5000)
      expect(rep.pending()).toBe(6)
    } finally {
      for (const s of sockets) s.destroy()
      silent.close()
      cleanup()
    }
  })
})

describe('replication into a real PostgreSQL', () => {
  let pg: Postgres
  beforeAll(async () => {
    pg = await startPostgres()
    console.log(`postgres harness: initdb + start + role in ${pg.startupMs} ms`)
  })
  afterAll(() => pg?.close())
  beforeEach(() => {
    pg.psql('DROP TABLE IF EXISTS flash_records;')
  })

  /** The table as PostgreSQL itself renders it, as JSON (times in UTC), independent of the pg client. */
  const rows = (): Array<Record<string, unknown>> => JSON.parse(pg.psql("SET TimeZone = 'UTC'; SELECT coalesce(json_agg(t ORDER BY job_id), '[]') FROM flash_records t;").trim())
  const count = (): { all: number; distinct: number } => {
    const [all, distinct] = pg.psql('SELECT count(*), count(DISTINCT job_id) FROM flash_records;').trim().split('|').map(Number)
    return { all: all!, distinct: distinct! }
  }
  const secretFree = (text: string) => {
    expect(text).not.toContain(pg.password)
    expect(text).not.toContain(encodeURIComponent(pg.password))
  }

  it('creates flash_records with exactly the record fields as columns and copies every value', async () => {
    const { dir, cleanup } = tempDir()
    try {
      const store = new RecordStore(dir)
      const recs: FlashRecord[] = [
        sampleRecord(1),
        sampleRecord(2, { result: 'failed', reason: 'verify-mismatch', message: 'He said "hi",\nthen left', duplicate: true, retries: 3, package_size: 5_000_000_000 }),
        sampleRecord(3, { origin: 'platform', platform: 'fogcloud', task_id: 't-7', station: null, chip_id: null, flash_ms: null, verify_ms: null, started_at: '2025-06-30T23:59:59.999Z' })
      ]
      for (const r of recs) store.append(r)
      const rep = new Replicator(store, { url: pg.url })
      expect(await rep.syncOnce()).toEqual({ sent: 3, pending: 0 })

      const columns = pg
        .psql("SELECT column_name || ' ' || data_type FROM information_schema.columns WHERE table_name = 'flash_records' ORDER BY ordinal_position;")
        .trim()
        .split('\n')
      expect(columns.map((c) => c.split(' ')[0])).toEqual([...RECORD_FIELDS])
      const type = (f: string) => columns.find((c) => c.startsWith(`${f} `))!.slice(f.length + 1)
      expect(type('job_id')).toBe('text')
      expect(type('duplicate')).toBe('boolean')
      expect(type('started_at')).toBe('timestamp with time zone')
      expect(type('ended_at')).toBe('timestamp with time zone')
      expect(type('duration_ms')).toBe('bigint')
      expect(type('package_size')).toBe('bigint')
      expect(type('retries')).toBe('integer')
      expect(pg.psql("SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) WHERE i.indrelid = 'flash_records'::regclass AND i.indisprimary;").trim()).toBe('job_id')

      const got = rows()
      expect(got).toHaveLength(3)
      got.forEach((row, i) => {
        const want = recs[i]!
        for (const f of RECORD_FIELDS) {
          if (f === 'started_at' || f === 'ended_at') expect(Date.parse(row[f] as string), f).toBe(Date.parse(want[f]))
          else expect(row[f], f).toEqual(want[f])
        }
      })
    } finally {
      cleanup()
    }
  })

  it('outage: appends stay instant and sync exits 6 naming the host, not the password; catch-up: every record exactly once', async () => {
    const { dir, cleanup } = tempDir()
    const warnings: string[] = []
    let rep: Replicator | undefined
    try {
      const store = new RecordStore(dir)
      store.append(sampleRecord(0))
      const first = await runCli(['records', 'sync', '--records-db', pg.url, '--data-dir', dir])
      expect(first.code, first.stderr).toBe(0)
      expect(first.stdout).toBe(`sent 1 record to 127.0.0.1:${pg.port}/records; every record is in\n`)

      pg.stop()
      rep = new Replicator(store, { url: pg.url, retryMinMs: 50, retryMaxMs: 200, onWarning: (m) => warnings.push(m) })
      rep.start()
      const times: number[] = []
      for (let n = 1; n <= 20; n++) {
        const t0 = performance.now()
        store.append(sampleRecord(n)) // the flash side: append, then tell the replicator
        rep.notify()
        times.push(performance.now() - t0)
        await new Promise((r) => setTimeout(r, 10))
      }
      console.log(`append+notify while the database is down: max ${Math.max(...times).toFixed(2)} ms, median ${times.sort((a, b) => a - b)[10]!.toFixed(2)} ms`)
      expect(Math.max(...times)).toBeLessThan(50)
      await until('the unreachable warning', () => warnings.length > 0)
      expect(warnings[0]).toContain(`127.0.0.1:${pg.port}`)
      expect(warnings[0]).toContain('ECONNREFUSED')
      for (const w of warnings) secretFree(w)
      expect(rep.state === 'unreachable' || rep.state === 'sending').toBe(true)
      await rep.stop()
      await expect(rep.syncOnce()).rejects.toMatchObject({ kind: 'platform', code: 'records-db-unreachable' })

      const down = await runCli(['records', 'sync', '--data-dir', dir], { env: { FLASHLINE_RECORDS_DB: pg.url } })
      expect(down.code).toBe(6)
      expect(down.stderr).toContain(`127.0.0.1:${pg.port}`)
      expect(down.stderr).toContain('cannot be reached')
      expect(down.stderr).toContain(`postgresql://${pg.user}:***@127.0.0.1:${pg.port}/records`)
      secretFree(down.stdout + down.stderr)

      pg.start()
      // one of the pending records reached the table some other way already (a sync whose cursor write was lost)
      pg.psql(
        `INSERT INTO flash_records (job_id, origin, port, protocol, duplicate, started_at, ended_at, duration_ms, result, retries, message) VALUES ('job-000007', 'batch', 'p', 'stm32', false, now(), now(), 1, 'succeeded', 0, 'inserted before');`
      )
      const up = await runCli(['records', 'sync', '--records-db', pg.url, '--data-dir', dir])
      expect(up.code, up.stderr).toBe(0)
      expect(up.stdout).toBe(`sent 20 records to 127.0.0.1:${pg.port}/records; every record is in\n`)
      secretFree(up.stdout + up.stderr)
      const ids = Array.from({ length: 21 }, (_, n) => sampleRecord(n).job_id)
      expect(count()).toEqual({ all: 21, distinct: 21 })
      expect(rows().map((r) => r['job_id'])).toEqual(ids)
      // the existing row was left as it was
      expect(pg.psql("SELECT message FROM flash_records WHERE job_id = 'job-000007';").trim()).toBe('inserted before')

      const again = await runCli(['records', 'sync', '--records-db', pg.url, '--data-dir', dir])
      expect(again.code).toBe(0)
      expect(again.stdout).toContain('sent 0 records')
      expect(count()).toEqual({ all: 21, distinct: 21 })

      // losing the acknowledgement cursor (a crash right after COMMIT) resends everything, harmlessly
      for (const f of readdirSync(store.dir)) if (f.startsWith('replicated-')) rmSync(join(store.dir, f))
      const resent = await runCli(['records', 'sync', '--records-db', pg.url, '--data-dir', dir])
      expect(resent.code).toBe(0)
      expect(resent.stdout).toContain('sent 21 records')
      expect(count()).toEqual({ all: 21, distinct: 21 })
    } finally {
      await rep?.stop()
      if (!isUp(pg)) pg.start()
      cleanup()
    }
  })

  it('the background replicator catches up by itself when the database comes back', async () => {
    const { dir, cleanup } = tempDir()
    const warnings: string[] = []
    const rep = new Replicator(new RecordStore(dir), { url: pg.url, retryMinMs: 100, retryMaxMs: 400, onWarning: (m) => warnings.push(m) })
    try {
      const store = new RecordStore(dir)
      pg.stop()
      rep.start()
      for (let n = 1; n <= 5; n++) {
        store.append(sampleRecord(n))
        rep.notify()
      }
      await until('the unreachable warning', () => warnings.length > 0)
      expect(warnings).toHaveLength(1) // one warning per outage, not one per retry
      pg.start()
      await until('the five records in the table', () => count().all === 5)
      await until('the back-again line', () => warnings.length === 2)
      expect(warnings[1]).toBe(`the records database 127.0.0.1:${pg.port}/records is reachable again; 5 record(s) sent`)
      expect(rep.pending()).toBe(0)

      // and later records follow on notify()
      store.append(sampleRecord(6))
      rep.notify()
      await until('the sixth record', () => count().all === 6)
      expect(count()).toEqual({ all: 6, distinct: 6 })
    } finally {
      await rep.stop()
      if (!isUp(pg)) pg.start()
      cleanup()
    }
  })

  it('a torn last line is neither sent nor passed by the cursor; a duplicate job_id in the store lands once', async () => {
    const { dir, cleanup } = tempDir()
    try {
      const store = new RecordStore(dir)
      store.append(sampleRecord(1))
      store.append(sampleRecord(1, { message: 'appended twice' }))
      appendFileSync(store.file, JSON.stringify(sampleRecord(2)).slice(0, 40))
      const warnings: string[] = []
      const rep = new Replicator(store, { url: pg.url, onWarning: (m) => warnings.push(m) })
      expect(await rep.syncOnce()).toEqual({ sent: 2, pending: 0 })
      expect(count()).toEqual({ all: 1, distinct: 1 })
      expect(warnings).toEqual([])

      store.append(sampleRecord(3))
      expect(await rep.syncOnce()).toEqual({ sent: 1, pending: 0 })
      expect(rows().map((r) => r['job_id'])).toEqual(['job-000001', 'job-000003'])
      expect(warnings).toHaveLength(1)
      expect(warnings[0]).toMatch(new RegExp(`records\\.jsonl at byte \\d+: not sent to the records database, the line is not JSON`))
    } finally {
      cleanup()
    }
  })

  it('a wrong password or a table of another shape fails the sync with exit 6, the secret never shown', async () => {
    const { dir, cleanup } = tempDir()
    try {
      new RecordStore(dir).append(sampleRecord(1))
      const wrong = `postgresql://${pg.user}:not-the-Pa55word@127.0.0.1:${pg.port}/records`
      const denied = await runCli(['records', 'sync', '--records-db', wrong, '--data-dir', dir])
      expect(denied.code).toBe(6)
      expect(denied.stderr).toContain('password authentication failed')
      expect(denied.stderr).not.toContain('not-the-Pa55word')

      pg.psql('CREATE TABLE flash_records (job_id integer PRIMARY KEY);')
      const refused = await runCli(['records', 'sync', '--records-db', pg.url, '--data-dir', dir])
      expect(refused.code).toBe(6)
      expect(refused.stderr).toMatch(/refused the records: column "origin" of relation "flash_records" does not exist/)
      secretFree(refused.stderr)
    } finally {
      cleanup()
    }
  })
})

function isUp(pg: Postgres): boolean {
  try {
    pg.psql('SELECT 1;')
    return true
  } catch {
    return false
  }
}
