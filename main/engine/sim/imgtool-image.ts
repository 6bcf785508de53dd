import { createHash } from 'node:crypto'

/**
 * Builds test images laid out as MCUboot's imgtool writes them (scripts/imgtool/image.py: Image.create,
 * add_header, class TLV), unsigned: `imgtool sign --pad-header --header-size H --version V
 * [--security-counter N]`.
 *   header (32 bytes, little-endian): magic 0x96f3b83d | load_addr 0 | hdr_size H | protect_tlv_size |
 *     img_size | flags 0 | major u8, minor u8, revision u16, build u32 | pad 0
 *   then 0xff up to H (--pad-header fills with the erased value), the application,
 *   the protected TLV area if any (0x6908, total incl. its 4-byte info; SEC_CNT 0x50 = u32),
 *   and the TLV area (0x6907, total incl. info; SHA256 0x10 over everything before it).
 * Used by the simulators, tests and the bench; the flasher has its own reader (flash/mcuboot-image.ts).
 */
export interface ImgtoolVersion {
  major: number
  minor: number
  revision: number
  build?: number
}

export interface ImgtoolOptions {
  /** --header-size: 0x20 (the bare header) up to e.g. 0x200 as Zephyr builds use. Default 0x20. */
  headerSize?: number
  /** --security-counter: adds the protected TLV area with a SEC_CNT entry. */
  securityCounter?: number
}

const IMAGE_MAGIC = 0x96f3b83d
const TLV_INFO_MAGIC = 0x6907
const TLV_PROT_INFO_MAGIC = 0x6908
const TLV_SHA256 = 0x10
const TLV_SEC_CNT = 0x50

function tlvArea(magic: number, entries: Array<[number, Buffer]>): Buffer {
  const body = Buffer.concat(
    entries.map(([type, value]) => {
      const h = Buffer.alloc(4)
      h.writeUInt16LE(type, 0)
      h.writeUInt16LE(value.length, 2)
      return Buffer.concat([h, value])
    })
  )
  const info = Buffer.alloc(4)
  info.writeUInt16LE(magic, 0)
  info.writeUInt16LE(4 + body.length, 2)
  return Buffer.concat([info, body])
}

export function buildMcubootImage(app: Buffer, version: ImgtoolVersion, options: ImgtoolOptions = {}): Buffer {
  const headerSize = options.headerSize ?? 0x20
  if (!Number.isInteger(headerSize) || headerSize < 32 || headerSize > 0xffff) throw new Error(`header size ${headerSize} must be 32…65535 bytes`)
  const prot = options.securityCounter === undefined ? Buffer.alloc(0) : tlvArea(TLV_PROT_INFO_MAGIC, [[TLV_SEC_CNT, u32(options.securityCounter)]])
  const header = Buffer.alloc(headerSize, 0xff)
  header.fill(0, 0, 32)
  header.writeUInt32LE(IMAGE_MAGIC, 0)
  header.writeUInt16LE(headerSize, 8)
  header.writeUInt16LE(prot.length, 10)
  header.writeUInt32LE(app.length, 12)
  header[20] = version.major
  header[21] = version.minor
  header.writeUInt16LE(version.revision, 22)
  header.writeUInt32LE(version.build ?? 0, 24)
  const hashed = Buffer.concat([header, app, prot])
  const tlv = tlvArea(TLV_INFO_MAGIC, [[TLV_SHA256, createHash('sha256').update(hashed).digest()]])
  return Buffer.concat([hashed, tlv])
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4)
  b.writeUInt32LE(n >>> 0, 0)
  return b
}
