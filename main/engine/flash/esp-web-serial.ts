import { FlashlineError } from '../errors'
import type { Transport } from '../transport/transport'

/**
 * The Web Serial `SerialPort` shape esptool-js drives (WICG Web Serial API: readable, writable,
 * setSignals, getInfo), over one of our already-open transports. esptool-js "opens" and "closes" it
 * around baud-rate fallbacks; the
 * underlying port stays ours and stays open, so the board is not reset by a reopen.
 */
export class WebSerialOverTransport {
  readable: ReadableStream<Uint8Array> | null = null
  writable: WritableStream<Uint8Array> | null = null
  private generation = 0
  /** Bytes read after esptool-js let go of the port (e.g. the boot banner after the reset). */
  private leftover: Buffer[] = []
  private pulling: Promise<unknown> = Promise.resolve()

  constructor(
    private readonly t: Transport,
    private readonly info: { usbVendorId?: number; usbProductId?: number } = {}
  ) {}

  async open(options: { baudRate: number }): Promise<void> {
    if (!this.t.isOpen) throw new FlashlineError('device', 'port-closed', `port ${this.t.path} is closed`)
    if (options.baudRate && options.baudRate !== this.t.baudRate) await this.t.setBaudRate(options.baudRate)
    const generation = ++this.generation
    const t = this.t
    let cancelled = false
    const live = (): boolean => !cancelled && generation === this.generation && t.isOpen
    const keep = (chunk: Buffer): void => void this.leftover.push(chunk)
    const end = (controller: ReadableStreamDefaultController<Uint8Array>): void => {
      try {
        controller.close()
      } catch {
        /* already cancelled */
      }
    }
    const self = this
    this.readable = new ReadableStream<Uint8Array>({
      cancel() {
        cancelled = true
      },
      pull(controller) {
        const p = pullOnce(controller)
        self.pulling = p
        return p
      }
      // no read-ahead: a chunk must not sit in the stream's queue when esptool-js cancels it
    }, { highWaterMark: 0 })
    async function pullOnce(controller: ReadableStreamDefaultController<Uint8Array>): Promise<void> {
      // One chunk per pull; short waits so a closed or cancelled stream is noticed quickly.
      for (;;) {
        if (!live()) return end(controller)
        try {
          const chunk = await t.readSome(100)
          if (!live()) return keep(chunk)
          controller.enqueue(new Uint8Array(chunk))
          return
        } catch (e) {
          if (e instanceof FlashlineError && e.code === 'timeout') continue
          if (!live()) return end(controller)
          // esptool-js treats a DOMException as "device lost"
          return controller.error(new DOMException((e as Error).message, 'NetworkError'))
        }
      }
    }
    this.writable = new WritableStream<Uint8Array>({
      write: (chunk) => t.write(chunk)
    })
  }

  takeLeftover(): Buffer {
    const all = Buffer.concat(this.leftover)
    this.leftover = []
    return all
  }

  async close(): Promise<void> {
    this.generation++
    // a read still in flight lands in `leftover` rather than being lost
    await this.pulling.catch(() => undefined)
    this.readable = null
    this.writable = null
  }

  /** Partial updates, as Web Serial allows; the transport keeps the full state and always sets both lines. */
  async setSignals(s: { dataTerminalReady?: boolean; requestToSend?: boolean; break?: boolean }): Promise<void> {
    const next: { dtr?: boolean; rts?: boolean } = {}
    if (s.dataTerminalReady !== undefined) next.dtr = s.dataTerminalReady
    if (s.requestToSend !== undefined) next.rts = s.requestToSend
    await this.t.setSignals(next)
  }

  /** In-place change: without it esptool-js closes and reopens the port, which resets many boards. */
  async setBaudRate(baud: number): Promise<void> {
    await this.t.setBaudRate(baud)
  }

  getInfo(): { usbVendorId?: number; usbProductId?: number } {
    return { ...this.info }
  }
}
