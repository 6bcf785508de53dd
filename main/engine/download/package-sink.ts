import { Worker } from 'node:worker_threads'
import { FlashlineError } from '../errors'
import { byteSum, type PackageDigest } from './hashers'

/**
 * Worker half of PackageSink. Plain JS in a string, so it runs the same under tsx and in the app
 * bundle. Owns the partial file through one descriptor: hashes what an earlier run left in it, then
 * writes each batch at its offset and hashes the bytes read back from the file there, so the digest
 * is of what the file holds, not of what was meant to be written. Each write runs on libuv's pool
 * while this thread reads back and hashes the batch before it, so writing and hashing overlap.
 * At the end it reports the file's size and identity (dev, ino) so the caller can prove the file it
 * keeps is the one hashed.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads')
const { createHash } = require('node:crypto')
const fs = require('node:fs')
const byteSum = (${byteSum.toString()})
const { path, md5: wantMd5, sum32: wantSum, batch } = workerData
const sha256 = createHash('sha256')
const md5 = wantMd5 ? createHash('md5') : null
let sum = 0
let size = 0
const hash = (chunk) => {
  sha256.update(chunk)
  if (md5) md5.update(chunk)
  if (wantSum) sum = (sum + byteSum(chunk)) % 0x100000000
  size += chunk.length
}
const back = Buffer.allocUnsafe(batch)
let broken = false
const failed = (e) => {
  if (broken) return
  broken = true
  parentPort.postMessage({ type: 'error', message: e.message, code: e.code })
}
let fd
let writeAt = 0
/** Batches in arrival order: written, then read back and hashed, in that order. */
const queue = []
let writing = 0
let after = null // 'end' or 'close', once everything queued is settled
try {
  // read-write without O_APPEND: every write goes exactly where this worker says
  fd = fs.openSync(path, fs.constants.O_RDWR | fs.constants.O_CREAT, 0o644)
  // bytes an earlier run left in the partial file are part of the package: hash them first
  for (;;) {
    const n = fs.readSync(fd, back, 0, back.length, size)
    if (n <= 0) break
    hash(back.subarray(0, n))
  }
  writeAt = size
  parentPort.postMessage({ type: 'ready', size })
} catch (e) {
  failed(e)
}
// One write at a time: concurrent writes to one file only queue on its inode lock (measured:
// they spun there); a single chain still overlaps with the hashing on this thread.
const next = () => {
  if (writing || broken) return
  const item = queue.find((q) => !q.written)
  if (item) writeOut(item, 0)
}
const writeOut = (item, off) => {
  writing++
  fs.write(fd, item.view, off, item.view.length - off, item.at + off, (err, n) => {
    writing--
    if (err) failed(err)
    else if (!broken && off + n < item.view.length) return writeOut(item, off + n)
    else item.written = true
    next()
    settle()
  })
}
const settle = () => {
  try {
    while (!broken && queue.length && queue[0].written) {
      const item = queue.shift()
      const len = item.view.length
      let got = 0
      while (got < len) {
        const n = fs.readSync(fd, back, got, len - got, item.at + got)
        if (n <= 0) throw new Error('the partial file is shorter than what was just written to it (truncated by another process?)')
        got += n
      }
      hash(back.subarray(0, len))
      // the buffer goes back to be filled again: no allocation per MiB on either side
      parentPort.postMessage({ type: 'ack', bytes: len, buffer: item.buffer }, [item.buffer])
    }
  } catch (e) {
    failed(e)
  }
  if (after && writing === 0 && (broken || queue.length === 0)) finish()
}
const finish = () => {
  const what = after
  after = null
  try {
    if (what === 'end' && !broken) {
      const st = fs.fstatSync(fd)
      fs.closeSync(fd)
      fd = undefined
      const le = Buffer.alloc(4)
      le.writeUInt32LE(sum >>> 0)
      parentPort.postMessage({
        type: 'digest', size, sha256: sha256.digest('hex'), md5: md5 ? md5.digest('hex') : undefined, sum32: wantSum ? le.toString('hex') : undefined,
        file: { size: st.size, dev: st.dev, ino: st.ino }
      })
      return
    }
    if (fd !== undefined) fs.closeSync(fd)
    fd = undefined
    if (what === 'close') parentPort.postMessage({ type: 'closed' })
  } catch (e) {
    failed(e)
  }
}
parentPort.on('message', (m) => {
  if (m === 'close' || m === 'end') {
    // a descriptor is closed only when no write is still using it
    after = m
    settle()
    return
  }
  if (broken || fd === undefined) return
  const item = { buffer: m, view: new Uint8Array(m), at: writeAt, written: false }
  writeAt += item.view.length
  queue.push(item)
  next()
})
`

// Measured (1 GiB, perf): with 1 MiB batches the kernel's copy into the page cache cost 1.5× more
// system time than with 512 KiB, which stay in the CPU cache between the threads that touch them.
const BATCH = 512 * 1024
const HIGH_WATER = 8 * 1024 * 1024
const LOW_WATER = 2 * 1024 * 1024

/** The partial file as it stood when the digest was taken. */
export interface FileIdentity {
  size: number
  dev: number
  ino: number
}

/** Digests of the bytes read back from the partial file, and which file that was. */
export type SinkDigest = PackageDigest & { file: FileIdentity }

type FromSink =
  | { type: 'ready'; size: number }
  | { type: 'ack'; bytes: number; buffer: ArrayBuffer }
  | { type: 'digest'; size: number; sha256: string; md5?: string; sum32?: string; file: FileIdentity }
  | { type: 'error'; message: string; code?: string }
  | { type: 'closed' }

/**
 * Where a download's bytes go: a worker thread appends them to the partial file and hashes them, so
 * the thread that runs TLS does nothing else (measured: hashing and writing were ~30 % of it).
 * `written` counts bytes that are on disk and hashed; memory in flight is bounded by the callers
 * pausing the network while `congested`.
 */
export class PackageSink {
  /** Bytes on disk and hashed (including what an earlier run left). */
  written = 0
  private inflight = 0
  private batch: Uint8Array | null = null
  private pool: Uint8Array[] = []
  private filled = 0
  private failure: Error | null = null
  private waiters: Array<() => void> = []
  private digestWaiter: ((d: SinkDigest) => void) | null = null
  private closed: (() => void) | null = null
  private disposed = false
  private readonly worker: Worker
  private isReady = false

  constructor(
    readonly path: string,
    digests: { md5?: boolean; sum32?: boolean }
  ) {
    this.worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { path, md5: Boolean(digests.md5), sum32: Boolean(digests.sum32), batch: BATCH } })
    this.worker.on('message', (m: FromSink) => {
      if (m.type === 'ready') {
        this.written = m.size
        this.isReady = true
        this.wake()
      } else if (m.type === 'ack') {
        if (m.buffer.byteLength === BATCH) this.pool.push(new Uint8Array(m.buffer))
        this.inflight -= m.bytes
        this.written += m.bytes
        this.wake()
      } else if (m.type === 'digest') {
        this.digestWaiter?.({ size: m.size, sha256: m.sha256, ...(m.md5 ? { md5: m.md5 } : {}), ...(m.sum32 ? { sum32: m.sum32 } : {}), file: m.file })
      } else if (m.type === 'closed') {
        this.closed?.()
      } else this.fail(new FlashlineError('download', 'disk', `cannot write the package to ${path}: ${m.message}`, m.code ? { errno: m.code } : undefined))
    })
    this.worker.on('error', (e) => this.fail(new FlashlineError('download', 'disk', `the download writer failed: ${e.message}`)))
  }

  /** Resolves once earlier bytes in the partial file are hashed; `written` is then where to resume. */
  async open(): Promise<number> {
    await this.until(() => this.isReady)
    if (this.failure) throw this.failure
    return this.written
  }

  private fail(e: Error): void {
    this.failure ??= e
    this.wake()
    this.digestWaiter = null
  }

  private wake(): void {
    const w = this.waiters
    this.waiters = []
    for (const f of w) f()
  }

  write(chunk: Uint8Array): void {
    if (this.failure) throw this.failure
    let off = 0
    while (off < chunk.length) {
      if (!this.batch) this.batch = this.pool.pop() ?? new Uint8Array(BATCH)
      const n = Math.min(chunk.length - off, BATCH - this.filled)
      this.batch.set(chunk.subarray(off, off + n), this.filled)
      this.filled += n
      off += n
      if (this.filled === BATCH) this.post()
    }
  }

  private post(): void {
    if (!this.batch || !this.filled) return
    const out = this.filled === BATCH ? this.batch : this.batch.slice(0, this.filled)
    if (out !== this.batch) this.pool.push(this.batch)
    this.worker.postMessage(out.buffer, [out.buffer as ArrayBuffer])
    this.inflight += this.filled
    this.batch = null
    this.filled = 0
  }

  get congested(): boolean {
    return this.inflight > HIGH_WATER
  }

  /** Resolves when the backlog is small again (or the sink failed: the next write throws). */
  drained(): Promise<void> {
    return this.until(() => this.inflight <= LOW_WATER)
  }

  /** Sends what is batched and resolves when every byte is on disk and hashed. */
  async settle(): Promise<void> {
    this.post()
    await this.until(() => this.inflight === 0)
    if (this.failure) throw this.failure
  }

  private until(ok: () => boolean): Promise<void> {
    return new Promise((resolve) => {
      const check = (): void => {
        if (ok() || this.failure) resolve()
        else this.waiters.push(check)
      }
      check()
    })
  }

  /** Closes the file and returns the digests of everything written (as read back) and the file's identity. */
  async digest(): Promise<SinkDigest> {
    await this.settle()
    const d = await new Promise<SinkDigest>((resolve, reject) => {
      this.digestWaiter = resolve
      const check = (): void => void (this.failure ? reject(this.failure) : this.waiters.push(check))
      check()
      this.worker.postMessage('end')
    })
    await this.dispose()
    return d
  }

  /** Closes the file (a worker's descriptors outlive it) and stops the worker. Safe to call twice. */
  async dispose(): Promise<void> {
    if (this.disposed) return
    this.disposed = true
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, 2000)
      this.closed = () => (clearTimeout(t), resolve())
      this.worker.postMessage('close')
    })
    await this.worker.terminate()
  }
}
