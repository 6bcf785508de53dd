import { QueuedReads } from '../../main/engine/transport/queued-reads'
import type { Signals, Transport } from '../../main/engine/transport/transport'

export interface PacedLineSettings {
  /** Bits on the wire per byte: 10 for 8N1, 11 for 8E1. */
  bitsPerByte: number
  /** USB-serial latency timer for device→host bytes (FTDI: 1 or 16 ms). */
  latencyMs: number
  /** FTDI-style receive buffer: device→host bytes are flushed when this many are held (default 62). */
  usbPacket?: number
  /** USB frame delay applied to host→device bytes (default 1 ms). */
  usbFrameMs?: number
}

/**
 * Bytes waiting on one direction of a line, in the order they were sent, each with the time its
 * last bit is through. One timer per direction at most; due times come from the line's bit rate
 * and add up exactly, so pacing stays right even when a timer fires late.
 */
class Lane {
  private readonly items: Array<{ due: number; data: Buffer }> = []
  private timer: NodeJS.Timeout | null = null
  private freeAt = 0

  constructor(
    private readonly deliver: (data: Buffer) => void,
    /** How late each delivery was against its due time, ms (negative: early), for the bench's own check. */
    readonly lateness: number[] = []
  ) {}

  /** Queues `data`: it starts on the wire at `startAt` or when the bytes before it are through, and takes `wireMs`. */
  send(data: Buffer, startAt: number, wireMs: number): number {
    const due = Math.max(startAt, this.freeAt) + wireMs
    this.freeAt = due
    this.items.push({ due, data })
    this.arm()
    return due
  }

  private arm(): void {
    if (this.timer || this.items.length === 0) return
    // Node's timers have a 1 ms grain and fire up to about 1 ms late: round down, and deliver what is
    // due within half a millisecond, so on average a byte arrives when its last bit is through.
    const wait = Math.max(0, Math.floor(this.items[0]!.due - performance.now()))
    this.timer = setTimeout(() => this.fire(), wait)
  }

  private fire(): void {
    this.timer = null
    const now = performance.now() + 0.5
    let n = 0
    while (n < this.items.length && this.items[n]!.due <= now) n++
    if (n > 0) {
      const out = this.items.splice(0, n)
      this.lateness.push(now - 0.5 - out[n - 1]!.due)
      this.deliver(out.length === 1 ? out[0]!.data : Buffer.concat(out.map((i) => i.data)))
    }
    this.arm()
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
    this.items.length = 0
  }
}

/**
 * The device end of a serial line behind a USB-serial bridge, paced: a simulator attached to this
 * sees the host's bytes only once they would have crossed the wire (a 1 ms USB frame, then
 * bits/baud each), and what it sends reaches the host after its wire time and the bridge's hold
 * (flushed at 62 bytes or when the latency timer expires, as an FTDI chip does). The pace follows the
 * device's own baud rate, so a simulator that changes rate (ESP change-baud) speeds the line up.
 * `inner` is the device side of a pty pair, whose other side the host opens.
 */
export class PacedTransport extends QueuedReads implements Transport {
  private baud: number
  private readonly toDevice: Lane
  private readonly toHost: Lane
  private held: Buffer[] = []
  private heldBytes = 0
  private heldTimer: NodeJS.Timeout | null = null
  private closed = false
  /** Bytes carried each way, for the bench's own accounting. */
  readonly carried = { toDevice: 0, toHost: 0 }
  /**
   * The host's turnaround, ms: from handing the device's bytes to the pty until the host's next bytes
   * come back out of it (the flasher's own reaction plus both pty hops), one sample per answer.
   */
  readonly turnarounds: number[] = []
  private answeredAt: number | null = null
  /** How late this process delivered bytes against the line's timing, ms, both directions (its own timers under load). */
  readonly lateness: number[] = []

  constructor(
    private readonly inner: Transport,
    private readonly settings: PacedLineSettings,
    baud: number
  ) {
    super()
    this.baud = baud
    this.toDevice = new Lane((d) => this.queue.push(d), this.lateness)
    this.toHost = new Lane((d) => this.arriveAtBridge(d), this.lateness)
    inner.onClose((err) => {
      this.stop()
      this.queue.fail(err ?? new Error(`port ${inner.path} is closed`))
    })
    void this.pump()
  }

  private wireMs(n: number): number {
    return (n * this.settings.bitsPerByte * 1000) / this.baud
  }

  private async pump(): Promise<void> {
    while (!this.closed) {
      let chunk: Buffer
      try {
        chunk = await this.inner.readSome(60_000)
      } catch (e) {
        if ((e as { code?: string }).code === 'timeout') continue
        return
      }
      this.carried.toDevice += chunk.length
      if (this.answeredAt !== null) this.turnarounds.push(performance.now() - this.answeredAt)
      this.answeredAt = null
      this.toDevice.send(chunk, performance.now() + (this.settings.usbFrameMs ?? 1), this.wireMs(chunk.length))
    }
  }

  get path(): string {
    return this.inner.path
  }
  get baudRate(): number {
    return this.baud
  }
  get isOpen(): boolean {
    return !this.closed && this.inner.isOpen
  }

  /** Resolves once the bytes are queued on the line (a UART's transmit buffer takes them). */
  async write(data: Uint8Array): Promise<void> {
    if (!this.isOpen) throw new Error(`port ${this.path} is closed`)
    const copy = Buffer.from(data)
    this.carried.toHost += copy.length
    this.toHost.send(copy, performance.now(), this.wireMs(copy.length))
  }

  private arriveAtBridge(d: Buffer): void {
    this.held.push(d)
    this.heldBytes += d.length
    if (this.heldBytes >= (this.settings.usbPacket ?? 62)) return this.flush()
    if (!this.heldTimer) this.heldTimer = setTimeout(() => this.flush(), this.settings.latencyMs)
  }

  private flush(): void {
    if (this.heldTimer) clearTimeout(this.heldTimer)
    this.heldTimer = null
    if (!this.heldBytes) return
    const all = this.held.length === 1 ? this.held[0]! : Buffer.concat(this.held)
    this.held = []
    this.heldBytes = 0
    this.answeredAt = performance.now()
    void this.inner.write(all).catch(() => undefined)
  }

  async setSignals(_signals: Partial<Signals>): Promise<void> {
    /* the device end has no modem-line outputs */
  }

  async setBaudRate(baud: number): Promise<void> {
    this.baud = baud
  }

  private stop(): void {
    this.closed = true
    this.toDevice.stop()
    this.toHost.stop()
    if (this.heldTimer) clearTimeout(this.heldTimer)
    this.heldTimer = null
  }

  async close(): Promise<void> {
    this.stop()
    await this.inner.close()
  }

  onClose(listener: (err?: Error) => void): void {
    this.inner.onClose(listener)
  }
}
