import { createHash } from 'node:crypto'

/**
 * How the simulated bootloader reads and validates an image in its slot, written from MCUboot's
 * boot/bootutil/include/bootutil/image.h (struct image_header, image_tlv_info, image_tlv),
 * boot/bootutil/src/tlv.c (bootutil_tlv_iter_begin/next), boot/bootutil/src/bootutil_img_hash.c and
 * image_validate.c (bootutil_img_validate: SHA-256 over header + image + protected TLVs must equal the
 * IMAGE_TLV_SHA256 entry). Independent of the flasher's parser on purpose.
 */
export const IMAGE_MAGIC = 0x96f3b83d
export const IMAGE_TLV_INFO_MAGIC = 0x6907
export const IMAGE_TLV_PROT_INFO_MAGIC = 0x6908
export const IMAGE_TLV_SHA256 = 0x10
export const IMAGE_TLV_SEC_CNT = 0x50
export const IMAGE_HEADER_SIZE = 32
const IMAGE_HASH_LEN = 32
export const IMAGE_F_NON_BOOTABLE = 0x10

export interface ImageVersion {
  iv_major: number
  iv_minor: number
  iv_revision: number
  iv_build_num: number
}

export interface ImageHeader {
  ih_magic: number
  ih_load_addr: number
  ih_hdr_size: number
  ih_protect_tlv_size: number
  ih_img_size: number
  ih_flags: number
  ih_ver: ImageVersion
}

/** flash_area_read(fap, 0, &hdr, sizeof(hdr)); little-endian fields. */
export function readImageHeader(slot: Buffer): ImageHeader | null {
  if (slot.length < IMAGE_HEADER_SIZE) return null
  return {
    ih_magic: slot.readUInt32LE(0),
    ih_load_addr: slot.readUInt32LE(4),
    ih_hdr_size: slot.readUInt16LE(8),
    ih_protect_tlv_size: slot.readUInt16LE(10),
    ih_img_size: slot.readUInt32LE(12),
    ih_flags: slot.readUInt32LE(16),
    ih_ver: { iv_major: slot[20]!, iv_minor: slot[21]!, iv_revision: slot.readUInt16LE(22), iv_build_num: slot.readUInt32LE(24) }
  }
}

/** boot_serial.c bs_list_img_ver: "major.minor.revision", ".build" only when the build number is not 0. */
export function bsListImgVer(v: ImageVersion): string {
  return `${v.iv_major}.${v.iv_minor}.${v.iv_revision}${v.iv_build_num !== 0 ? `.${v.iv_build_num}` : ''}`
}

/** Zephyr subsys/mgmt/mcumgr/grp/img_mgmt/src/img_mgmt_util.c img_mgmt_ver_str: "%hu.%hu.%hu", then ".%u" only when iv_build_num != 0. */
export function imgMgmtVerStr(v: ImageVersion): string {
  let s = `${v.iv_major & 0xffff}.${v.iv_minor & 0xffff}.${v.iv_revision}`
  if (v.iv_build_num !== 0) s += `.${v.iv_build_num >>> 0}`
  return s
}

export interface Tlv {
  type: number
  /** Offset of the value in the slot. */
  off: number
  len: number
  protected: boolean
}

export interface TlvArea {
  /** BOOT_TLV_OFF(hdr): header + image. */
  start: number
  /** End of the protected TLVs (start + ih_protect_tlv_size). */
  protEnd: number
  /** End of the whole TLV area. */
  end: number
  tlvs: Tlv[]
}

/** bootutil_tlv_iter_begin + bootutil_tlv_iter_next over IMAGE_TLV_ANY; null where those return -1. */
export function tlvArea(slot: Buffer, hdr: ImageHeader): TlvArea | null {
  const start = hdr.ih_hdr_size + hdr.ih_img_size
  if (start + 4 > slot.length) return null
  let magic = slot.readUInt16LE(start)
  let tot = slot.readUInt16LE(start + 2)
  if (magic === IMAGE_TLV_PROT_INFO_MAGIC) {
    if (hdr.ih_protect_tlv_size !== tot) return null
    if (start + tot + 4 > slot.length) return null
    magic = slot.readUInt16LE(start + tot)
    tot = slot.readUInt16LE(start + tot + 2)
  } else if (hdr.ih_protect_tlv_size !== 0) {
    return null
  }
  if (magic !== IMAGE_TLV_INFO_MAGIC) return null
  const protEnd = start + hdr.ih_protect_tlv_size
  const end = protEnd + tot
  if (end > slot.length) return null
  const tlvs: Tlv[] = []
  let off = start + 4
  while (off < end) {
    if (hdr.ih_protect_tlv_size > 0 && off === protEnd) {
      off += 4 // the unprotected area's image_tlv_info
      continue
    }
    if (off + 4 > end) return null
    const type = slot.readUInt16LE(off)
    const len = slot.readUInt16LE(off + 2)
    if (len > end - off - 4) return null
    tlvs.push({ type, off: off + 4, len, protected: off < protEnd })
    off += 4 + len
  }
  return { start, protEnd, end, tlvs }
}

export type Validation = { ok: true; hash: Buffer; end: number } | { ok: false; why: string }

/**
 * bootutil_img_validate with a SHA-256-only configuration (no signature key): hash header + image +
 * protected TLVs (bootutil_img_hash: ih_hdr_size + ih_img_size + ih_protect_tlv_size) and compare it
 * with the IMAGE_TLV_SHA256 entry, which must be present.
 */
export function validateImage(slot: Buffer, slotSize = slot.length): Validation {
  const hdr = readImageHeader(slot)
  if (!hdr || hdr.ih_magic !== IMAGE_MAGIC) return { ok: false, why: 'no image header magic' }
  const area = tlvArea(slot, hdr)
  if (!area) return { ok: false, why: 'TLV area malformed (magic, protected size or lengths)' }
  if (area.end > slotSize) return { ok: false, why: 'TLV beyond image size' }
  const hashed = createHash('sha256').update(slot.subarray(0, area.protEnd)).digest()
  let found: Buffer | null = null
  for (const tlv of area.tlvs) {
    if (tlv.type !== IMAGE_TLV_SHA256) continue
    if (tlv.len !== IMAGE_HASH_LEN) return { ok: false, why: 'SHA-256 TLV of the wrong length' }
    const value = slot.subarray(tlv.off, tlv.off + tlv.len)
    if (!value.equals(hashed)) return { ok: false, why: 'SHA-256 TLV does not match the image' }
    found = Buffer.from(value)
  }
  if (!found) return { ok: false, why: 'no SHA-256 TLV' }
  return { ok: true, hash: found, end: area.end }
}

/**
 * Zephyr img_mgmt_read_info: version and hash of a slot without validating the image (magic, then the
 * protected TLV area if any, then the SHA-256 entry of the TLV area).
 */
export function imgMgmtReadInfo(slot: Buffer): { ver: ImageVersion; hash: Buffer; flags: number } | null {
  const hdr = readImageHeader(slot)
  if (!hdr || hdr.ih_magic !== IMAGE_MAGIC) return null
  let off = hdr.ih_hdr_size + hdr.ih_img_size
  if (off + 4 <= slot.length && slot.readUInt16LE(off) === IMAGE_TLV_PROT_INFO_MAGIC) off += slot.readUInt16LE(off + 2)
  if (off + 4 > slot.length || slot.readUInt16LE(off) !== IMAGE_TLV_INFO_MAGIC) return null
  // img_mgmt_find_tlvs sets end = start + sizeof(image_tlv_info) + it_tlv_tot, 4 bytes past the area
  // (it_tlv_tot counts the info header); the erased bytes there read as a TLV that is skipped.
  const end = off + 4 + slot.readUInt16LE(off + 2)
  let hash: Buffer | null = null
  for (let p = off + 4; p + 4 <= end && p + 4 <= slot.length; ) {
    const type = slot.readUInt16LE(p)
    const len = slot.readUInt16LE(p + 2)
    if (type === 0xff && len === 0xffff) return null
    if (type === IMAGE_TLV_SHA256 && len === IMAGE_HASH_LEN) {
      if (hash || p + 4 + len > end) return null
      hash = Buffer.from(slot.subarray(p + 4, p + 4 + len))
    }
    p += 4 + len
  }
  return hash ? { ver: hdr.ih_ver, hash, flags: hdr.ih_flags } : null
}
