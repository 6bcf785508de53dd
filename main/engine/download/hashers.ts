import { createHash, type Hash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { Worker } from 'node:worker_threads'
import type { PackageExpectation } from '../model'

export interface PackageDigest {
  size: number
  sha256: string
  /** Computed only where asked for (PackageHasher always; ParallelPackageHasher when requested). */
  md5?: string
  /** FogCloud additive checksum: sum of all bytes mod 2^32, as 4 bytes little-endian, lowercase hex. */
  sum32?: string
}

/** Every verifier the platforms use, computed in one pass over the bytes. */
export class PackageHasher {
  private sha256: Hash = createHash('sha256')
  private md5: Hash = createHash('md5')
  private sum = 0
  private size = 0

  update(chunk: Uint8Array): void {
    this.sha256.update(chunk)
    this.md5.update(chunk)
    this.sum = (this.sum + byteSum(chunk)) % 0x1_0000_0000
    this.size += chunk.length
  }

  digest(): PackageDigest {
    const le = Buffer.alloc(4)
    le.writeUInt32LE(this.sum >>> 0)
    return { size: this.size, sha256: this.sha256.digest('hex'), md5: this.md5.digest('hex'), sum32: le.toString('hex') }
  }
}

/**
 * Sum of all bytes. Reads aligned 32-bit words and adds bytes 0+2 and 1+3 as 16-bit lanes, folding
 * every 256 words before a lane can overflow: about 3× faster than a byte loop.
 */
export function byteSum(chunk: Uint8Array): number {
  let total = 0
  let i = 0
  const lead = Math.min(chunk.length, (4 - (chunk.byteOffset & 3)) & 3)
  for (; i < lead; i++) total += chunk[i]!
  const words = (chunk.length - i) >>> 2
  if (words > 0) {
    const w = new Uint32Array(chunk.buffer, chunk.byteOffset + i, words)
    let a = 0
    let b = 0
    for (let k = 0; k < words; k++) {
      const x = w[k]!
      a += x & 0x00ff00ff
      b += (x >>> 8) & 0x00ff00ff
      if ((k & 0xff) === 0xff) {
        total += (a & 0xffff) + (a >>> 16) + (b & 0xffff) + (b >>> 16)
        a = 0
        b = 0
      }
    }
    total += (a & 0xffff) + (a >>> 16) + (b & 0xffff) + (b >>> 16)
    i += words * 4
  }
  for (; i < chunk.length; i++) total += chunk[i]!
  return total
}

/** The worker half of ParallelPackageHasher (plain JS, so it runs the same under tsx and in the app bundle). */
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads')
const { createHash } = require('node:crypto')
const md5 = createHash('md5')
let sum = 0
const byteSum = (${byteSum.toString()})
parentPort.on('message', (m) => {
  if (m === 'end') {
    const le = Buffer.alloc(4)
    le.writeUInt32LE(sum >>> 0)
    parentPort.postMessage({ type: 'digest', md5: md5.digest('hex'), sum32: le.toString('hex') })
    return
  }
  const chunk = new Uint8Array(m)
  md5.update(chunk)
  sum = (sum + byteSum(chunk)) % 0x100000000
  parentPort.postMessage({ type: 'ack', bytes: chunk.length })
})
`

const BATCH = 1 << 20
const HIGH_WATER = 32 * 1024 * 1024
const LOW_WATER = 8 * 1024 * 1024

/**
 * The same digests as PackageHasher, with MD5 and the byte sum on a worker thread so a download
 * runs at network speed: SHA-256 (hardware-accelerated) stays here, next to TLS and the disk write.
 * Memory stays bounded: callers pause the source while `congested` and wait for `drained()`.
 */
export class ParallelPackageHasher {
  private sha256: Hash = createHash('sha256')
  private size = 0
  private inflight = 0
  private drainWaiters: Array<() => void> = []
  private digestWaiter: ((d: { md5: string; sum32: string }) => void) | null = null
  private failure: Error | null = null
  private batch: Uint8Array | null = null
  private filled = 0

  private readonly worker: Worker | null

  /** SHA-256 is always computed (it names the cache entry); MD5 and the byte sum only when asked. */
  constructor(readonly extra: { md5?: boolean; sum32?: boolean } = {}) {
    this.worker = extra.md5 || extra.sum32 ? new Worker(WORKER_SOURCE, { eval: true }) : null
    this.worker?.unref()
    this.worker?.on('message', (m: { type: 'ack'; bytes: number } | { type: 'digest'; md5: string; sum32: string }) => {
      if (m.type === 'ack') {
        this.inflight -= m.bytes
        if (this.inflight <= LOW_WATER) this.wakeDrain()
      } else this.digestWaiter?.(m)
    })
    this.worker?.on('error', (e) => {
      this.failure = e
      this.wakeDrain()
    })
  }

  update(chunk: Uint8Array): void {
    this.sha256.update(chunk)
    this.size += chunk.length
    if (!this.worker) return
    // MD5/sum32 go to the worker in 1 MiB batches: one message per MiB, not per network record.
    let off = 0
    while (off < chunk.length) {
      if (!this.batch) this.batch = new Uint8Array(BATCH)
      const n = Math.min(chunk.length - off, BATCH - this.filled)
      this.batch.set(chunk.subarray(off, off + n), this.filled)
      this.filled += n
      off += n
      if (this.filled === BATCH) this.post()
    }
  }

  private post(): void {
    if (!this.worker || !this.batch || !this.filled) return
    const out = this.filled === BATCH ? this.batch : this.batch.slice(0, this.filled)
    this.worker.postMessage(out.buffer, [out.buffer as ArrayBuffer])
    this.inflight += this.filled
    this.batch = null
    this.filled = 0
  }

  get congested(): boolean {
    return this.inflight > HIGH_WATER
  }

  drained(): Promise<void> {
    if (this.inflight <= LOW_WATER || this.failure) return Promise.resolve()
    return new Promise((resolve) => this.drainWaiters.push(resolve))
  }

  private wakeDrain(): void {
    const w = this.drainWaiters
    this.drainWaiters = []
    for (const f of w) f()
  }

  async digest(): Promise<PackageDigest> {
    if (this.failure) throw this.failure
    const sha256 = this.sha256.digest('hex')
    const worker = this.worker
    if (!worker) return { size: this.size, sha256 }
    this.post()
    const rest = await new Promise<{ md5: string; sum32: string }>((resolve, reject) => {
      this.digestWaiter = resolve
      worker.once('error', reject)
      worker.postMessage('end')
    })
    void this.dispose()
    return { size: this.size, sha256, ...(this.extra.md5 ? { md5: rest.md5 } : {}), ...(this.extra.sum32 ? { sum32: rest.sum32 } : {}) }
  }

  async dispose(): Promise<void> {
    await this.worker?.terminate()
  }
}

export function hashBuffer(data: Uint8Array): PackageDigest {
  const h = new PackageHasher()
  h.update(data)
  return h.digest()
}

export async function hashFile(path: string): Promise<PackageDigest> {
  const h = new PackageHasher()
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) h.update(chunk as Buffer)
  return h.digest()
}

export interface Mismatch {
  field: 'size' | 'sha256' | 'md5' | 'sum32'
  expected: string
  actual: string
}

/** The first expectation the package fails, or null. Hex is compared case-insensitively. */
export function compareExpectation(actual: PackageDigest, expect: PackageExpectation): Mismatch | null {
  if (expect.size !== undefined && expect.size !== actual.size) return { field: 'size', expected: String(expect.size), actual: String(actual.size) }
  for (const field of ['sha256', 'md5', 'sum32'] as const) {
    const want = expect[field]
    if (want !== undefined && want.toLowerCase() !== actual[field]) return { field, expected: want.toLowerCase(), actual: actual[field] ?? 'not computed' }
  }
  return null
}
