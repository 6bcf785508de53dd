import { EventEmitter } from 'node:events'
import * as cbor from 'cbor'
import { FlashlineError } from '../errors'
import type { Transport } from '../transport/transport'
import { bsListImgVer, IMAGE_F_NON_BOOTABLE, imgMgmtReadInfo, imgMgmtVerStr, readImageHeader, validateImage } from './bootutil-image'
import { findImageVersion, makeFirmwareImage } from './firmware-image'
import { buildMcubootImage } from './imgtool-image'
import { ConsoleReceiver, frameBody, NMGR_HDR_SIZE, readNmgrHeader, responseBody, type NmgrHeader } from './smp-console'
import { zcborMap, type ZEntries, type ZValue } from './zcbor-out'

/**
 * Personalities:
 *  - mcuboot: MCUboot's serial recovery (boot/boot_serial/src/boot_serial.c) as Zephyr builds it by
 *    default (boot/zephyr/Kconfig.serial_recovery: BOOT_SERIAL_IMG_GRP_HASH=y, IMAGE_STATE=n) plus
 *    BOOT_MGMT_ECHO: image list, upload, reset, echo; anything else answers rc 8 (MGMT_ERR_ENOTSUP).
 *  - zephyr: answers as Zephyr's SMP server with img_mgmt and os_mgmt (subsys/mgmt/mcumgr/grp/…) does
 *    to SMP version 1 requests: "mcumgr params" (buf_size), an upload that resumes when the same `sha`
 *    comes again at offset 0, the image list with flags and splitStatus. The simulator keeps a single slot,
 *    so uploads land in slot 0 for both personalities.
 */
export type McubootPersonality = 'mcuboot' | 'zephyr'

export interface McubootDeviceOptions {
  personality?: McubootPersonality
  /** Version of the application initially in slot 0 ("1.0.0" → header 1.0.0 build 0, banner "version: 1.0.0"). */
  version?: string
  /** MCUBOOT_SERIAL_MAX_RECEIVE_SIZE: the largest decoded packet; larger ones are dropped without an answer. */
  receiveBuffer?: number
  slotSize?: number
  /** flash_area_align: MCUboot writes whole units and asks again for a chunk's tail (Zephyr's img_mgmt writes all). */
  writeAlign?: number
  /** Erase time of the slot on offset 0. */
  eraseMs?: number
  /** Fault injection: these upload requests (1-based count) are lost on the line: no answer, nothing written. */
  dropUploads?: number[]
  /** Fault injection for later sessions; also settable through `device.faults`. */
  faults?: McubootFaults
}

/**
 * Faults the device injects, each once: the field is cleared when it fires and the device emits
 * 'fault' with its name. Upload requests are counted from the start of each session (each open of
 * the link). Set them between sessions (tests, the soak).
 */
export interface McubootFaults {
  /** The device answers this many upload requests of a session, then hangs: it drops every later packet until the link closes. */
  stallAfterUploads?: number
  /** The answer to this upload request (1-based in the session) goes out with one base64 character changed, so its CRC fails on the host; the chunk was written. */
  corruptReplyAtUpload?: number
}

/** One upload request as the device received it. */
export interface UploadRequest {
  off: number
  length: number
  dropped: boolean
}

/** MGMT_ERR_* (boot_serial_priv.h; Zephyr's mgmt.h uses the same numbers). */
const RC = { ok: 0, unknown: 1, einval: 3, badState: 6, enotsup: 8, corrupt: 9 } as const
const GROUP = { default: 0, image: 1 } as const
const OP = { read: 0, write: 2 } as const

/**
 * A simulated MCUboot in serial recovery. Packets are handled one at a time, like the single receive
 * buffer of the real thing. After a reset it "boots": if slot 0 holds an image that bootutil validates it
 * prints the application's banner (`version: …` from the app's own marker), then returns to serial recovery.
 */
export class McubootDevice extends EventEmitter {
  slot: Buffer
  /** Upload requests received, dropped ones included. */
  uploads = 0
  readonly uploadLog: UploadRequest[] = []
  resets = 0
  /** Slot erases (each upload started at offset 0, unless a Zephyr upload resumed). */
  erases = 0
  private readonly o: Required<Omit<McubootDeviceOptions, 'version' | 'faults'>>
  /** Faults for later sessions (see McubootFaults). */
  readonly faults: McubootFaults
  private sessionUploads = 0
  /** The link the device hung on (fault injection): its packets are dropped. */
  private hungOn: Transport | null = null
  /** The next answer goes out corrupted (fault injection). */
  private corruptNext = false
  private queue: Promise<void> = Promise.resolve()
  /** bs_upload's static state (boot_serial.c): img_size, curr_off, img_num. */
  private bs = { imgSize: 0, currOff: 0, imgNum: 0 }
  /** Zephyr's g_img_mgmt_state: areaId -1 means no upload in progress. */
  private zs = { areaId: -1, off: 0, size: 0, sha: Buffer.alloc(0) }

  constructor(options: McubootDeviceOptions = {}) {
    super()
    this.o = {
      personality: options.personality ?? 'mcuboot',
      receiveBuffer: options.receiveBuffer ?? 512,
      slotSize: options.slotSize ?? 256 * 1024,
      writeAlign: options.writeAlign ?? 8,
      eraseMs: options.eraseMs ?? 50,
      dropUploads: options.dropUploads ?? []
    }
    this.faults = { ...options.faults }
    this.slot = Buffer.alloc(this.o.slotSize, 0xff)
    const version = options.version ?? '1.0.0'
    const [major, minor, revision] = version.split('.').map((n) => parseInt(n, 10) || 0)
    const app = makeFirmwareImage({ version, size: 2048, seed: 3 })
    buildMcubootImage(app, { major: major ?? 1, minor: minor ?? 0, revision: revision ?? 0 }).copy(this.slot)
  }

  get personality(): McubootPersonality {
    return this.o.personality
  }

  /** Where the current upload stands (the offset the device asks for next, and the announced length). */
  get uploadState(): { off: number; size: number } {
    return this.o.personality === 'zephyr' ? { off: this.zs.off, size: this.zs.size } : { off: this.bs.currOff, size: this.bs.imgSize }
  }

  /** The image in slot 0 (header through TLVs) when bootutil would accept it, else null. */
  get image(): Buffer | null {
    const v = validateImage(this.slot)
    return v.ok ? Buffer.from(this.slot.subarray(0, v.end)) : null
  }

  async attach(t: Transport): Promise<void> {
    this.sessionUploads = 0
    const receiver = new ConsoleReceiver(
      this.o.receiveBuffer,
      (body) => {
        this.queue = this.queue
          .then(() => this.input(t, body))
          .catch((e: unknown) => void this.emit('log', `sim device: ${(e as Error).message}`))
      },
      (why) => this.emit('log', `dropped ${why}`)
    )
    try {
      // boot/zephyr/main.c logs these before it waits in serial recovery
      await t.write(Buffer.from('I: Starting bootloader\r\nI: Enter the serial recovery mode\r\n', 'latin1'))
      for (;;) {
        try {
          receiver.push(await t.readSome(60_000))
        } catch (e) {
          if (!(e instanceof FlashlineError && e.code === 'timeout')) throw e
        }
      }
    } catch (e) {
      if (!(e instanceof FlashlineError && (e.code === 'port-closed' || e.code === 'port-lost'))) this.emit('log', `sim device stopped: ${(e as Error).message}`)
    }
  }

  private async send(t: Transport, req: NmgrHeader, payload: ZEntries): Promise<void> {
    const frame = frameBody(responseBody(req, zcborMap(payload)))
    if (this.corruptNext) {
      this.corruptNext = false
      this.emit('fault', 'corrupt-reply')
      const at = 2 + Math.floor((Math.min(frame.indexOf(0x0a), frame.length) - 2) / 2) // a base64 character of the first line
      frame[at] = frame[at] === 0x41 ? 0x42 : 0x41 // 'A' ↔ 'B'
    }
    await t.write(frame)
  }

  private async input(t: Transport, body: Buffer): Promise<void> {
    if (this.hungOn === t) return
    if (body.length < NMGR_HDR_SIZE) return
    const h = readNmgrHeader(body)
    const data = body.subarray(NMGR_HDR_SIZE)
    return this.o.personality === 'zephyr' ? this.zephyr(t, h, data) : this.mcuboot(t, h, data)
  }

  private async mcuboot(t: Transport, h: NmgrHeader, data: Buffer): Promise<void> {
    // boot_serial_input: not a read/write, or a header length shorter than the data → ignored
    if (h.op !== OP.read && h.op !== OP.write) return
    if (h.len < data.length) return
    if (h.group === GROUP.image) {
      if (h.id === 0) return h.op === OP.read ? this.send(t, h, this.bsList()) : this.send(t, h, [['rc', RC.enotsup]]) // bs_set needs IMAGE_STATE
      if (h.id === 1) return this.bsUpload(t, h, data)
    } else if (h.group === GROUP.default) {
      if (h.id === 0) return this.echo(t, h, data)
      if (h.id === 1) return this.send(t, h, [['rc', 0]]) // NMGR_ID_CONS_ECHO_CTRL
      if (h.id === 5) return this.reset(t, h, [['rc', 0]])
    }
    return this.send(t, h, [['rc', RC.enotsup]])
  }

  /** smp_process_request_packet (Zephyr subsys/mgmt/mcumgr/smp/src/smp.c) with SMP v1 error codes. */
  private async zephyr(t: Transport, h: NmgrHeader, body: Buffer): Promise<void> {
    if (body.length < h.len) return this.send(t, h, [['rc', RC.corrupt]]) // MGMT_ERR_ECORRUPT
    if (h.op !== OP.read && h.op !== OP.write) return this.send(t, h, [['rc', RC.enotsup]])
    const data = body.subarray(0, h.len)
    if (h.group === GROUP.image && h.id === 0 && h.op === OP.read) return this.send(t, h, this.imgMgmtStateRead())
    if (h.group === GROUP.image && h.id === 1 && h.op === OP.write) return this.imgMgmtUpload(t, h, data)
    if (h.group === GROUP.default && h.id === 0) return this.echo(t, h, data)
    if (h.group === GROUP.default && h.id === 5 && h.op === OP.write) return this.reset(t, h, [])
    // os_mgmt_mcumgr_params: the SMP buffer size and count
    if (h.group === GROUP.default && h.id === 6 && h.op === OP.read) return this.send(t, h, [['buf_size', this.o.receiveBuffer], ['buf_count', 1]])
    return this.send(t, h, [['rc', RC.enotsup]])
  }

  /** bs_echo / os_mgmt_echo: {"r": d}; no "d" text → rc 3 (bs_echo also wants "d" to be the map's last key). */
  private async echo(t: Transport, h: NmgrHeader, data: Buffer): Promise<void> {
    const req = decodeMap(data)
    const d = req?.get('d')
    if (typeof d !== 'string') return this.send(t, h, [['rc', RC.einval]])
    if (this.o.personality === 'mcuboot' && [...req!.keys()].at(-1) !== 'd') return this.send(t, h, [['rc', RC.einval]])
    return this.send(t, h, [['r', d]])
  }

  private async reset(t: Transport, h: NmgrHeader, answer: ZEntries): Promise<void> {
    this.resets++ // counted before answering: the host may look as soon as the answer arrives
    await this.send(t, h, answer)
    return this.boot(t)
  }

  /** bs_list: images that bootutil_img_validate accepts; "slot", "hash" (IMG_GRP_HASH), "version" (bs_list_img_ver). */
  private bsList(): ZEntries {
    const images: ZValue[] = []
    const v = validateImage(this.slot)
    const hdr = readImageHeader(this.slot)
    if (v.ok && hdr) images.push({ map: [['slot', 0], ['hash', v.hash], ['version', bsListImgVer(hdr.ih_ver)]] })
    return [['images', { list: images }]]
  }

  /** img_mgmt_state_read + img_mgmt_state_encode_slot (not frugal): slot 0 runs, is confirmed and active. */
  private imgMgmtStateRead(): ZEntries {
    const images: ZValue[] = []
    const info = imgMgmtReadInfo(this.slot)
    if (info) {
      images.push({
        map: [
          ['slot', 0],
          ['version', imgMgmtVerStr(info.ver)],
          ['hash', info.hash],
          ['bootable', !(info.flags & IMAGE_F_NON_BOOTABLE)],
          ['pending', false],
          ['confirmed', true],
          ['active', true],
          ['permanent', false]
        ]
      })
    }
    return [['images', { list: images }], ['splitStatus', 0]]
  }

  /** Counts the request and tells whether fault injection loses it (dropped on the line, or the device hangs). */
  private received(t: Transport, req: Map<string, unknown> | null): boolean {
    this.uploads++
    this.sessionUploads++
    const off = req?.get('off')
    const chunk = req?.get('data')
    let dropped = this.o.dropUploads.includes(this.uploads)
    if (this.faults.stallAfterUploads !== undefined && this.sessionUploads > this.faults.stallAfterUploads) {
      this.faults.stallAfterUploads = undefined
      this.hungOn = t
      dropped = true
      this.emit('fault', 'stall')
    } else if (!dropped && this.faults.corruptReplyAtUpload === this.sessionUploads) {
      this.faults.corruptReplyAtUpload = undefined
      this.corruptNext = true
    }
    this.uploadLog.push({ off: typeof off === 'number' ? off : -1, length: chunk instanceof Uint8Array ? chunk.length : 0, dropped })
    this.emit('upload', this.uploadLog.at(-1))
    return dropped
  }

  /** bs_upload (boot_serial.c), non-progressive erase. */
  private async bsUpload(t: Transport, h: NmgrHeader, data: Buffer): Promise<void> {
    const req = decodeMap(data)
    if (this.received(t, req)) return
    const invalid = () => this.send(t, h, [['rc', RC.einval]])
    const f = req && uploadFields(req, ['image', 'data', 'len', 'off'])
    if (!f || f.off === undefined || !f.data) return invalid() // "Offset must be set in every block."
    if (f.off === 0) this.bs.imgNum = f.image ?? 0
    if (this.bs.imgNum !== 0) return invalid() // flash_area_open fails: one image only
    const s = this.bs
    if (f.off === 0) {
      s.currOff = 0
      if (f.len === undefined || f.len > this.o.slotSize) return invalid()
      await this.erase()
      s.imgSize = f.len
    } else if (f.off !== s.currOff) {
      return this.send(t, h, [['rc', 0], ['off', s.currOff]]) // "pretend success" and ask for the expected offset
    } else if (s.currOff + f.data.length > s.imgSize) {
      return invalid()
    }
    let len = f.data.length
    if (s.currOff + len > this.slot.length) return invalid() // flash_area_write fails
    let rem = len % this.o.writeAlign
    len -= rem
    if (s.currOff + len + rem < s.imgSize) rem = 0 // not the last chunk: the tail is asked for again
    this.slot.set(f.data.subarray(0, len), s.currOff)
    if (rem) {
      const unit = Buffer.alloc(this.o.writeAlign, 0xff) // the last unit padded with the erased value
      unit.set(f.data.subarray(len, len + rem))
      this.slot.set(unit.subarray(0, Math.min(unit.length, this.slot.length - s.currOff - len)), s.currOff + len)
    }
    s.currOff += len + rem
    return this.send(t, h, [['rc', 0], ['off', s.currOff]])
  }

  /** img_mgmt_upload + img_mgmt_upload_inspect (Zephyr), SMP v1 error codes as smp_translate_error_code gives them. */
  private async imgMgmtUpload(t: Transport, h: NmgrHeader, data: Buffer): Promise<void> {
    const req = decodeMap(data)
    if (this.received(t, req)) return
    const f = req && uploadFields(req, ['image', 'data', 'len', 'off', 'sha'])
    if (!f) return this.send(t, h, [['rc', RC.einval]])
    const z = this.zs
    const fail = (rc: number) => {
      this.zs = { areaId: -1, off: 0, size: 0, sha: Buffer.alloc(0) } // img_mgmt_reset_upload
      return this.send(t, h, [['rc', rc]])
    }
    const chunk = f.data ?? Buffer.alloc(0)
    if (f.off === undefined) return fail(RC.einval) // IMG_MGMT_ERR_INVALID_OFFSET
    if (f.off === 0) {
      if (chunk.length < 32) return fail(RC.einval) // IMG_MGMT_ERR_INVALID_IMAGE_HEADER
      if (f.len === undefined) return fail(RC.einval) // IMG_MGMT_ERR_INVALID_LENGTH
      if (chunk.readUInt32LE(0) !== 0x96f3b83d) return fail(RC.unknown) // IMG_MGMT_ERR_INVALID_IMAGE_HEADER_MAGIC
      const sha = f.sha ?? Buffer.alloc(0)
      if (sha.length > 32) return fail(RC.einval) // IMG_MGMT_ERR_INVALID_HASH
      if (sha.length > 0 && z.areaId !== -1 && z.sha.equals(sha)) return this.send(t, h, [['off', z.off]]) // resume
      if ((f.image ?? 0) !== 0) return fail(RC.badState) // IMG_MGMT_ERR_NO_FREE_SLOT
      if (f.len > this.o.slotSize) return fail(RC.unknown) // IMG_MGMT_ERR_INVALID_IMAGE_TOO_LARGE
      this.zs = { areaId: 0, off: 0, size: f.len, sha: Buffer.from(sha) }
      await this.erase()
    } else {
      if (f.off !== z.off) return this.send(t, h, [['off', z.off]])
      if (f.off + chunk.length > z.size) return fail(RC.unknown) // IMG_MGMT_ERR_INVALID_IMAGE_DATA_OVERRUN
    }
    if (chunk.length > 0) {
      this.slot.set(chunk, this.zs.off)
      this.zs.off += chunk.length
    }
    const off = this.zs.off
    if (off === this.zs.size) this.zs = { areaId: -1, off: 0, size: 0, sha: Buffer.alloc(0) } // done: reset
    return this.send(t, h, [['off', off]])
  }

  private async erase(): Promise<void> {
    this.erases++
    await new Promise((r) => setTimeout(r, this.o.eraseMs))
    this.slot.fill(0xff)
  }

  /** After bs_reset: bootutil validates slot 0; boot/zephyr/main.c logs, then the application prints its banner. */
  private async boot(t: Transport): Promise<void> {
    await new Promise((r) => setTimeout(r, 20))
    const v = validateImage(this.slot)
    const hdr = readImageHeader(this.slot)
    if (!v.ok || !hdr) {
      this.emit('log', `boot refused: ${v.ok ? 'no header' : v.why}`)
      await t.write(Buffer.from('E: Unable to find bootable image\r\n', 'latin1'))
      return
    }
    const app = this.slot.subarray(hdr.ih_hdr_size, hdr.ih_hdr_size + hdr.ih_img_size)
    const version = findImageVersion(app) ?? bsListImgVer(hdr.ih_ver)
    this.emit('booted', version)
    await t.write(Buffer.from(`I: Bootloader chainload address offset: 0x0\r\nI: Jumping to the first image slot\r\n*** flashline sim application ***\r\nversion: ${version}\r\n`, 'latin1'))
  }
}

/** The request's CBOR map with text keys, or null when it is not one (zcbor_map_decode_bulk fails). */
function decodeMap(data: Buffer): Map<string, unknown> | null {
  let v: unknown
  try {
    v = cbor.decodeFirstSync(data)
  } catch {
    return null
  }
  if (v instanceof Map) return [...v.keys()].every((k) => typeof k === 'string') ? (v as Map<string, unknown>) : null
  if (v && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Uint8Array)) return new Map(Object.entries(v))
  return null
}

interface UploadFields {
  image?: number
  data?: Buffer
  len?: number
  off?: number
  sha?: Buffer
}

/** The typed fields of an upload request that the responder decodes (`keys`; others are skipped); null when one has the wrong type. */
function uploadFields(m: Map<string, unknown>, keys: Array<keyof UploadFields>): UploadFields | null {
  const uint = (k: string): number | undefined | null => {
    const v = m.get(k)
    if (v === undefined) return undefined
    return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 0xffffffff ? v : null
  }
  const bytes = (k: string): Buffer | undefined | null => {
    const v = m.get(k)
    if (v === undefined) return undefined
    return v instanceof Uint8Array ? Buffer.from(v) : null
  }
  const all = { image: uint('image'), data: bytes('data'), len: uint('len'), off: uint('off'), sha: bytes('sha') }
  const f: Record<string, unknown> = {}
  for (const k of keys) {
    if (all[k] === null) return null
    f[k] = all[k]
  }
  return f as UploadFields
}
