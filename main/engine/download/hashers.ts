import { createHash, type Hash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import type { PackageExpectation } from '../model'

export interface PackageDigest {
  size: number
  sha256: string
  md5: string
  /** FogCloud additive checksum: sum of all bytes mod 2^32, as 4 bytes little-endian, lowercase hex. */
  sum32: string
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
    let s = 0
    // A float64 holds the sum of up to 2^45 bytes exactly; fold once per chunk.
    for (let i = 0; i < chunk.length; i++) s += chunk[i]!
    this.sum = (this.sum + s) % 0x1_0000_0000
    this.size += chunk.length
  }

  digest(): PackageDigest {
    const le = Buffer.alloc(4)
    le.writeUInt32LE(this.sum >>> 0)
    return { size: this.size, sha256: this.sha256.digest('hex'), md5: this.md5.digest('hex'), sum32: le.toString('hex') }
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
    if (want !== undefined && want.toLowerCase() !== actual[field]) return { field, expected: want.toLowerCase(), actual: actual[field] }
  }
  return null
}
