import { Bench, defaultDataDir, EXPORT_FORMATS, FlashlineError, toCsv, toJsonl, toTable, type FlashRecord, type RecordFilter } from '../../engine'
import { oneOf, parseFlags, str, type Flags } from '../args'
import type { Output } from '../output'

export const RECORDS_HELP = `flashline records [--since T] [--until T] [--result R] [--origin O] [--chip-id X] [--serial S] [--format table|csv|jsonl] [--data-dir DIR]
flashline records sync [--records-db URL] [--data-dir DIR]
  Export the traceability record of every finished flashing job (one per job, any origin).
  --since T / --until T  jobs started at or after T / before T; ISO-8601, e.g. 2025-01-31 or
                 2025-01-31T08:00:00Z (a time without an offset is UTC)
  --result R     succeeded, failed or cancelled
  --origin O     platform, local or batch
  --chip-id X    the unit's own identity (STM32 UID, ESP MAC, …), any case
  --serial S     the unit's serial number
  --format F     table (default), csv (RFC 4180, the header row holds the column names) or jsonl
  --data-dir DIR where the records live (default ${defaultDataDir()})
  sync: send the records the database has not acknowledged yet into its table flash_records
  --records-db URL  postgresql://user:password@host:5432/database (default: $FLASHLINE_RECORDS_DB);
                 exit code 6 when the database cannot be reached`

export async function recordsCommand(argv: string[], makeOutput: (json: boolean) => Output): Promise<number> {
  if (argv[0] === 'sync') return syncCommand(argv.slice(1), makeOutput(false))
  const flags = parseFlags(
    argv,
    {
      since: { type: 'string' },
      until: { type: 'string' },
      result: { type: 'string' },
      origin: { type: 'string' },
      'chip-id': { type: 'string' },
      serial: { type: 'string' },
      format: { type: 'string' },
      'data-dir': { type: 'string' }
    },
    'records'
  )
  const out = makeOutput(false)
  const filter: RecordFilter = {
    since: isoFlag(flags, 'since'),
    until: isoFlag(flags, 'until'),
    result: flags['result'] === undefined ? undefined : oneOf<FlashRecord['result']>(flags, 'result', ['succeeded', 'failed', 'cancelled']),
    origin: flags['origin'] === undefined ? undefined : oneOf<FlashRecord['origin']>(flags, 'origin', ['platform', 'local', 'batch']),
    chipId: str(flags, 'chip-id'),
    serialNumber: str(flags, 'serial')
  }
  if (filter.since && filter.until && filter.since >= filter.until) throw new FlashlineError('usage', 'bad-range', `--since (${filter.since.toISOString()}) must be before --until (${filter.until.toISOString()})`)
  const format = oneOf(flags, 'format', EXPORT_FORMATS, 'table')
  const bench = new Bench({ dataDir: str(flags, 'data-dir') ?? defaultDataDir() })
  const { records, warnings } = bench.queryRecords(filter)
  await bench.close()
  for (const w of warnings) out.error(`warning: ${w}`)
  await write(format === 'csv' ? toCsv(records) : format === 'jsonl' ? toJsonl(records) : toTable(records))
  return 0
}

async function syncCommand(argv: string[], out: Output): Promise<number> {
  const flags = parseFlags(argv, { 'records-db': { type: 'string' }, 'data-dir': { type: 'string' } }, 'records sync')
  const fromFlag = str(flags, 'records-db')
  const url = fromFlag ?? process.env['FLASHLINE_RECORDS_DB']
  if (!url) throw new FlashlineError('usage', 'missing-flag', '--records-db is required (or set FLASHLINE_RECORDS_DB): postgresql://user:password@host:5432/database')
  const bench = new Bench({ dataDir: str(flags, 'data-dir') ?? defaultDataDir() })
  bench.on('log', (l) => l.source === 'records' && out.error(`warning: ${l.message}`))
  try {
    const { sent, pending, target } = await bench.syncRecords({ url, source: fromFlag ? '--records-db' : 'FLASHLINE_RECORDS_DB' })
    out.info(`sent ${sent} record${sent === 1 ? '' : 's'} to ${target}; ${pending ? `${pending} appended meanwhile, left for the next sync` : 'every record is in'}`)
  } finally {
    await bench.close()
  }
  return 0
}

const ISO_TIME = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/i

/** An ISO-8601 date or date-time flag; one without an offset is taken as UTC. */
function isoFlag(flags: Flags, name: string): Date | undefined {
  const v = str(flags, name)
  if (v === undefined) return undefined
  const m = ISO_TIME.exec(v)
  let t = Number.NaN
  if (m) {
    const [, y, mo, d, h, mi, s, zone] = m
    const dayOk = new Date(Date.UTC(Number(y), Number(mo) - 1, Number(d))).getUTCDate() === Number(d) && Number(mo) >= 1 && Number(mo) <= 12
    const timeOk = h === undefined || (Number(h) < 24 && Number(mi) < 60 && Number(s ?? 0) < 60)
    const zoneOk = zone === undefined || /^z$/i.test(zone) || (Number(zone.slice(1, 3)) <= 14 && Number(zone.slice(-2)) < 60)
    if (dayOk && timeOk && zoneOk) {
      const base = v.replace(' ', 'T').replace(/([+-]\d{2})(\d{2})$/, '$1:$2')
      t = Date.parse(h === undefined ? `${base}T00:00:00Z` : zone === undefined ? `${base}Z` : base.replace(/z$/, 'Z'))
    }
  }
  if (Number.isNaN(t)) throw new FlashlineError('usage', 'bad-time', `--${name} must be an ISO-8601 date or time such as 2025-01-31 or 2025-01-31T08:00:00Z, got "${v}"`)
  return new Date(t)
}

/** Writes to stdout and waits until it is handed over, so a piped export is never cut short by the exit. */
function write(text: string): Promise<void> {
  return new Promise((resolve, reject) => process.stdout.write(text, (e) => (e ? reject(e) : resolve())))
}
