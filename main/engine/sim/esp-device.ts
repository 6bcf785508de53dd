import { createHash } from 'node:crypto'
import { EventEmitter } from 'node:events'
import { inflateSync } from 'node:zlib'
import { FlashlineError } from '../errors'
import type { Transport } from '../transport/transport'
import { findImageVersion, versionMarker } from './firmware-image'

/**
 * A simulated ESP32-C3 in download mode: ROM loader first, then the flasher stub once it has been
 * uploaded to RAM and started. Built from esptool's serial protocol documentation
 * (docs/en/advanced-topics/serial-protocol.rst): SLIP-framed commands as esptool and esptool-js send
 * them; flash contents are kept so tests can compare them byte for byte.
 */
export interface EspDeviceOptions {
  flashSize?: number
  /** JEDEC id answered to RDID (0x9F): manufacturer | type << 8 | capacity << 16. 0x1640EF = Winbond 4 MB. */
  flashId?: number
  /** Fault injection: above this baud rate the "line" corrupts flash data blocks (checksum errors). */
  maxReliableBaud?: number
  /** Application image flashed at 0x10000 initially, for the version banner after a reset. */
  appVersion?: string
  /** Factory MAC in eFuse block 1. */
  mac?: string
}

const SLIP_END = 0xc0
const SLIP_ESC = 0xdb
const CHECKSUM_SEED = 0xef
const CHIP_ID_ESP32C3 = 5
const SPI_BASE = 0x60002000
const SPI_CMD_REG = SPI_BASE
const SPI_USR2_REG = SPI_BASE + 0x20
const SPI_W0_REG = SPI_BASE + 0x58
const APP_OFFSET = 0x10000
const DOWNLOAD_BANNER = 'ESP-ROM:esp32c3-api1-20210207\r\nBuild:Feb  7 2021\r\nrst:0x1 (POWERON),boot:0x8 (DOWNLOAD(USB/UART0/1))\r\nwaiting for download\r\n'
const MAC_EFUSE_REG = 0x60008800 + 0x44

const OP = {
  flashBegin: 0x02,
  flashData: 0x03,
  flashEnd: 0x04,
  memBegin: 0x05,
  memEnd: 0x06,
  memData: 0x07,
  sync: 0x08,
  writeReg: 0x09,
  readReg: 0x0a,
  spiSetParams: 0x0b,
  spiAttach: 0x0d,
  changeBaud: 0x0f,
  deflBegin: 0x10,
  deflData: 0x11,
  deflEnd: 0x12,
  md5: 0x13,
  securityInfo: 0x14,
  eraseFlash: 0xd0,
  eraseRegion: 0xd1
} as const

/** SLIP (serial-protocol.rst, Low Level Protocol): C0 … C0, C0 → DB DC, DB → DB DD. */
function slipEncode(packet: Uint8Array): Buffer {
  const out: number[] = [SLIP_END]
  for (const b of packet) {
    if (b === SLIP_END) out.push(SLIP_ESC, 0xdc)
    else if (b === SLIP_ESC) out.push(SLIP_ESC, 0xdd)
    else out.push(b)
  }
  out.push(SLIP_END)
  return Buffer.from(out)
}

/** serial-protocol.rst, Checksum: seed 0xEF, XOR of each byte of the data to write. */
function espChecksum(data: Uint8Array, seed = CHECKSUM_SEED): number {
  let s = seed
  for (const b of data) s ^= b
  return s
}

interface FlashWrite {
  offset: number
  size: number
  blocks: number
  blockSize: number
  compressed: boolean
  nextSeq: number
  parts: Buffer[]
}

export class EspDevice extends EventEmitter {
  readonly flash: Buffer
  mode: 'rom' | 'stub' = 'rom'
  baud = 115200
  commands: number[] = []
  private readonly o: Required<Omit<EspDeviceOptions, 'appVersion' | 'mac'>>
  private regs = new Map<number, number>()
  private write: FlashWrite | null = null
  private t: Transport | null = null

  constructor(options: EspDeviceOptions = {}) {
    super()
    this.o = { flashSize: options.flashSize ?? 4 * 1024 * 1024, flashId: options.flashId ?? 0x1640ef, maxReliableBaud: options.maxReliableBaud ?? Infinity }
    this.flash = Buffer.alloc(this.o.flashSize, 0xff)
    const mac = (options.mac ?? '34:85:18:01:02:03').split(':').map((h) => parseInt(h, 16))
    this.regs.set(MAC_EFUSE_REG, ((mac[2]! << 24) | (mac[3]! << 16) | (mac[4]! << 8) | mac[5]!) >>> 0)
    this.regs.set(MAC_EFUSE_REG + 4, (mac[0]! << 8) | mac[1]!)
    // the application that is on the chip to begin with, marked as its firmware images are
    if (options.appVersion) versionMarker(options.appVersion).copy(this.flash, APP_OFFSET + 64)
  }

  async attach(t: Transport): Promise<void> {
    this.t = t
    // On an in-process link the usual auto-reset circuit is modelled: RTS → EN, DTR → IO0.
    // (A pty has no modem lines, so there the device just stays in its loader.)
    const lines = (t as { peerSignalListeners?: Array<(s: { dtr: boolean; rts: boolean }) => void> }).peerSignalListeners
    let inReset = false
    lines?.push((s) => {
      if (s.rts) inReset = true
      else if (inReset) {
        inReset = false
        void (s.dtr ? this.enterDownloadMode() : this.boot())
      }
    })
    let frame: number[] | null = null
    let escaped = false
    try {
      await t.write(Buffer.from(DOWNLOAD_BANNER, 'latin1'))
      for (;;) {
        let chunk: Buffer
        try {
          chunk = await t.readSome(60_000)
        } catch (e) {
          if (e instanceof FlashlineError && e.code === 'timeout') continue
          throw e
        }
        for (const b of chunk) {
          if (b === SLIP_END) {
            if (frame && frame.length) await this.handle(Buffer.from(frame))
            frame = []
            escaped = false
          } else if (frame) {
            if (escaped) {
              frame.push(b === 0xdc ? SLIP_END : b === 0xdd ? SLIP_ESC : b)
              escaped = false
            } else if (b === SLIP_ESC) escaped = true
            else frame.push(b)
          }
        }
      }
    } catch (e) {
      if (!(e instanceof FlashlineError && (e.code === 'port-closed' || e.code === 'port-lost'))) this.emit('log', `sim device stopped: ${(e as Error).message}`)
    } finally {
      this.t = null
    }
  }

  /** Flash contents at `offset`, `length` bytes. */
  read(offset: number, length: number): Buffer {
    return Buffer.from(this.flash.subarray(offset, offset + length))
  }

  private async respond(op: number, value: number, data: Uint8Array = new Uint8Array(0), status = 0, error = 0): Promise<void> {
    // ESP32-class ROM ends the data with 4 status bytes, the stub with 2 (serial-protocol.rst, Status Bytes)
    const statusBytes = this.mode === 'rom' ? [status, error, 0, 0] : [status, error]
    const body = Buffer.alloc(8 + data.length + statusBytes.length)
    body[0] = 1
    body[1] = op
    body.writeUInt16LE(data.length + statusBytes.length, 2)
    body.writeUInt32LE(value >>> 0, 4)
    body.set(data, 8)
    body.set(statusBytes, 8 + data.length)
    await this.t!.write(slipEncode(body))
  }

  private async handle(packet: Buffer): Promise<void> {
    if (packet.length < 8 || packet[0] !== 0) return
    const op = packet[1]!
    const size = packet.readUInt16LE(2)
    const checksum = packet.readUInt32LE(4)
    const data = packet.subarray(8, 8 + size)
    const word = (i: number): number => data.readUInt32LE(i * 4)
    this.commands.push(op)
    const fail = (code: number) => this.respond(op, 0, undefined, 1, this.mode === 'rom' ? code : 0xc0 | (code & 0x0f))
    switch (op) {
      case OP.sync:
        // The stub answers once with value 0; a ROM eight times with a non-zero value (esptool's
        // loader.py sync() reads one reply and seven more). 07 12 55 55 is what an ESP32 ROM sends.
        if (this.mode === 'stub') return this.respond(op, 0)
        for (let i = 0; i < 8; i++) await this.respond(op, 0x55551207)
        return
      case OP.readReg: {
        const addr = word(0)
        if (addr === SPI_CMD_REG) return this.respond(op, 0) // user command done
        if (addr === SPI_W0_REG && ((this.regs.get(SPI_USR2_REG) ?? 0) & 0xff) === 0x9f) return this.respond(op, this.o.flashId & 0xffffff)
        return this.respond(op, this.regs.get(addr) ?? 0)
      }
      case OP.writeReg:
        this.regs.set(word(0), word(1))
        return this.respond(op, 0)
      case OP.securityInfo: {
        const info = Buffer.alloc(20)
        info.writeUInt32LE(CHIP_ID_ESP32C3, 12)
        return this.respond(op, 0, info)
      }
      case OP.spiSetParams:
      case OP.spiAttach:
        return this.respond(op, 0)
      case OP.memBegin:
        return this.respond(op, 0)
      case OP.memData:
        if (espChecksum(data.subarray(16)) !== (checksum & 0xff)) return fail(0x07)
        return this.respond(op, 0)
      case OP.memEnd: {
        await this.respond(op, 0)
        if (word(0) === 0) {
          // the stub starts and says hello
          await new Promise((r) => setTimeout(r, 5))
          this.mode = 'stub'
          await this.t!.write(slipEncode(Buffer.from('OHAI', 'latin1')))
        }
        return
      }
      case OP.changeBaud: {
        await this.respond(op, 0)
        const baud = word(0)
        await new Promise((r) => setTimeout(r, 5))
        await this.t!.setBaudRate(baud).catch(() => undefined) // ptys accept any rate
        this.baud = baud
        return
      }
      case OP.flashBegin:
      case OP.deflBegin: {
        const [eraseOrSize, blocks, blockSize, offset] = [word(0), word(1), word(2), word(3)]
        if (offset + eraseOrSize > this.flash.length) return fail(0x08)
        // The ROM erases the whole region up front; the stub erases as it writes.
        if (this.mode === 'rom') this.flash.fill(0xff, offset, offset + eraseOrSize)
        this.write = { offset, size: eraseOrSize, blocks, blockSize, compressed: op === OP.deflBegin, nextSeq: 0, parts: [] }
        return this.respond(op, 0)
      }
      case OP.flashData:
      case OP.deflData: {
        const w = this.write
        if (!w || w.compressed !== (op === OP.deflData)) return fail(0x05)
        if (this.baud > this.o.maxReliableBaud) return fail(0x07) // the "line" corrupted the block: checksum error
        const len = word(0)
        const seq = word(1)
        const payload = data.subarray(16, 16 + len)
        if (espChecksum(payload) !== (checksum & 0xff)) return fail(0x07)
        if (seq !== w.nextSeq) {
          // a block we already have (its answer was lost): acknowledge again
          if (seq < w.nextSeq) return this.respond(op, 0)
          return fail(0x05)
        }
        w.nextSeq++
        if (w.compressed) {
          w.parts.push(Buffer.from(payload))
          if (w.nextSeq === w.blocks) {
            let plain: Buffer
            try {
              plain = inflateSync(Buffer.concat(w.parts))
            } catch {
              return fail(0x0b)
            }
            if (plain.length > w.size || w.offset + plain.length > this.flash.length) return fail(0x0a)
            if (this.mode === 'stub') this.flash.fill(0xff, w.offset, w.offset + w.size)
            plain.copy(this.flash, w.offset)
          }
        } else {
          const at = w.offset + seq * w.blockSize
          if (at + payload.length > this.flash.length) return fail(0x08)
          Buffer.from(payload).copy(this.flash, at)
        }
        return this.respond(op, 0)
      }
      case OP.flashEnd:
      case OP.deflEnd:
        await this.respond(op, 0)
        if (word(0) === 0) await this.boot()
        return
      case OP.md5: {
        const [addr, len] = [word(0), word(1)]
        if (addr + len > this.flash.length) return fail(0x09)
        const digest = createHash('md5').update(this.flash.subarray(addr, addr + len)).digest()
        return this.respond(op, 0, this.mode === 'rom' ? Buffer.from(digest.toString('hex'), 'latin1') : digest)
      }
      case OP.eraseFlash:
        if (this.mode !== 'stub') return fail(0x05)
        this.flash.fill(0xff)
        return this.respond(op, 0)
      case OP.eraseRegion: {
        if (this.mode !== 'stub') return fail(0x05)
        const [offset, len] = [word(0), word(1)]
        this.flash.fill(0xff, offset, offset + len)
        return this.respond(op, 0)
      }
      default:
        return fail(0x05)
    }
  }

  /** A chip reset: back to the ROM at 115200, any stub and flash session gone. */
  private async reset(): Promise<void> {
    this.mode = 'rom'
    this.write = null
    this.baud = 115200
    await this.t?.setBaudRate(115200).catch(() => undefined)
  }

  private async enterDownloadMode(): Promise<void> {
    await this.reset()
    await this.t?.write(Buffer.from(DOWNLOAD_BANNER, 'latin1'))
  }

  /** "Runs the application": prints the version found in the app partition, back at the console baud. */
  async boot(): Promise<void> {
    await this.reset()
    const version = findImageVersion(this.flash.subarray(APP_OFFSET, APP_OFFSET + 1024 * 1024))
    this.emit('booted', version)
    await this.t?.write(Buffer.from(`ESP-ROM:esp32c3-api1-20210207\r\nrst:0x1 (POWERON),boot:0xc (SPI_FAST_FLASH_BOOT)\r\nflashline sim application\r\nversion: ${version ?? 'unknown'}\r\n`, 'latin1'))
  }
}
