/**
 * Deterministic demo/test firmware images. Each carries a marker with its version, which the
 * simulated devices print after "rebooting" — so a version probe proves what was really flashed.
 */
const MARKER = 'FLASHLINE-FW version='

export function makeFirmwareImage(options: { version: string; size: number; seed?: number }): Buffer {
  const { version, size } = options
  const buf = Buffer.alloc(size)
  let x = (options.seed ?? 0x9e3779b9) >>> 0 || 1
  for (let i = 0; i < size; i++) {
    // xorshift32: incompressible-looking but reproducible bytes
    x ^= x << 13
    x >>>= 0
    x ^= x >>> 17
    x ^= x << 5
    x >>>= 0
    buf[i] = x & 0xff
  }
  const marker = Buffer.from(`${MARKER}${version}\n`, 'latin1')
  const at = size >= 0x100 + marker.length ? 0x100 : 0
  if (marker.length > size) throw new Error(`image of ${size} bytes is too small for its version marker`)
  marker.copy(buf, at)
  return buf
}

/** The bytes that mark an image as version `version` (what findImageVersion looks for). */
export function versionMarker(version: string): Buffer {
  return Buffer.from(`${MARKER}${version}\n`, 'latin1')
}

/** The version marked in an image, or undefined for a foreign image. */
export function findImageVersion(image: Uint8Array): string | undefined {
  const b = Buffer.from(image.buffer, image.byteOffset, image.byteLength)
  const i = b.indexOf(MARKER, 0, 'latin1')
  if (i < 0) return undefined
  const end = b.indexOf(0x0a, i)
  if (end < 0) return undefined
  return b.subarray(i + MARKER.length, end).toString('latin1')
}
