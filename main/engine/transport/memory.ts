import { FlashlineError } from '../errors'
import { QueuedReads } from './queued-reads'
import type { Signals, Transport } from './transport'

/** In-process transport; `memoryPair()` links two of them like a null-modem cable. For fast unit tests. */
export class MemoryTransport extends QueuedReads implements Transport {
  peer: MemoryTransport | null = null
  signals: Signals = { dtr: false, rts: false }
  readonly signalLog: Signals[] = []
  baudRate: number
  isOpen = true
  private closeListeners: Array<(err?: Error) => void> = []

  constructor(readonly path: string, baudRate = 115200) {
    super()
    this.baudRate = baudRate
  }

  async write(data: Uint8Array): Promise<void> {
    if (!this.isOpen) throw new FlashlineError('device', 'port-closed', `port ${this.path} is closed`)
    const copy = Buffer.from(data)
    setImmediate(() => this.peer?.queue.push(copy))
  }
  /** What the other end's modem lines do, for simulated boards wired to DTR/RTS (reset, boot mode). */
  readonly peerSignalListeners: Array<(s: Signals) => void> = []

  async setSignals(s: Partial<Signals>): Promise<void> {
    this.signals = { ...this.signals, ...s }
    this.signalLog.push({ ...this.signals })
    const now = { ...this.signals }
    for (const l of this.peer?.peerSignalListeners ?? []) l(now)
  }
  async setBaudRate(baud: number): Promise<void> {
    this.baudRate = baud
  }
  async close(): Promise<void> {
    if (!this.isOpen) return
    this.isOpen = false
    const err = new FlashlineError('device', 'port-closed', `port ${this.path} was closed`)
    this.queue.fail(err)
    for (const l of this.closeListeners) l()
  }
  /** The cable is pulled: pending and later reads fail with 'port-lost', as on an unplugged USB adapter. */
  lose(): void {
    if (!this.isOpen) return
    this.isOpen = false
    const err = new FlashlineError('device', 'port-lost', `port ${this.path} was lost (unplugged or reset)`)
    this.queue.fail(err)
    for (const l of this.closeListeners) l(err)
    void this.peer?.close()
  }

  onClose(listener: (err?: Error) => void): void {
    this.closeListeners.push(listener)
  }
}

export function memoryPair(a = 'mem-host', b = 'mem-device'): [MemoryTransport, MemoryTransport] {
  const x = new MemoryTransport(a)
  const y = new MemoryTransport(b)
  x.peer = y
  y.peer = x
  return [x, y]
}
