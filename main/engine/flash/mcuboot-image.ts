import { createHash } from 'node:crypto'

/**
 * The MCUboot image format (imgtool output; MCUboot bootutil/include/bootutil/image.h): a header, the
 * application, an optional protected TLV area, then the TLV area. We read just enough to check what we
 * are about to upload and to recognise it in the device's image list.
 *   header: magic u32 0x96f3b83d | load_addr u32 | hdr_size u16 | protect_tlv_size u16 | img_size u32
 *           | flags u32 | version: major u8, minor u8, revision u16, build u32 | pad u32
 *   at hdr_size + img_size: protected TLVs if protect_tlv_size > 0 (magic u16 0x6908 | total u16 =
 *   protect_tlv_size), then magic u16 0x6907 | total u16 | {type u16, len u16, value}…
 *   (totals include their own 4-byte info). Type 0x10 = SHA-256 over header + image + protected TLVs.
 */
export const IMAGE_MAGIC = 0x96f3b83d
const TLV_INFO_MAGIC = 0x6907
const TLV_PROT_INFO_MAGIC = 0x6908
const TLV_SHA256 = 0x10

export interface ImageVersion {
  major: number
  minor: number
  revision: number
  build: number
}

export interface McubootImageInfo {
  /** As MCUboot lists it: "1.2.3", or "1.2.3.4" when the build number is not 0. */
  version: string
  versionNumbers: ImageVersion
  headerSize: number
  protectedTlvSize: number
  imageSize: number
  /** The SHA-256 TLV: what MCUboot validates at boot and lists as the image hash. */
  hash?: Buffer
  /** Set when the TLV area is laid out in a way MCUboot's TLV walk refuses (it would not boot the image). */
  tlvProblem?: string
}

/**
 * MCUboot's rendering: boot_serial.c bs_list_img_ver and Zephyr's img_mgmt_ver_str both print
 * "major.minor.revision" and append ".build" only when the build number is not 0.
 */
export function formatImageVersion(v: ImageVersion): string {
  return `${v.major}.${v.minor}.${v.revision}${v.build !== 0 ? `.${v.build}` : ''}`
}

/** Parses a version as a device lists it ("1.2.3" or "1.2.3.4"); null for anything else. */
export function parseListedVersion(s: unknown): ImageVersion | null {
  if (typeof s !== 'string') return null
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,5})(?:\.(\d{1,10}))?$/.exec(s)
  if (!m) return null
  return { major: Number(m[1]), minor: Number(m[2]), revision: Number(m[3]), build: m[4] === undefined ? 0 : Number(m[4]) }
}

/** True when the device's listed version is the same version number as the image header's (a missing build is 0). */
export function listedVersionMatches(listed: unknown, v: ImageVersion): boolean {
  const p = parseListedVersion(listed)
  return p !== null && p.major === v.major && p.minor === v.minor && p.revision === v.revision && p.build === v.build
}

/** Parses the header and TLVs of an MCUboot image; null when `data` does not start with one. */
export function parseMcubootImage(data: Buffer): McubootImageInfo | null {
  if (data.length < 32 || data.readUInt32LE(0) !== IMAGE_MAGIC) return null
  const headerSize = data.readUInt16LE(8)
  const protectedTlvSize = data.readUInt16LE(10)
  const imageSize = data.readUInt32LE(12)
  const versionNumbers = { major: data[20]!, minor: data[21]!, revision: data.readUInt16LE(22), build: data.readUInt32LE(24) }
  const info: McubootImageInfo = { version: formatImageVersion(versionNumbers), versionNumbers, headerSize, protectedTlvSize, imageSize }
  const problem = (why: string): McubootImageInfo => ({ ...info, tlvProblem: why })
  const start = headerSize + imageSize
  if (headerSize < 32 || start + 4 > data.length) return problem(`the file ends before its TLV area (header ${headerSize} + image ${imageSize} bytes, file ${data.length})`)
  let off = start
  if (data.readUInt16LE(off) === TLV_PROT_INFO_MAGIC) {
    const total = data.readUInt16LE(off + 2)
    if (total !== protectedTlvSize) return problem(`the protected TLV area is ${total} bytes but the header says ${protectedTlvSize}`)
    off += total
  } else if (protectedTlvSize !== 0) {
    return problem(`the header announces ${protectedTlvSize} bytes of protected TLVs but there is no protected TLV area (0x6908)`)
  }
  if (off + 4 > data.length || data.readUInt16LE(off) !== TLV_INFO_MAGIC) return problem('no TLV area (magic 0x6907) after the image')
  const end = off + data.readUInt16LE(off + 2)
  if (end > data.length) return problem(`the TLV area runs ${end - data.length} bytes past the end of the file`)
  // Walk the protected entries (if any) and then the others, skipping the second info header.
  const areas: Array<[number, number]> = protectedTlvSize ? [[start + 4, start + protectedTlvSize], [off + 4, end]] : [[off + 4, end]]
  for (const [from, to] of areas) {
    for (let p = from; p < to; ) {
      if (p + 4 > to) return problem(`a TLV header at offset ${p} overruns its area`)
      const type = data.readUInt16LE(p)
      const len = data.readUInt16LE(p + 2)
      if (p + 4 + len > to) return problem(`the TLV of type 0x${type.toString(16)} at offset ${p} overruns its area`)
      if (type === TLV_SHA256 && len === 32) info.hash = Buffer.from(data.subarray(p + 4, p + 4 + len))
      p += 4 + len
    }
  }
  return info
}

/** True when the SHA-256 TLV matches header + image + protected TLVs, i.e. what MCUboot checks before booting. */
export function mcubootImageIntact(data: Buffer): boolean {
  const info = parseMcubootImage(data)
  if (!info?.hash || info.tlvProblem) return false
  const signed = data.subarray(0, info.headerSize + info.imageSize + info.protectedTlvSize)
  return createHash('sha256').update(signed).digest().equals(info.hash)
}
