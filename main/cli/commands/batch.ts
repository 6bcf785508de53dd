import { Bench, checkSlotSettings, defaultDataDir, EXIT_CODES, FlashlineError, useSimulators, type BatchSummary, type JobInfo, type ProgressInfo, type UnitInfo } from '../../engine'
import { hexDigest, int, parseFlags, str, type Flags } from '../args'
import { flagError, recordsDbFrom, SLOT_OPTIONS, slotFields } from '../config-flags'
import { formatBytes, formatDuration, type Output } from '../output'
import { renderEvents } from '../render'

export const BATCH_HELP = `flashline batch --protocol P (--file F | --manifest M) [--sha256 H | --md5 H]
                (--port PATH --port PATH ... | --watch --match VID:PID[,VID:PID...] [--count N])
                [--concurrency N] [--retries N] [--baud N] [--parity P] [--address A] [--verify MODE] [--entry SEQ]
                [--probe REGEX ...] [--operator NAME] [--station ID] [--records-db URL] [--json] [--data-dir DIR]
  Flash the same package onto many boards at once (a fixture, a production line).
  --port PATH ...    every listed port is a slot; all start at once (up to --concurrency)
  --watch --match VID:PID[,VID:PID...]   station mode: a unit starts when a USB serial port with an allowed
                     VID:PID appears (a port outside the list is never touched); after a unit ends, its port
                     waits for the board to be removed before it takes the next one
  --count N          station mode: stop after N units
  --retries N        retry failures worth retrying (no sync, timeout, port lost), never integrity, size or protection
  The package is hashed once before anything is flashed: a bad hash flashes nothing (exit 4).
  Every unit gets a record (flashline records) with its chip id; a unit seen twice in one run is flagged duplicate.
  Ctrl-C lets running units finish; a second Ctrl-C cancels them.
  Other flags as for flashline flash (--menu-command, --image, --mtu, --unprotect, --protect, --probe-baud, --probe-timeout).
exit codes: 0 every unit succeeded · 2 usage · 4 the package does not match · 5 a unit failed · 130 cancelled`

/** One line per slot, refreshed in place on a terminal. */
class SlotTable {
  private readonly rows = new Map<string, { chip?: string; phase: string; done?: number; total?: number; speed?: number; result?: string; attempt: number }>()
  private drawn = 0
  private last = 0

  constructor(private readonly out: Output) {}

  unit(u: UnitInfo): void {
    const row = this.rows.get(u.port) ?? { phase: 'waiting', attempt: 0 }
    row.attempt = u.attempt
    row.chip = u.chipId ?? row.chip
    if (u.state === 'running') Object.assign(row, { phase: 'starting', result: undefined, done: undefined, total: undefined })
    else if (u.state === 'retrying') row.result = `retry (${u.reason})`
    else row.result = u.state === 'succeeded' ? `PASS${u.duplicate ? ' (duplicate!)' : ''}` : u.state === 'cancelled' ? 'CANCELLED' : `FAIL ${u.reason ?? ''}: ${u.message ?? ''}`
    this.rows.set(u.port, row)
    this.draw(true)
  }

  phase(port: string, phase: string): void {
    const row = this.rows.get(port)
    if (row && !row.result) row.phase = phase
    this.draw(false)
  }

  progress(port: string, p: ProgressInfo): void {
    const row = this.rows.get(port)
    if (!row) return
    Object.assign(row, { phase: p.stage, done: p.done, total: p.total, speed: p.bytesPerSec })
    this.draw(false)
  }

  waiting(port: string): void {
    const row = this.rows.get(port)
    if (row) row.phase = 'remove the board'
    this.draw(true)
  }

  private draw(force: boolean): void {
    const now = Date.now()
    if (!force && now - this.last < 100) return
    this.last = now
    const lines = [...this.rows].map(([port, r]) => {
      const frac = r.result?.startsWith('PASS') ? 1 : r.total ? Math.min(1, (r.done ?? 0) / r.total) : 0
      const bar = r.total || frac ? '#'.repeat(Math.round(frac * 20)).padEnd(20, '.') : ' '.repeat(20)
      const eta = r.total && r.speed ? formatDuration(((r.total - (r.done ?? 0)) / r.speed) || 0) : ''
      const speed = r.speed ? `${formatBytes(r.speed)}/s` : ''
      return `${port.padEnd(16).slice(0, 16)} ${(r.chip ?? '').padEnd(24).slice(0, 24)} ${(r.result ? '' : r.phase).padEnd(16)} [${bar}] ${speed.padStart(11)} ${eta.padStart(6)}  ${r.result ?? ''}`
    })
    this.out.rewrite(lines, this.drawn)
    this.drawn = lines.length
  }
}

function parseMatch(flags: Flags): Array<{ vendorId: string; productId: string }> | undefined {
  const raw = str(flags, 'match')
  if (raw === undefined) return undefined
  return raw.split(',').map((pair) => {
    const m = /^\s*([0-9a-f]{4}):([0-9a-f]{4})\s*$/i.exec(pair)
    if (!m) throw new FlashlineError('usage', 'bad-flag', `--match: "${pair}" is not a USB VID:PID such as 1a86:7523`)
    return { vendorId: m[1]!.toLowerCase(), productId: m[2]!.toLowerCase() }
  })
}

export async function batchCommand(argv: string[], makeOutput: (json: boolean) => Output, signal: AbortSignal): Promise<number> {
  const { port: _port, ...slotOptions } = SLOT_OPTIONS
  const flags = parseFlags(
    argv,
    {
      ...slotOptions,
      port: { type: 'string', multiple: true },
      file: { type: 'string' },
      manifest: { type: 'string' },
      md5: { type: 'string' },
      sha256: { type: 'string' },
      watch: { type: 'boolean' },
      match: { type: 'string' },
      count: { type: 'string' },
      concurrency: { type: 'string' },
      retries: { type: 'string' },
      operator: { type: 'string' },
      station: { type: 'string' },
      'records-db': { type: 'string' },
      json: { type: 'boolean' },
      'data-dir': { type: 'string' }
    },
    'batch'
  )
  const out = makeOutput(Boolean(flags['json']))
  const ports = (flags['port'] as string[] | undefined) ?? []
  const watch = flags['watch'] === true
  const match = parseMatch(flags)
  if (watch && ports.length) throw new FlashlineError('usage', 'conflicting-flags', '--watch and --port cannot be combined: give the fixture ports, or watch for boards as they arrive')
  if (!watch && !ports.length) throw new FlashlineError('usage', 'missing-flag', '--port is required (one per slot), or --watch --match VID:PID for station mode')
  if (watch && !match) throw new FlashlineError('usage', 'missing-flag', '--watch needs --match VID:PID[,VID:PID...]: a port outside the allow-list is never touched')
  if (!watch && (match || flags['count'] !== undefined)) throw new FlashlineError('usage', 'conflicting-flags', `--${match ? 'match' : 'count'} is for station mode (--watch)`)
  const file = str(flags, 'file')
  const manifest = str(flags, 'manifest')
  if ((file === undefined) === (manifest === undefined)) throw new FlashlineError('usage', 'missing-flag', 'give --file (one image) or --manifest (ESP parts), one of them')
  const md5 = hexDigest(flags, 'md5', 32)
  const sha256 = hexDigest(flags, 'sha256', 64)
  // the slot settings shared by every unit, checked once with a placeholder port
  const { port: _p, ...slot } = slotFields({ ...flags, port: ports[0] ?? 'watch' })

  useSimulators()
  const bench = new Bench({ dataDir: str(flags, 'data-dir') ?? defaultDataDir(), station: str(flags, 'station'), operator: str(flags, 'operator'), ...recordsDbFrom(flags) })
  let run
  try {
    checkSlotSettings({ ...slot, port: ports[0] ?? 'watch' })
    run = bench.batch({
      slot,
      file,
      manifest,
      expect: md5 || sha256 ? { md5, sha256 } : undefined,
      ports: watch ? undefined : ports,
      watch: watch ? { match: match!, count: int(flags, 'count', { min: 1 }) } : undefined,
      concurrency: int(flags, 'concurrency', { min: 1, max: 256 }),
      retries: int(flags, 'retries', { min: 0, max: 100 }),
      operator: str(flags, 'operator'),
      station: str(flags, 'station')
    })
  } catch (e) {
    await bench.close()
    throw flagError(e)
  }

  const table = out.json || !out.tty ? undefined : new SlotTable(out)
  if (table) {
    bench.on('job', (j: JobInfo) => j.port && table.phase(j.port, j.phase))
    bench.on('progress', (p) => p.port && table.progress(p.port, p))
  } else renderEvents(bench, out, { jobLogEvent: 'flash-log' })
  run.on('unit', (u) => {
    out.event('batch-unit', { batch: run.id, ...u })
    if (table) table.unit(u)
    else if (u.state !== 'running') out.info(`${u.port}: ${u.state}${u.chipId ? ` (unit ${u.chipId})` : ''}${u.duplicate ? ' — DUPLICATE: this unit was already flashed in this run' : ''}${u.message && u.state !== 'succeeded' ? `: ${u.message}` : ''}`)
  })
  run.on('waiting-removal', ({ port }) => {
    out.event('batch-waiting-removal', { batch: run.id, port })
    if (table) table.waiting(port)
    else out.info(`${port}: remove the board; this port takes the next one once it is gone`)
  })
  run.on('ignored', (p) => {
    out.event('batch-port-ignored', { batch: run.id, ...p })
    out.info(`${p.port} (${p.vendorId ?? '?'}:${p.productId ?? '?'}) is not on the allow-list; not touched`)
  })

  let presses = 0
  let userCancelled = false
  const onInterrupt = () => {
    presses++
    if (presses === 1) {
      out.error('stopping: running units finish; press Ctrl-C again to cancel them')
      run.stop()
    } else {
      userCancelled = true
      run.cancel()
    }
  }
  // the first Ctrl-C also arrives as the command's abort signal; the second only here
  process.on('SIGINT', onInterrupt)
  signal.addEventListener('abort', () => presses === 0 && onInterrupt(), { once: true })
  let summary: BatchSummary
  try {
    await run.start()
    summary = await run.done
  } finally {
    process.off('SIGINT', onInterrupt)
    await bench.close()
  }
  out.clearBar()
  out.event('batch-summary', { ...summary })
  out.info(`\n${summary.passed} passed, ${summary.failed} failed${summary.cancelled ? `, ${summary.cancelled} cancelled` : ''} · yield ${(summary.yield * 100).toFixed(1)} % · ${summary.unitsPerHour.toFixed(0)} units/hour`)
  const duplicates = summary.units.filter((u) => u.duplicate)
  if (duplicates.length) out.info(`duplicates: ${duplicates.map((u) => `${u.chipId} on ${u.port}`).join(', ')}`)
  if (userCancelled) return EXIT_CODES.interrupted
  return summary.failed || summary.cancelled ? EXIT_CODES.device : 0
}
