import { EventEmitter } from 'node:events'
import { FlashlineError } from '../errors'
import { mcubootImageIntact, parseMcubootImage } from '../flash/mcuboot-image'
import { decodeSmpHeader, frameLines, SMP_GROUP, SMP_HEADER_SIZE, SMP_ID, SMP_OP, smpMessage, SmpLineDecoder, smpPayload } from '../flash/smp'
import type { Transport } from '../transport/transport'
import { findImageVersion, makeFirmwareImage } from './firmware-image'
import { buildMcubootImage } from './imgtool-image'

/**
 * Personalities (bench-protocols.md §4.4):
 *  - mcuboot: MCUboot serial recovery with its minimal command set (image list, upload, reset, echo);
 *    anything else answers rc 8.
 *  - zephyr: additionally answers "mcumgr params" (buf_size), as Zephyr's SMP server does, so the
 *    host can raise its MTU, and resumes an interrupted upload of the same image (same `sha`).
 */
export type McubootPersonality = 'mcuboot' | 'zephyr'

export interface McubootDeviceOptions {
  personality?: McubootPersonality
  /** Version of the application initially in slot 0 ("1.0.0" → header 1.0.0.0 and banner "version: 1.0.0"). */
  version?: string
  /** Decoded packet limit (MCUBOOT_SERIAL_MAX_RECEIVE_SIZE); larger packets are dropped without an answer. */
  receiveBuffer?: number
  slotSize?: number
  /** Flash write unit: chunk tails that are not whole units are dropped and asked for again. */
  writeAlign?: number
  /** Erase time of the whole slot on offset 0. */
  eraseMs?: number
  /** Fault injection: drop these upload requests (1-based count) without answering. */
  dropUploads?: number[]
}

/**
 * A simulated MCUboot in serial recovery. Packets are handled one at a time, like the single
 * receive buffer of the real thing. After a reset it "boots": if slot 0 holds an intact image it
 * prints the application's banner (`version: …`), then returns to serial recovery.
 */
export class McubootDevice extends EventEmitter {
  slot: Buffer
  uploads = 0
  resets = 0
  private readonly o: Required<Omit<McubootDeviceOptions, 'version'>>
  private expected = 0
  private total = 0
  private uploadSha: Buffer | null = null
  private queue: Promise<void> = Promise.resolve()

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
    this.slot = Buffer.alloc(this.o.slotSize, 0xff)
    const [major, minor, revision] = (options.version ?? '1.0.0').split('.').map((n) => parseInt(n, 10) || 0)
    const initial = buildMcubootImage(makeFirmwareImage({ version: options.version ?? '1.0.0', size: 2048, seed: 3 }), { major: major ?? 1, minor: minor ?? 0, revision: revision ?? 0 })
    initial.copy(this.slot)
  }

  /** The image in slot 0 (header through TLVs), or null when the slot holds none. */
  get image(): Buffer | null {
    const info = parseMcubootImage(this.slot)
    if (!info) return null
    const tlvTotal = this.slot.readUInt16LE(info.headerSize + info.imageSize + 2)
    return Buffer.from(this.slot.subarray(0, info.headerSize + info.imageSize + tlvTotal))
  }

  async attach(t: Transport): Promise<void> {
    const decoder = new SmpLineDecoder((body) => (this.queue = this.queue.then(() => this.handle(t, body)).catch(() => undefined)), {
      maxPacket: this.o.receiveBuffer,
      onDrop: (why) => this.emit('log', `dropped a packet: ${why}`)
    })
    try {
      await t.write(Buffer.from('\r\n*** flashline sim MCUboot: serial recovery ***\r\n', 'latin1'))
      for (;;) {
        try {
          decoder.push(await t.readSome(60_000))
        } catch (e) {
          if (!(e instanceof FlashlineError && e.code === 'timeout')) throw e
        }
      }
    } catch (e) {
      if (!(e instanceof FlashlineError && (e.code === 'port-closed' || e.code === 'port-lost'))) this.emit('log', `sim device stopped: ${(e as Error).message}`)
    }
  }

  private async reply(t: Transport, body: Buffer, payload: Record<string, unknown>): Promise<void> {
    const h = decodeSmpHeader(body)
    await t.write(Buffer.concat(frameLines(smpMessage({ op: h.op + 1, group: h.group, seq: h.seq, id: h.id }, payload))))
  }

  private async handle(t: Transport, body: Buffer): Promise<void> {
    if (body.length < SMP_HEADER_SIZE) return
    const h = decodeSmpHeader(body)
    const req = smpPayload(body)
    if (!req) return this.reply(t, body, { rc: 3 })
    if (h.group === SMP_GROUP.image && h.id === SMP_ID.imageUpload && h.op === SMP_OP.write) return this.upload(t, body, req)
    if (h.group === SMP_GROUP.image && h.id === SMP_ID.imageState && h.op === SMP_OP.read) return this.reply(t, body, { images: this.list() })
    if (h.group === SMP_GROUP.os && h.id === SMP_ID.echo) return this.reply(t, body, { r: typeof req['d'] === 'string' ? req['d'] : '' })
    if (h.group === SMP_GROUP.os && h.id === SMP_ID.params && this.o.personality === 'zephyr') return this.reply(t, body, { buf_size: this.o.receiveBuffer, buf_count: 1 })
    if (h.group === SMP_GROUP.os && h.id === SMP_ID.reset && h.op === SMP_OP.write) {
      this.resets++ // counted before answering: the host may look as soon as the answer arrives
      await this.reply(t, body, { rc: 0 })
      return this.boot(t)
    }
    return this.reply(t, body, { rc: 8 })
  }

  private list(): Array<Record<string, unknown>> {
    const info = parseMcubootImage(this.slot)
    if (!info) return []
    const entry: Record<string, unknown> = { slot: 0, version: info.version, bootable: true, pending: false, confirmed: true, active: true, permanent: false }
    if (info.hash) entry['hash'] = info.hash
    return [entry]
  }

  private async upload(t: Transport, body: Buffer, req: Record<string, unknown>): Promise<void> {
    this.uploads++
    if (this.o.dropUploads.includes(this.uploads)) return
    const off = req['off']
    const data = req['data']
    if (typeof off !== 'number' || !(data instanceof Uint8Array)) return this.reply(t, body, { rc: 3 })
    if (off === 0) {
      const len = req['len']
      if (typeof len !== 'number' || len <= 0) return this.reply(t, body, { rc: 3 })
      if (len > this.o.slotSize) return this.reply(t, body, { rc: 3 })
      const sha = req['sha'] instanceof Uint8Array ? Buffer.from(req['sha']) : null
      // Zephyr's img_mgmt resumes an interrupted upload of the same image (same sha and length)
      if (this.o.personality === 'zephyr' && sha && this.uploadSha?.equals(sha) && this.total === len && this.expected > 0 && this.expected < len) {
        return this.reply(t, body, { rc: 0, off: this.expected })
      }
      this.uploadSha = sha
      await new Promise((r) => setTimeout(r, this.o.eraseMs))
      this.slot.fill(0xff)
      this.total = len
      this.expected = 0
    }
    if (off !== this.expected || this.total === 0) return this.reply(t, body, { rc: 0, off: this.expected })
    if (off + data.length > this.total) return this.reply(t, body, { rc: 3 })
    const last = off + data.length === this.total
    const writable = last ? data.length : data.length - (data.length % this.o.writeAlign)
    Buffer.from(data.buffer, data.byteOffset, writable).copy(this.slot, off)
    this.expected += writable
    return this.reply(t, body, { rc: 0, off: this.expected })
  }

  private async boot(t: Transport): Promise<void> {
    await new Promise((r) => setTimeout(r, 20))
    const img = this.image
    if (!img || !mcubootImageIntact(img)) {
      await t.write(Buffer.from('\r\n*** MCUboot: Unable to find bootable image ***\r\n', 'latin1'))
      return
    }
    const info = parseMcubootImage(img)!
    const app = img.subarray(info.headerSize, info.headerSize + info.imageSize)
    const version = findImageVersion(app) ?? info.version
    this.emit('booted', version)
    await t.write(Buffer.from(`\r\n*** Booting MCUboot image ${info.version} ***\r\nflashline sim application\r\nversion: ${version}\r\n`, 'latin1'))
  }
}
