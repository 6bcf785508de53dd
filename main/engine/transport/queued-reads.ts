import { ByteQueue } from './byte-queue'

/** The reading half every transport shares: what the device sends lands in a queue that protocol code reads with timeouts. */
export abstract class QueuedReads {
  readonly queue = new ByteQueue()

  read(n: number, timeoutMs: number): Promise<Buffer> {
    return this.queue.read(n, timeoutMs)
  }
  readSome(timeoutMs: number): Promise<Buffer> {
    return this.queue.readSome(timeoutMs)
  }
  readUntil(pattern: Uint8Array | RegExp, timeoutMs: number): Promise<Buffer> {
    return this.queue.readUntil(pattern, timeoutMs)
  }
  discardInput(): Buffer {
    return this.queue.discard()
  }
}
