import { EventEmitter } from 'node:events'

/**
 * An EventEmitter whose event names and listener arguments are checked by the compiler, in the
 * manner of MQTT.js's TypedEventEmitter: `on('job', (job) => …)` knows `job` is a JobInfo.
 */
export class TypedEmitter<Events extends { [K in keyof Events]: unknown[] }> {
  private readonly emitter = new EventEmitter()

  constructor() {
    this.emitter.setMaxListeners(100)
  }

  on<K extends keyof Events & string>(event: K, listener: (...args: Events[K]) => void): this {
    this.emitter.on(event, listener as (...args: unknown[]) => void)
    return this
  }

  once<K extends keyof Events & string>(event: K, listener: (...args: Events[K]) => void): this {
    this.emitter.once(event, listener as (...args: unknown[]) => void)
    return this
  }

  off<K extends keyof Events & string>(event: K, listener: (...args: Events[K]) => void): this {
    this.emitter.off(event, listener as (...args: unknown[]) => void)
    return this
  }

  protected emit<K extends keyof Events & string>(event: K, ...args: Events[K]): void {
    this.emitter.emit(event, ...args)
  }
}

export type LogLevel = 'debug' | 'info' | 'warn' | 'error'

/** One structured log line; the ids say what it belongs to, the message never repeats them. */
export interface LogLine {
  time: string
  level: LogLevel
  /** Which part of the engine speaks: connection, station, job, flasher, download, records, bench … */
  source: string
  slotId?: string
  jobId?: string
  connectionId?: string
  /** The platform device the line is about (a gateway child, say). */
  deviceId?: string
  message: string
}

/**
 * At most one event per key per interval (trailing, so the last value always arrives): a bench with
 * 16 busy slots sends ≤ 10 progress events per second per job, and the final one (done == total)
 * goes out at once.
 */
export class Coalescer<T> {
  private readonly latest = new Map<string, T>()
  private readonly last = new Map<string, number>()
  private readonly timers = new Map<string, NodeJS.Timeout>()

  constructor(
    private readonly intervalMs: number,
    private readonly send: (value: T) => void
  ) {}

  push(key: string, value: T, final = false): void {
    const now = Date.now()
    const since = now - (this.last.get(key) ?? 0)
    if (final || since >= this.intervalMs) {
      this.clear(key)
      this.last.set(key, now)
      this.send(value)
      return
    }
    this.latest.set(key, value)
    if (!this.timers.has(key)) {
      const t = setTimeout(() => this.flush(key), this.intervalMs - since)
      t.unref?.()
      this.timers.set(key, t)
    }
  }

  /** Sends what is waiting for `key` now (e.g. before its job reports a phase change). */
  flush(key: string): void {
    const pending = this.latest.get(key)
    this.clear(key)
    if (pending !== undefined) {
      this.last.set(key, Date.now())
      this.send(pending)
    }
  }

  /** Forgets `key` (its job ended) without sending. */
  drop(key: string): void {
    this.clear(key)
    this.last.delete(key)
  }

  private clear(key: string): void {
    const t = this.timers.get(key)
    if (t) clearTimeout(t)
    this.timers.delete(key)
    this.latest.delete(key)
  }
}
