import { SerialPort } from 'serialport'
import { ptyPair, type PtyPair } from '../../test/harness/pty'

export interface LineSettings {
  baud: number
  /** Bits on the wire per byte: 10 for 8N1, 11 for 8E1. */
  bitsPerByte?: number
  /** USB-serial latency timer for device→host bytes (FTDI: 1 or 16 ms). */
  latencyMs: number
  /** FTDI-style receive buffer: device→host bytes are flushed when this many are held. */
  usbPacket?: number
  /** USB frame delay applied to host→device bytes. */
  usbFrameMs?: number
}

/**
 * A paced serial line between two pty pairs, like a real UART behind a USB-serial bridge:
 * the host tool opens `hostPath`, the device (simulator or peer program) opens `devicePath`.
 * Bytes take bits/baud on the wire each way; device→host bytes are held like an FTDI chip does
 * (flushed at 62 bytes or after the latency timer), so stop-and-wait protocols pay what they pay on
 * a bench. Used only by `npm run bench`.
 */
export class LineEmulator {
  private hostPair!: PtyPair
  private devicePair!: PtyPair
  private hostSide!: SerialPort
  private deviceSide!: SerialPort
  private toDeviceFreeAt = 0
  private toHostFreeAt = 0
  private held: Buffer[] = []
  private heldBytes = 0
  private heldTimer: NodeJS.Timeout | null = null

  constructor(readonly settings: LineSettings) {}

  get hostPath(): string {
    return this.hostPair.a
  }
  get devicePath(): string {
    return this.devicePair.b
  }

  async start(): Promise<void> {
    this.hostPair = await ptyPair()
    this.devicePair = await ptyPair()
    this.hostSide = await openRaw(this.hostPair.b)
    this.deviceSide = await openRaw(this.devicePair.a)
    this.hostSide.on('data', (d: Buffer) => this.toDevice(d))
    this.deviceSide.on('data', (d: Buffer) => this.toHost(d))
  }

  private wireMs(n: number): number {
    return (n * (this.settings.bitsPerByte ?? 10) * 1000) / this.settings.baud
  }

  private toDevice(d: Buffer): void {
    const now = performance.now()
    const start = Math.max(now + (this.settings.usbFrameMs ?? 1), this.toDeviceFreeAt)
    const end = start + this.wireMs(d.length)
    this.toDeviceFreeAt = end
    at(end, () => this.deviceSide.write(d))
  }

  private toHost(d: Buffer): void {
    const now = performance.now()
    const start = Math.max(now, this.toHostFreeAt)
    const end = start + this.wireMs(d.length)
    this.toHostFreeAt = end
    at(end, () => this.arriveAtBridge(d))
  }

  /** The bridge holds received bytes until its packet is full or the latency timer expires. */
  private arriveAtBridge(d: Buffer): void {
    const packet = this.settings.usbPacket ?? 62
    this.held.push(d)
    this.heldBytes += d.length
    if (this.heldBytes >= packet) return this.flush()
    if (!this.heldTimer) {
      const due = performance.now() + this.settings.latencyMs
      const token = setTimeout(() => undefined, 0)
      this.heldTimer = token
      at(due, () => {
        if (this.heldTimer === token) this.flush()
      })
    }
  }

  private flush(): void {
    if (this.heldTimer) clearTimeout(this.heldTimer)
    this.heldTimer = null
    if (!this.heldBytes) return
    const all = Buffer.concat(this.held)
    this.held = []
    this.heldBytes = 0
    this.hostSide.write(all)
  }

  async close(): Promise<void> {
    if (this.heldTimer) clearTimeout(this.heldTimer)
    await Promise.all([closeQuietly(this.hostSide), closeQuietly(this.deviceSide)])
    await Promise.all([this.hostPair.close(), this.devicePair.close()])
  }
}

/**
 * Runs `fn` at `time` (performance.now() clock). Node's timers fire 1–2 ms late, which would add
 * more latency than the 1 ms USB timer being emulated, so the last 2 ms are waited with setImmediate.
 */
function at(time: number, fn: () => void): void {
  const wait = time - performance.now()
  if (wait > 2) {
    setTimeout(() => at(time, fn), wait - 2)
    return
  }
  const spin = (): void => {
    if (performance.now() >= time) fn()
    else setImmediate(spin)
  }
  spin()
}

function openRaw(path: string): Promise<SerialPort> {
  return new Promise((resolve, reject) => {
    const p = new SerialPort({ path, baudRate: 115200, autoOpen: false, hupcl: false })
    p.open((err) => (err ? reject(err) : resolve(p)))
  })
}

function closeQuietly(p: SerialPort | undefined): Promise<void> {
  return new Promise((resolve) => (p?.isOpen ? p.close(() => resolve()) : resolve()))
}
