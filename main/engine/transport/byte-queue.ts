import { FlashlineError } from '../errors'

type Waiter = { check: () => boolean; reject: (e: Error) => void; timer: NodeJS.Timeout }

/**
 * Incoming bytes buffered for protocol code that reads with timeouts.
 * Transports push what the device sends; readers take exact counts, "some", or up to a pattern.
 */
export class ByteQueue {
  private chunks: Buffer[] = []
  private length = 0
  private waiters = new Set<Waiter>()
  private closedWith: Error | null = null

  get available(): number {
    return this.length
  }

  push(data: Uint8Array): void {
    if (data.length === 0) return
    this.chunks.push(Buffer.from(data))
    this.length += data.length
    this.wake()
  }

  /** Fails all pending and future reads (port closed or lost). */
  fail(err: Error): void {
    this.closedWith = err
    for (const w of [...this.waiters]) {
      clearTimeout(w.timer)
      this.waiters.delete(w)
      w.reject(err)
    }
  }

  discard(): Buffer {
    const all = this.take(this.length)
    return all
  }

  read(n: number, timeoutMs: number): Promise<Buffer> {
    return this.waitFor(() => this.length >= n, () => this.take(n), timeoutMs, `${n} byte(s)`)
  }

  readSome(timeoutMs: number): Promise<Buffer> {
    return this.waitFor(() => this.length > 0, () => this.take(this.length), timeoutMs, 'data')
  }

  readUntil(pattern: Uint8Array | RegExp, timeoutMs: number): Promise<Buffer> {
    let end = -1
    // exec() on a global or sticky RegExp starts at its lastIndex, left over from an earlier search
    const re = pattern instanceof RegExp && (pattern.global || pattern.sticky) ? new RegExp(pattern.source, pattern.flags.replace(/[gy]/g, '')) : pattern
    const find = (): boolean => {
      const buf = this.peekAll()
      if (re instanceof RegExp) {
        const m = re.exec(buf.toString('latin1'))
        if (m) end = m.index + m[0].length
      } else {
        const i = buf.indexOf(re)
        if (i >= 0) end = i + re.length
      }
      return end >= 0
    }
    return this.waitFor(find, () => this.take(end), timeoutMs, `pattern ${String(pattern)}`)
  }

  private peekAll(): Buffer {
    if (this.chunks.length > 1) this.chunks = [Buffer.concat(this.chunks, this.length)]
    return this.chunks[0] ?? Buffer.alloc(0)
  }

  private take(n: number): Buffer {
    const all = this.peekAll()
    const out = Buffer.from(all.subarray(0, n))
    const rest = all.subarray(n)
    this.chunks = rest.length ? [rest] : []
    this.length = rest.length
    return out
  }

  /** Readers are served in the order they asked: a later read never takes bytes an earlier one waits for. */
  private waitFor<T>(ready: () => boolean, result: () => T, timeoutMs: number, what: string): Promise<T> {
    if (this.waiters.size === 0 && ready()) return Promise.resolve(result())
    if (this.closedWith) return Promise.reject(this.closedWith)
    return new Promise<T>((resolve, reject) => {
      const waiter: Waiter = {
        check: () => {
          if (!ready()) return false
          clearTimeout(waiter.timer)
          this.waiters.delete(waiter)
          resolve(result())
          return true
        },
        reject,
        timer: setTimeout(() => {
          this.waiters.delete(waiter)
          reject(new FlashlineError('device', 'timeout', `no answer from the device: waited ${timeoutMs} ms for ${what}`))
          this.wake() // the readers behind it may be served by what it left
        }, timeoutMs)
      }
      this.waiters.add(waiter)
    })
  }

  private wake(): void {
    for (const w of [...this.waiters]) {
      if (this.length === 0 || !w.check()) break
    }
  }
}
