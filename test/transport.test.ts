/**
 * The reading half every transport shares (ByteQueue), and SerialTransport losing its port for real:
 * a socat pty pair whose socat is killed while a read is pending.
 */
import { describe, expect, it } from 'vitest'
import { FlashlineError } from '../main/engine/errors'
import { ByteQueue } from '../main/engine/transport/byte-queue'
import { SerialTransport } from '../main/engine/transport/serial'
import { ptyPair } from './harness/pty'

const b = (s: string): Buffer => Buffer.from(s, 'latin1')
const text = async (p: Promise<Buffer>): Promise<string> => (await p).toString('latin1')

/** Settles the promise's state without waiting for it: 'pending', or what it resolved/rejected with. */
async function state<T>(p: Promise<T>): Promise<{ s: 'pending' } | { s: 'resolved'; v: T } | { s: 'rejected'; e: unknown }> {
  const pending = Symbol('pending')
  // two macrotask turns: anything already settled has run its reactions by then
  await new Promise((r) => setImmediate(r))
  return Promise.race([p.then((v) => ({ s: 'resolved' as const, v }), (e: unknown) => ({ s: 'rejected' as const, e })), new Promise<typeof pending>((r) => setImmediate(() => r(pending)))]).then((x) =>
    x === pending ? { s: 'pending' as const } : x
  )
}

describe('ByteQueue: several readers waiting at once', () => {
  it('serves waiting readers in the order they asked, each with the next bytes of the stream', async () => {
    const q = new ByteQueue()
    const first = q.read(4, 2000)
    const second = q.read(2, 2000)
    const third = q.readUntil(b('\n'), 2000)
    // two bytes: enough for the second reader, but they are the first reader's bytes
    q.push(b('ab'))
    expect(await state(second)).toEqual({ s: 'pending' })
    q.push(b('cd'))
    expect(await text(first)).toBe('abcd')
    q.push(b('ef'))
    expect(await text(second)).toBe('ef')
    q.push(b('gh\nrest'))
    expect(await text(third)).toBe('gh\n')
    expect(q.available).toBe(4)
    expect(q.discard().toString()).toBe('rest')
  })

  it('a read asked while others wait queues behind them, even when bytes are already buffered', async () => {
    const q = new ByteQueue()
    const first = q.read(3, 2000)
    q.push(b('xy'))
    const late = q.read(1, 2000)
    expect(await state(late)).toEqual({ s: 'pending' })
    q.push(b('z!'))
    expect(await text(first)).toBe('xyz')
    expect(await text(late)).toBe('!')
  })

  it('one chunk that satisfies every waiter is split among them in order', async () => {
    const q = new ByteQueue()
    const reads = [q.read(1, 1000), q.readUntil(/;/, 1000), q.readSome(1000)]
    q.push(b('1two;three'))
    expect(await Promise.all(reads.map(text))).toEqual(['1', 'two;', 'three'])
    expect(q.available).toBe(0)
  })
})

describe('ByteQueue: readUntil', () => {
  it('finds a byte pattern that spans chunks and leaves what follows it', async () => {
    const q = new ByteQueue()
    const got = q.readUntil(b('\r\nOK\r\n'), 2000)
    for (const chunk of ['AT+GMR\r', '\nO', 'K', '\r', '\nnext']) {
      expect(await state(got)).toEqual({ s: 'pending' })
      q.push(b(chunk))
    }
    expect(await text(got)).toBe('AT+GMR\r\nOK\r\n')
    expect(q.discard().toString()).toBe('next')
  })

  it('finds a RegExp whose match spans chunks, up to the end of the first match', async () => {
    const q = new ByteQueue()
    const got = q.readUntil(/version: \d+\.\d+\.\d+\r?\n/, 2000)
    q.push(b('boot...\r\nvers'))
    q.push(b('ion: 1.'))
    expect(await state(got)).toEqual({ s: 'pending' })
    q.push(b('22.3\r\nversion: 9.9.9\n'))
    expect(await text(got)).toBe('boot...\r\nversion: 1.22.3\r\n')
    expect(q.discard().toString()).toBe('version: 9.9.9\n')
  })

  it('matches bytes above 0x7F one to one (the RegExp sees latin1, one char per byte)', async () => {
    const q = new ByteQueue()
    q.push(Uint8Array.of(0xc3, 0xa9, 0xff, 0x0a, 0x41))
    const got = await q.readUntil(/\xff\n/, 500)
    expect([...got]).toEqual([0xc3, 0xa9, 0xff, 0x0a])
    expect([...q.discard()]).toEqual([0x41])
  })

  it('a global RegExp reused for several reads still returns each first match (no stale lastIndex)', async () => {
    const q = new ByteQueue()
    const line = /\n/g
    q.push(b('first line\nsecond\n'))
    expect(await text(q.readUntil(line, 500))).toBe('first line\n')
    expect(await text(q.readUntil(line, 500))).toBe('second\n')
  })
})

describe('ByteQueue: fail() and timeouts', () => {
  it('fail() rejects every pending read with the given error, and later reads at once', async () => {
    const q = new ByteQueue()
    const lost = new FlashlineError('device', 'port-lost', 'port /dev/ttyX was lost')
    const pending = [q.read(10, 30_000), q.readSome(30_000), q.readUntil(/x/, 30_000)]
    q.push(b('abc')) // not enough for the first reader, which holds the head of the line
    q.fail(lost)
    for (const p of pending) await expect(p).rejects.toBe(lost)
    const t0 = Date.now()
    await expect(q.read(1_000, 30_000)).rejects.toBe(lost)
    await expect(q.readUntil(/never/, 30_000)).rejects.toBe(lost)
    expect(Date.now() - t0).toBeLessThan(1000) // at once, not after the 30 s timeout
  })

  it('a timed-out read rejects as device/timeout, naming the wait, and leaves the bytes for the next reader', async () => {
    const q = new ByteQueue()
    q.push(b('ab'))
    const t0 = Date.now()
    const err = await q.read(4, 150).then(
      () => undefined,
      (e: unknown) => e
    )
    expect(Date.now() - t0).toBeGreaterThanOrEqual(140)
    expect(err).toBeInstanceOf(FlashlineError)
    expect(err).toMatchObject({ kind: 'device', code: 'timeout', message: expect.stringMatching(/waited 150 ms for 4 byte\(s\)/) })
    const until = await q.readUntil(/z/, 100).catch((e: FlashlineError) => e)
    expect(until).toMatchObject({ kind: 'device', code: 'timeout', message: expect.stringMatching(/pattern \/z\//) })
    expect(q.available).toBe(2)
    expect(await text(q.read(2, 100))).toBe('ab')
  })

  it('when the first waiter times out, the readers behind it get the bytes that were waiting', async () => {
    const q = new ByteQueue()
    const head = q.read(8, 100)
    const next = q.read(2, 5000)
    q.push(b('hi'))
    await expect(head).rejects.toMatchObject({ code: 'timeout' })
    expect(await text(next)).toBe('hi')
  })
})

describe('SerialTransport: the port disappears under a pending read', () => {
  // Right after open the binding's first read is still in the thread pool: the hang-up comes back as a
  // 0-byte read (end of file). After a quiet spell it waits in its poller, which reports an error instead.
  for (const [when, idleMs] of [
    ['while a read is in flight', 0],
    ['while the port sits idle', 300]
  ] as const) {
    it(`${when}: the read rejects with device/port-lost naming the port, and onClose listeners fire once`, async () => {
      const pair = await ptyPair()
      const port = await SerialTransport.open({ path: pair.a, baudRate: 115200 })
      const closes: Array<Error | undefined> = []
      port.onClose((e) => closes.push(e))
      try {
        const pending = port.read(1, 20_000)
        pending.catch(() => undefined)
        await new Promise((r) => setTimeout(r, idleMs))
        await pair.close() // SIGTERM to socat: the pty pair is gone
        const t0 = Date.now()
        const err = await pending.then(
          () => undefined,
          (e: unknown) => e
        )
        expect(Date.now() - t0).toBeLessThan(5000) // the loss, not the 20 s read timeout
        expect(err).toBeInstanceOf(FlashlineError)
        expect(err).toMatchObject({ kind: 'device', code: 'port-lost' })
        expect((err as Error).message).toContain(`port ${pair.a} was lost`)
        expect(port.isOpen).toBe(false)
        // later reads and writes fail with the cause instead of waiting
        await expect(port.read(1, 20_000)).rejects.toMatchObject({ code: 'port-lost' })
        await expect(port.write(b('x'))).rejects.toMatchObject({ kind: 'device' })
        await port.close() // closing a lost port is harmless and calls nobody again
        await new Promise((r) => setTimeout(r, 100))
        expect(closes).toHaveLength(1)
        expect(closes[0]).toBe(err)
      } finally {
        await port.close()
        await pair.close()
      }
    })
  }

  it('a close by us is not a loss: pending reads reject as port-closed and listeners get no error', async () => {
    const pair = await ptyPair()
    const port = await SerialTransport.open({ path: pair.a, baudRate: 115200 })
    const closes: Array<Error | undefined> = []
    port.onClose((e) => closes.push(e))
    try {
      const pending = port.read(1, 20_000)
      const settled = pending.then(
        () => undefined,
        (e: unknown) => e
      )
      await port.close()
      expect(await settled).toMatchObject({ kind: 'device', code: 'port-closed' })
      const deadline = Date.now() + 5000
      while (closes.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20))
      expect(closes).toEqual([undefined])
    } finally {
      await pair.close()
    }
  })
})

describe('SerialTransport: a write the other end never takes', () => {
  it('fails with write-timeout after its line time, twice, plus 5 s, instead of hanging the flasher', async () => {
    const pair = await ptyPair()
    const port = await SerialTransport.open({ path: pair.a, baudRate: 921600 })
    try {
      // nobody reads pair.b: the pty's buffer fills and the drain never returns
      const started = Date.now()
      const data = Buffer.alloc(64 * 1024, 0x55)
      const limit = 5000 + Math.ceil((data.length * 11 * 2000) / 921600)
      await expect(port.write(data)).rejects.toMatchObject({ kind: 'device', code: 'write-timeout', message: expect.stringMatching(/did not finish within 7 s: the USB-serial adapter may be wedged/) })
      expect(Date.now() - started).toBeGreaterThanOrEqual(limit - 50)
    } finally {
      await port.close()
      await pair.close()
    }
  }, 30_000)
})
