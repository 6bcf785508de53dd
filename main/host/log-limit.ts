/**
 * Keeps the log stream to the renderer bounded: debug lines are dropped, and each job (or, for lines
 * of no job, each source) gets at most `perSecond` lines per second. What was held back in a second is
 * counted and named in one line when that second ends; the job's log file keeps every line.
 */
export class LogLimiter<L extends { level: string; jobId?: string; source: string }> {
  private readonly windows = new Map<string, { start: number; sent: number; dropped: number; last?: L; timer?: NodeJS.Timeout }>()

  constructor(
    private readonly perSecond: number,
    /** `dropped`: a summary line for `line`'s job or source, not the line itself. */
    private readonly send: (line: L, dropped?: number) => void
  ) {}

  push(line: L): void {
    if (line.level === 'debug') return
    const key = line.jobId ? `job:${line.jobId}` : `source:${line.source}`
    const t = Date.now()
    let w = this.windows.get(key)
    if (!w || t - w.start >= 1000) {
      if (w) this.end(key)
      w = { start: t, sent: 0, dropped: 0 }
      this.windows.set(key, w)
      // seconds that ended without anything held back need no closing line
      if (this.windows.size > 256) for (const [k, o] of this.windows) if (!o.timer && t - o.start >= 1000) this.windows.delete(k)
    }
    // errors always pass: they say why a job failed
    if (w.sent < this.perSecond || line.level === 'error') {
      w.sent++
      this.send(line)
      return
    }
    w.dropped++
    w.last = line
    if (!w.timer) {
      w.timer = setTimeout(() => this.end(key), Math.max(0, 1000 - (t - w.start)))
      w.timer.unref?.()
    }
  }

  /** Closes a key's second: names what was held back. */
  private end(key: string): void {
    const w = this.windows.get(key)
    if (!w) return
    if (w.timer) clearTimeout(w.timer)
    this.windows.delete(key)
    if (w.dropped && w.last) this.send(w.last, w.dropped)
  }

  close(): void {
    for (const w of this.windows.values()) if (w.timer) clearTimeout(w.timer)
    this.windows.clear()
  }
}
