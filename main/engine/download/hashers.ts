import { createHash, type Hash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import type { PackageExpectation } from '../model'

export interface PackageDigest {
  size: number
  sha256: string
  /** Computed only where asked for (PackageHasher always; PackageSink when requested). */
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
