/**
 * Bytes to and from a device. Protocol code (flashers, simulators) sees only this.
 * Production: SerialTransport over the real `serialport` binding. Tests: the same over socat ptys,
 * or MemoryTransport pairs for fast unit tests.
 */
export interface Signals {
  dtr: boolean
  rts: boolean
}

export interface Transport {
  /** Human-readable location, e.g. /dev/ttyUSB0 or COM3. */
  readonly path: string
  /** Writes all bytes and resolves once they have been handed to the OS (drained). */
  write(data: Uint8Array): Promise<void>
  /** Resolves with exactly `n` bytes, or rejects with a device/timeout FlashlineError after `timeoutMs`. */
  read(n: number, timeoutMs: number): Promise<Buffer>
  /** Resolves with whatever arrived (at least one byte), or rejects on timeout. */
  readSome(timeoutMs: number): Promise<Buffer>
  /** Resolves with the bytes up to and including the first match of `pattern`, or rejects on timeout. */
  readUntil(pattern: Uint8Array | RegExp, timeoutMs: number): Promise<Buffer>
  /** Discards and returns everything buffered but not yet read. */
  discardInput(): Buffer
  /** Sets both modem lines (full state; partial updates are merged with the last known state). Tolerates ptys (ENOTTY). */
  setSignals(signals: Partial<Signals>): Promise<void>
  /** Changes the baud rate in place, without closing the port. */
  setBaudRate(baud: number): Promise<void>
  readonly baudRate: number
  readonly isOpen: boolean
  close(): Promise<void>
  /** Called once when the port closes or is lost (unplugged). */
  onClose(listener: (err?: Error) => void): void
}
