import { SerialPort } from 'serialport'
import { FlashlineError } from '../errors'
import { serialBinding } from './hangup-binding'
import { QueuedReads } from './queued-reads'
import type { Signals, Transport } from './transport'

export interface SerialOptions {
  path: string
  baudRate: number
  parity?: 'none' | 'even' | 'odd'
  dataBits?: 5 | 6 | 7 | 8
  stopBits?: 1 | 2
  /** Ask the driver for a 1 ms latency timer (FTDI on Linux); resent on every signal change. */
  lowLatency?: boolean
}

/** Explains the usual reasons a port cannot be opened in words a technician can act on. */
export function explainOpenError(path: string, err: Error): FlashlineError {
  const msg = err.message
  let hint = ''
  if (/EACCES|Permission denied|Access denied/i.test(msg)) {
    hint =
      process.platform === 'linux'
        ? ' — permission denied: add your user to the "dialout" group (sudo usermod -aG dialout $USER, then log in again) or add a udev rule'
        : ' — access denied: the port may be open in another program, or the driver is missing'
  } else if (/EBUSY|Resource busy|Cannot lock port/i.test(msg)) {
    hint = ' — the port is in use by another program (a terminal, IDE serial monitor or another Flashline); close it and retry'
  } else if (/ENOENT|No such file|File not found|cannot find/i.test(msg)) {
    hint = ' — no such port: check the cable and run "flashline ports" to list what is connected'
  }
  return new FlashlineError('device', 'port-open-failed', `cannot open ${path}: ${msg}${hint}`, { path })
}

function isNotATty(err: unknown): boolean {
  return err instanceof Error && /Inappropriate ioctl|ENOTTY/i.test(err.message)
}

/** Transport over the real `serialport` binding (also used on socat ptys in tests). */
export class SerialTransport extends QueuedReads implements Transport {
  private signals: Signals = { dtr: true, rts: true }
  private closeListeners: Array<(err?: Error) => void> = []
  private closedByUs = false
  private signalsUnsupported = false
  private pendingWrites = new Set<{ resolve: () => void; reject: (e: Error) => void }>()

  private constructor(
    private readonly port: SerialPort,
    private readonly options: SerialOptions
  ) {
    super()
    port.on('data', (d: Buffer) => this.queue.push(d))
    port.on('close', (err?: Error & { disconnected?: boolean }) => {
      const lost = !this.closedByUs
      const error = lost
        ? new FlashlineError('device', 'port-lost', `port ${options.path} was lost (unplugged or reset)${err ? `: ${err.message}` : ''}`)
        : new FlashlineError('device', 'port-closed', `port ${options.path} is closed`)
      this.queue.fail(error)
      this.failPendingWrites(error)
      for (const l of this.closeListeners) l(lost ? error : undefined)
    })
    port.on('error', () => {
      /* surfaced through close/write failures */
    })
  }

  static async open(options: SerialOptions): Promise<SerialTransport> {
    const port = new SerialPort({
      path: options.path,
      baudRate: options.baudRate,
      parity: options.parity ?? 'none',
      dataBits: options.dataBits ?? 8,
      stopBits: options.stopBits ?? 1,
      autoOpen: false,
      hupcl: false,
      binding: serialBinding
    })
    await new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(explainOpenError(options.path, err)) : resolve())))
    const t = new SerialTransport(port, options)
    if (options.lowLatency) await t.setSignals({})
    return t
  }

  get path(): string {
    return this.options.path
  }
  get baudRate(): number {
    return this.port.baudRate
  }
  get isOpen(): boolean {
    return this.port.isOpen
  }

  write(data: Uint8Array): Promise<void> {
    return new Promise((resolve, reject) => {
      if (!this.port.isOpen) return reject(new FlashlineError('device', 'port-closed', `port ${this.path} is closed`))
      // A drain can stay blocked in the OS (nobody reading the other end); closing must still end the write.
      const settle = { resolve, reject }
      this.pendingWrites.add(settle)
      // the bytes take their line time; twice that plus 5 s and the adapter is wedged (or nothing reads
      // the other end): a write that never ends would hang the flasher, which has no deadline of its own
      const limitMs = 5000 + Math.ceil((data.length * 11 * 2000) / Math.max(300, this.port.baudRate))
      const timer = setTimeout(() => {
        if (!this.pendingWrites.delete(settle)) return
        reject(new FlashlineError('device', 'write-timeout', `writing ${data.length} bytes to ${this.path} did not finish within ${Math.round(limitMs / 1000)} s: the USB-serial adapter may be wedged; unplug it and plug it in again`))
      }, limitMs)
      timer.unref?.()
      const done = (err?: Error | null): void => {
        clearTimeout(timer)
        if (!this.pendingWrites.delete(settle)) return
        if (err) reject(new FlashlineError('device', 'write-failed', `writing to ${this.path} failed: ${err.message}`))
        else resolve()
      }
      this.port.write(Buffer.from(data), (err) => (err ? done(err) : this.port.drain((e) => done(e))))
    })
  }

  private failPendingWrites(error: FlashlineError): void {
    for (const w of this.pendingWrites) w.reject(error)
    this.pendingWrites.clear()
  }

  /**
   * serialport's set() writes every line (defaulting the ones not given) and re-applies lowLatency,
   * so we always send the full state. Ptys have no modem lines: ENOTTY is remembered and ignored.
   */
  async setSignals(s: Partial<Signals>): Promise<void> {
    this.signals = { ...this.signals, ...s }
    if (this.signalsUnsupported) return
    await new Promise<void>((resolve, reject) =>
      this.port.set({ dtr: this.signals.dtr, rts: this.signals.rts, lowLatency: this.options.lowLatency ?? false }, (err) => {
        if (!err) return resolve()
        if (isNotATty(err)) {
          this.signalsUnsupported = true
          return resolve()
        }
        reject(new FlashlineError('device', 'signals-failed', `cannot set DTR/RTS on ${this.path}: ${err.message}`))
      })
    )
  }

  get modemLinesSupported(): boolean {
    return !this.signalsUnsupported
  }

  async setBaudRate(baud: number): Promise<void> {
    await new Promise<void>((resolve, reject) =>
      this.port.update({ baudRate: baud }, (err) =>
        err ? reject(new FlashlineError('device', 'baud-failed', `cannot change ${this.path} to ${baud} baud: ${err.message}`)) : resolve()
      )
    )
  }

  async close(): Promise<void> {
    if (!this.port.isOpen) return
    this.closedByUs = true
    const error = new FlashlineError('device', 'port-closed', `port ${this.path} is closed`)
    this.failPendingWrites(error)
    this.queue.fail(error)
    // The OS close can wait behind a blocked drain; ours is bounded (the descriptor is released when it returns).
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, 2000)
      this.port.close(() => (clearTimeout(t), resolve()))
    })
  }

  onClose(listener: (err?: Error) => void): void {
    this.closeListeners.push(listener)
  }
}
