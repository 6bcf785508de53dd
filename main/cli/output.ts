/**
 * What the CLI prints: newline-delimited JSON events with --json (one object per line on stdout),
 * otherwise human lines on stderr-free stdout and a live progress bar when stdout is a terminal.
 */
export class Output {
  private barShown = false

  constructor(
    readonly json: boolean,
    readonly tty = Boolean(process.stdout.isTTY)
  ) {}

  event(type: string, data: Record<string, unknown> = {}): void {
    if (this.json) process.stdout.write(JSON.stringify({ type, time: new Date().toISOString(), ...data }) + '\n')
  }

  info(line: string): void {
    if (this.json) return
    this.clearBar()
    process.stdout.write(line + '\n')
  }

  error(line: string): void {
    this.clearBar()
    process.stderr.write(line + '\n')
  }

  /** A progress bar with bytes, speed and ETA (TTY only; throttled by the caller's update rate). */
  progress(label: string, done: number, total: number | undefined, bytesPerSec: number): void {
    if (this.json || !this.tty) return
    const width = 28
    const frac = total ? Math.min(1, done / total) : 0
    const bar = total ? '#'.repeat(Math.round(frac * width)).padEnd(width, '.') : '?'.repeat(width)
    const eta = total && bytesPerSec > 0 ? formatDuration((total - done) / bytesPerSec) : '--'
    const text = `${label.padEnd(9)} [${bar}] ${total ? `${Math.floor(frac * 100)}%`.padStart(4) : ''} ${formatBytes(done)}${total ? ` / ${formatBytes(total)}` : ''}  ${formatBytes(bytesPerSec)}/s  ETA ${eta}`
    process.stdout.write(`\r${text.padEnd(90)}`)
    this.barShown = true
  }

  /** Replaces the last `previous` lines written this way with `lines` (a live table on a terminal). */
  rewrite(lines: string[], previous: number): void {
    if (this.json || !this.tty) return
    this.clearBar()
    const columns = process.stdout.columns || 120
    const up = previous ? `\x1b[${previous}A` : ''
    process.stdout.write(up + lines.map((l) => `\x1b[2K${l.slice(0, columns - 1)}`).join('\n') + '\n')
  }

  clearBar(): void {
    if (this.barShown) {
      process.stdout.write('\r' + ' '.repeat(90) + '\r')
      this.barShown = false
    }
  }
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${Math.round(n)} B`
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`
  if (n < 1024 ** 3) return `${(n / 1024 / 1024).toFixed(1)} MiB`
  return `${(n / 1024 ** 3).toFixed(2)} GiB`
}

export function formatDuration(sec: number): string {
  if (!Number.isFinite(sec)) return '--'
  if (sec < 60) return `${Math.ceil(sec)}s`
  return `${Math.floor(sec / 60)}m${String(Math.ceil(sec % 60)).padStart(2, '0')}s`
}

/** Tracks throughput for progress output from successive byte counts. */
export class RateMeter {
  private start = Date.now()
  private lastPrint = 0

  rate(done: number): number {
    const s = (Date.now() - this.start) / 1000
    return s > 0 ? done / s : 0
  }

  /** True at most every `ms` milliseconds (or when forced), to keep terminal output cheap. */
  due(ms = 100, force = false): boolean {
    const now = Date.now()
    if (!force && now - this.lastPrint < ms) return false
    this.lastPrint = now
    return true
  }
}
