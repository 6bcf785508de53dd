import { createHash } from 'node:crypto'

/**
 * The MCUboot image format (imgtool output): a header, the application, then TLVs. We read just
 * enough to check what we are about to upload and to recognise it in the device's image list.
 *   header: magic u32 0x96f3b83d | load_addr u32 | hdr_size u16 | protect_tlv_size u16 | img_size u32
 *           | flags u32 | version: major u8, minor u8, revision u16, build u32 | …
 *   TLV area after hdr_size + img_size: magic u16 0x6907 (or 0x6908 protected) | total u16 | {type u16, len u16, value}…
 *   type 0x10 = SHA-256 over header + image (+ protected TLVs).
 */
export const IMAGE_MAGIC = 0x96f3b83d
const TLV_INFO_MAGIC = 0x6907
const TLV_PROT_INFO_MAGIC = 0x6908
const TLV_SHA256 = 0x10

export interface McubootImageInfo {
  version: string
  headerSize: number
  imageSize: number
  /** The SHA-256 TLV: what MCUboot validates at boot and lists as the image hash. */
  hash?: Buffer
}

/** MCUboot's own rendering (boot_serial.c bs_list: "%u.%u.%u.%u"). */
export function formatImageVersion(major: number, minor: number, revision: number, build: number): string {
  return `${major}.${minor}.${revision}.${build}`
}

/** Parses the header and TLVs of an MCUboot image; null when `data` does not start with one. */
export function parseMcubootImage(data: Buffer): McubootImageInfo | null {
  if (data.length < 32 || data.readUInt32LE(0) !== IMAGE_MAGIC) return null
  const headerSize = data.readUInt16LE(8)
  const protectedTlvSize = data.readUInt16LE(10)
  const imageSize = data.readUInt32LE(12)
  const version = formatImageVersion(data[20]!, data[21]!, data.readUInt16LE(22), data.readUInt32LE(24))
  const info: McubootImageInfo = { version, headerSize, imageSize }
  let off = headerSize + imageSize
  if (protectedTlvSize && off + 4 <= data.length && data.readUInt16LE(off) === TLV_PROT_INFO_MAGIC) off += data.readUInt16LE(off + 2)
  if (off + 4 > data.length || data.readUInt16LE(off) !== TLV_INFO_MAGIC) return info
  const end = Math.min(data.length, off + data.readUInt16LE(off + 2))
  for (let p = off + 4; p + 4 <= end; ) {
    const type = data.readUInt16LE(p)
    const len = data.readUInt16LE(p + 2)
    if (type === TLV_SHA256 && len === 32 && p + 4 + len <= end) info.hash = Buffer.from(data.subarray(p + 4, p + 4 + len))
    p += 4 + len
  }
  return info
}

/** True when the SHA-256 TLV matches header + image, i.e. what MCUboot checks before booting. */
export function mcubootImageIntact(data: Buffer): boolean {
  const info = parseMcubootImage(data)
  if (!info?.hash) return false
  const signed = data.subarray(0, info.headerSize + info.imageSize)
  return createHash('sha256').update(signed).digest().equals(info.hash)
}
