import { readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import pg from 'pg'
import { FlashlineError } from '../errors'
import { writeFileAtomic } from '../store/atomic-file'
import { decodeRecord } from './codec'
import { parseRecordsDb, type RecordsDbTarget } from './db-target'
import { readLines } from './lines'
import type { FlashRecord } from './record'
import { CREATE_TABLE, insertStatement } from './sql'
import type { RecordStore } from './store'

export interface ReplicatorOptions {
  /** postgresql://user:password@host:port/database */
  url: string
  /** Where `url` came from, for usage errors (--records-db, FLASHLINE_RECORDS_DB, the station file). */
  urlSource?: string
  /** A line for the operator (database unreachable, back again, a skipped line). Default: stderr. */
  onWarning?: (message: string) => void
  connectTimeoutMs?: number
  queryTimeoutMs?: number
  /** Background retry delay: doubles from min to max while the database stays unreachable. */
  retryMinMs?: number
  retryMaxMs?: number
  batchSize?: number
}

export interface SyncResult {
  /** Records sent and committed by this call (some may have been in the table already). */
  sent: number
  /** Records in the store the database has not acknowledged yet (appended meanwhile). */
  pending: number
}

export type ReplicatorState = 'stopped' | 'idle' | 'sending' | 'unreachable'

interface Cursor {
  target: string
  offset: number
  at: string
}

/**
 * Copies the local records (the source of truth) into the PostgreSQL table flash_records, at least
 * once: every insert is idempotent (ON CONFLICT (job_id) DO NOTHING) and a cursor file remembers the
 * byte offset up to which the database has committed, written only after the commit, so a restart
 * resends only from there. Nothing here ever blocks or fails an append: the background mode runs on
 * timers, retries with backoff and reports an unreachable database as a warning.
 */
export class Replicator {
  readonly target: RecordsDbTarget
  private readonly cursorFile: string
  private readonly opts: Required<Omit<ReplicatorOptions, 'onWarning' | 'urlSource'>>
  private readonly warn: (message: string) => void
  private chain: Promise<unknown> = Promise.resolve()
  private running = false
  private busy = false
  private again = false
  private timer: NodeJS.Timeout | undefined
  private delay: number
  private lastError: string | undefined

  constructor(
    private readonly store: RecordStore,
    options: ReplicatorOptions
  ) {
    this.target = parseRecordsDb(options.url, options.urlSource)
    this.cursorFile = join(store.dir, `replicated-${this.target.key}.json`)
    this.opts = {
      url: options.url,
      connectTimeoutMs: options.connectTimeoutMs ?? 3000,
      queryTimeoutMs: options.queryTimeoutMs ?? 15_000,
      retryMinMs: options.retryMinMs ?? 1000,
      retryMaxMs: options.retryMaxMs ?? 60_000,
      batchSize: options.batchSize ?? 200
    }
    this.delay = this.opts.retryMinMs
    const sink = options.onWarning ?? ((m: string) => process.stderr.write(`warning: ${m}\n`))
    this.warn = (m) => {
      try {
        sink(m)
      } catch {
        // a failing log sink must not break replication
      }
    }
  }

  get state(): ReplicatorState {
    if (this.busy) return 'sending'
    if (this.lastError !== undefined) return 'unreachable'
    return this.running ? 'idle' : 'stopped'
  }

  /** Starts sending in the background: now, after every notify(), and on retries. Never throws. */
  start(): void {
    if (this.running) return
    this.running = true
    this.schedule(0)
  }

  /** Call after each append: sends soon, unless a retry is already scheduled. Returns at once, never throws. */
  notify(): void {
    if (!this.running) return
    if (this.busy) this.again = true
    else if (this.timer === undefined) this.schedule(0)
  }

  /** Stops the background sending and waits for a send in progress to end. */
  async stop(): Promise<void> {
    this.running = false
    if (this.timer) clearTimeout(this.timer)
    this.timer = undefined
    await this.chain.catch(() => undefined)
  }

  /**
   * Sends every record the database has not acknowledged yet (up to the end of the store as it is now).
   * Rejects with FlashlineError platform/records-db-unreachable when the database cannot be reached,
   * platform/records-db-rejected when it refuses the table or the rows.
   */
  syncOnce(): Promise<SyncResult> {
    const run = this.chain.catch(() => undefined).then(() => this.send())
    this.chain = run
    return run
  }

  /** Records in the store that the database has not acknowledged. */
  pending(): number {
    return this.collect(this.readCursor(), Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER, false).rows.length
  }

  private schedule(ms: number): void {
    this.timer = setTimeout(() => {
      this.timer = undefined
      void this.background()
    }, ms)
    this.timer.unref()
  }

  private async background(): Promise<void> {
    if (!this.running) return
    this.busy = true
    this.again = false
    try {
      const r = await this.syncOnce()
      if (this.lastError !== undefined) this.warn(`the records database ${this.target.label} is reachable again; ${r.sent} record(s) sent`)
      this.lastError = undefined
      this.delay = this.opts.retryMinMs
      this.busy = false
      if (this.running && (this.again || r.pending > 0)) this.schedule(0)
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e)
      // one warning per outage (and when its cause changes), not one per retry
      if (message !== this.lastError) this.warn(`${message}; retrying in the background`)
      this.lastError = message
      this.busy = false
      if (this.running) this.schedule(this.delay)
      this.delay = Math.min(this.delay * 2, this.opts.retryMaxMs)
    }
  }

  private async send(): Promise<SyncResult> {
    const end = fileSize(this.store.file)
    let offset = this.readCursor()
    const client = new pg.Client({
      connectionString: this.opts.url,
      connectionTimeoutMillis: this.opts.connectTimeoutMs,
      query_timeout: this.opts.queryTimeoutMs,
      application_name: 'flashline'
    })
    // An idle connection that drops emits 'error'; without a listener that would crash the process.
    client.on('error', () => undefined)
    try {
      try {
        await client.connect()
      } catch (e) {
        throw this.failure(e, true)
      }
      try {
        await client.query(CREATE_TABLE)
      } catch (e) {
        // two stations creating the table at the same moment: the loser sees a unique violation
        if ((e as { code?: string }).code !== '23505') throw this.failure(e, false)
      }
      let sent = 0
      for (;;) {
        const batch = this.collect(offset, end, this.opts.batchSize, true)
        if (batch.next === offset) break
        if (batch.rows.length) {
          const { text, values } = insertStatement(batch.rows)
          try {
            // one statement: committed as a whole when it returns
            await client.query(text, values)
          } catch (e) {
            throw this.failure(e, false)
          }
        }
        this.writeCursor(batch.next)
        offset = batch.next
        sent += batch.rows.length
      }
      return { sent, pending: this.collect(offset, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER, false).rows.length }
    } finally {
      await client.end().catch(() => undefined)
    }
  }

  /** Up to `max` whole records from `from`, and the offset just past the last line taken. */
  private collect(from: number, end: number, max: number, warn: boolean): { rows: FlashRecord[]; next: number } {
    const rows: FlashRecord[] = []
    let next = from
    for (const line of readLines(this.store.file, from)) {
      // a line without its newline is torn or still being written: leave it for later
      if (!line.terminated || line.end > end || rows.length >= max) break
      next = line.end
      if (line.text.trim() === '') continue
      const decoded = decodeRecord(line.text)
      if (decoded.ok) rows.push(decoded.record)
      else if (warn) this.warn(`${this.store.file} at byte ${line.start}: not sent to the records database, the line is ${decoded.why}`)
    }
    return { rows, next }
  }

  private failure(e: unknown, connecting: boolean): FlashlineError {
    const err = e as Error & { code?: string }
    const detail = this.target.redact(err.message || String(e)) + (err.code && !err.message?.includes(err.code) ? ` (${err.code})` : '')
    // a statement the server refused (SQLSTATE other than connection loss or shutdown) is not an outage
    const refused = !connecting && typeof err.code === 'string' && /^[0-9A-Z]{5}$/.test(err.code) && !/^(08|57)/.test(err.code)
    if (refused) return new FlashlineError('platform', 'records-db-rejected', `the records database ${this.target.label} refused the records: ${detail}; check the table flash_records and the user's rights`)
    return new FlashlineError('platform', 'records-db-unreachable', `the records database ${this.target.host}:${this.target.port} (${this.target.redacted}) cannot be reached: ${detail}; the records stay in ${this.store.file} and are sent once it can be reached`)
  }

  private readCursor(): number {
    let cursor: Cursor
    try {
      cursor = JSON.parse(readFileSync(this.cursorFile, 'utf8')) as Cursor
    } catch {
      return 0
    }
    const offset = cursor.offset
    if (!Number.isSafeInteger(offset) || offset < 0) return 0
    // a cursor past the end, or not at a line start, belongs to another file: send everything again
    if (offset > fileSize(this.store.file) || (offset > 0 && !newlineBefore(this.store.file, offset))) return 0
    return offset
  }

  /** Moves the cursor forward only: another process sending to the same database may be ahead. */
  private writeCursor(offset: number): void {
    if (offset <= this.readCursor()) return
    writeFileAtomic(this.cursorFile, JSON.stringify({ target: this.target.label, offset, at: new Date().toISOString() } satisfies Cursor) + '\n')
  }
}

function fileSize(file: string): number {
  try {
    return statSync(file).size
  } catch {
    return 0
  }
}

function newlineBefore(file: string, offset: number): boolean {
  for (const line of readLines(file, offset - 1)) return line.text === '' && line.terminated
  return false
}
