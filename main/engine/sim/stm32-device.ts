import { EventEmitter } from 'node:events'
import { FlashlineError } from '../errors'
import type { Transport } from '../transport/transport'
import { findImageVersion, makeFirmwareImage } from './firmware-image'

const ACK = 0x79
const NACK = 0x1f
const K = 1024

/**
 * The simulated parts, from their reference manuals (kept apart from the flasher's chip table so a
 * wrong entry there shows up as a failed flash, not as agreement with itself):
 *  - 0x410 STM32F103 medium-density (RM0008, embedded flash memory): 128 KiB main flash, 1 KiB pages.
 *    Device electronic signature (RM0008 §30.1.1, §30.2): flash size register (16 bits, KiB) at
 *    0x1FFFF7E0, 96-bit unique device ID at 0x1FFFF7E8.
 *  - 0x413 STM32F405/407 (RM0090, flash module organisation): 1 MiB, sectors 4 × 16 KiB, 1 × 64 KiB, 7 × 128 KiB.
 *    Device electronic signature (RM0090 §39.1, §39.2): unique device ID at 0x1FFF7A10, flash size at 0x1FFF7A22.
 */
interface SimChip {
  pid: number
  flashSize: number
  pages: number[]
  uidAddress: number
  flashSizeAddress: number
}
const F103_MEDIUM: SimChip = { pid: 0x410, flashSize: 128 * K, pages: Array<number>(128).fill(1 * K), uidAddress: 0x1ffff7e8, flashSizeAddress: 0x1ffff7e0 }
const F407: SimChip = {
  pid: 0x413,
  flashSize: 1024 * K,
  pages: [16 * K, 16 * K, 16 * K, 16 * K, 64 * K, ...Array<number>(7).fill(128 * K)],
  uidAddress: 0x1fff7a10,
  flashSizeAddress: 0x1fff7a22
}
const FLASH_START = 0x08000000
const RAM_START = 0x20000000

/**
 * Made-up unique IDs, one per personality, as the 12 bytes lie in memory from the UID address
 * (three little-endian 32-bit registers, UID[31:0] first).
 */
const DEFAULT_UIDS: Record<Stm32Personality, string> = {
  f1: '066dff343632535043102431',
  'f1-crc': '0670ff485150827867151934',
  f4: '2a0034000d47373336323230'
}

/**
 * The STM32 CRC calculation unit as the bootloader's Get Checksum (AN3155, command 0xA1) drives it:
 * CRC_DR reset to 0xFFFFFFFF, each 32-bit word written as the CPU loads it from memory (little-endian),
 * shifted in MSB first through the polynomial 0x04C11DB7; no reflection, no final XOR (RM0008, CRC calculation unit).
 */
export function crcUnit(data: Uint8Array): number {
  if (data.length % 4) throw new Error('the CRC unit takes whole 32-bit words')
  const words = new DataView(data.buffer, data.byteOffset, data.byteLength)
  let dr = 0xffffffff
  for (let i = 0; i < data.length; i += 4) {
    dr = (dr ^ words.getUint32(i, true)) >>> 0
    for (let bit = 0; bit < 32; bit++) {
      const top = dr >>> 31
      dr = (dr << 1) >>> 0
      if (top) dr = (dr ^ 0x04c11db7) >>> 0
    }
  }
  return dr
}

/**
 * A simulated STM32 system-memory bootloader (AN3155) that real stm32flash accepts over a pty
 * (`-m 8n1`, ptys carry no parity). Personalities:
 *  - f1: PID 0x410, bootloader 2.2, Erase 0x43 (1 KiB pages), no Get Checksum.
 *  - f1-crc: the same with Get Checksum 0xA1 (as newer bootloaders list it).
 *  - f4: PID 0x413, bootloader 3.1, Extended Erase 0x44 (16/64/128 KiB sectors).
 * Flash starts erased (0xFF) and programming ANDs bits, as real flash does. Go to flash "boots"
 * the application, which prints `version: <v>` from the image; Go to RAM is a reset request.
 * Each unit serves its own unique device ID and flash size register at the family's addresses
 * (read-only; refused like any read while read-out protection is on).
 */
export type Stm32Personality = 'f1' | 'f1-crc' | 'f4'

export interface Stm32DeviceOptions {
  version?: string
  readProtected?: boolean
  writeProtected?: boolean
  /** This unit's 96-bit unique device ID: 12 bytes as they lie in memory from the UID address. */
  uid?: Uint8Array
  /** What the flash size register says, in KiB (default: the whole simulated flash). Any 16-bit value, so tests can make it implausible. */
  flashSizeKiB?: number
  /** Fault injection for later sessions; also settable through `device.faults`. */
  faults?: Stm32Faults
}

/**
 * Faults the device injects, each once: the field is cleared when it fires and the device emits
 * 'fault' with its name. Write Memory commands are counted from the start of each session (each
 * open of the link is a reset into the bootloader). Set them between sessions (tests, the soak).
 */
export interface Stm32Faults {
  /**
   * After this many Write Memory commands of a session have been written, the device hangs: no answer
   * to anything more (not even to that last write), bytes are taken and dropped until the link closes.
   */
  stallAfterWrites?: number
  /** The final answer to this Write Memory command (1-based in the session) goes out as `corruptReplyByte` instead of ACK; the data was written. */
  corruptReplyAtWrite?: number
  /** The byte that replaces the ACK (default 0xf9: the ACK with a bit flipped by line noise). */
  corruptReplyByte?: number
}

/** A memory region Read Memory serves; the signature is read-only. */
interface Region {
  start: number
  mem: Buffer
  kind: 'flash' | 'ram' | 'signature'
}

export class Stm32Device extends EventEmitter {
  readonly chip: SimChip
  readonly flash: Buffer
  readonly ram = Buffer.alloc(20 * 1024)
  readonly commands: number[]
  readonly bootloaderVersion: number
  readonly log: string[] = []
  /** The device electronic signature: flash size register and unique ID, with what lies between them (0xFF). */
  readonly signature: Region
  /** Option-byte state: RDP level 1 and write protection of any sector. */
  readProtected: boolean
  writeProtected: boolean
  /** Faults for later sessions (see Stm32Faults). */
  readonly faults: Stm32Faults
  private synced = false
  private writes = 0
  private t: Transport | null = null

  constructor(
    readonly personality: Stm32Personality = 'f1',
    options: Stm32DeviceOptions = {}
  ) {
    super()
    this.chip = personality === 'f4' ? F407 : F103_MEDIUM
    this.flash = Buffer.alloc(this.chip.flashSize, 0xff)
    makeFirmwareImage({ version: options.version ?? '1.0.0', size: 2048, seed: 1 }).copy(this.flash)
    this.bootloaderVersion = personality === 'f4' ? 0x31 : 0x22
    const erase = personality === 'f4' ? 0x44 : 0x43
    this.commands = [0x00, 0x01, 0x02, 0x11, 0x21, 0x31, erase, 0x63, 0x73, 0x82, 0x92, ...(personality === 'f1-crc' ? [0xa1] : [])]
    this.faults = { ...options.faults }
    this.readProtected = options.readProtected ?? false
    this.writeProtected = options.writeProtected ?? false
    const uid = Buffer.from(options.uid ?? Buffer.from(DEFAULT_UIDS[personality], 'hex'))
    if (uid.length !== 12) throw new Error(`an STM32 unique device ID is 12 bytes, got ${uid.length}`)
    const flashSizeKiB = options.flashSizeKiB ?? this.chip.flashSize / K
    if (!Number.isInteger(flashSizeKiB) || flashSizeKiB < 0 || flashSizeKiB > 0xffff) throw new Error(`the flash size register holds 16 bits, got ${flashSizeKiB}`)
    const { uidAddress, flashSizeAddress } = this.chip
    const start = Math.min(uidAddress, flashSizeAddress)
    const mem = Buffer.alloc(Math.max(uidAddress + 12, flashSizeAddress + 2) - start, 0xff)
    uid.copy(mem, uidAddress - start)
    mem.writeUInt16LE(flashSizeKiB, flashSizeAddress - start)
    this.signature = { start, mem, kind: 'signature' }
  }

  get version(): string {
    return findImageVersion(this.flash) ?? 'unknown'
  }

  /** Serves the link until it closes (the device is "reset into the bootloader" on attach). */
  async attach(transport: Transport): Promise<void> {
    this.t = transport
    this.synced = false
    this.writes = 0
    try {
      for (;;) await this.step()
    } catch (e) {
      if (!(e instanceof FlashlineError && (e.code === 'port-closed' || e.code === 'port-lost'))) this.emit('error-log', (e as Error).message)
    } finally {
      this.t = null
    }
  }

  private async byte(): Promise<number> {
    for (;;) {
      try {
        return (await this.t!.read(1, 60_000))[0]!
      } catch (e) {
        if (!(e instanceof FlashlineError && e.code === 'timeout')) throw e
      }
    }
  }

  private async bytes(n: number): Promise<Buffer> {
    return this.t!.read(n, 2000)
  }

  private send(...b: number[]): Promise<void> {
    return this.t!.write(Uint8Array.from(b))
  }

  private async step(): Promise<void> {
    const b = await this.byte()
    if (!this.synced) {
      if (b === 0x7f) {
        this.synced = true
        await this.send(ACK)
      }
      return
    }
    const complement = (await this.bytes(1))[0]!
    if ((b ^ complement) !== 0xff || !this.commands.includes(b)) {
      this.log.push(`NACK ${b.toString(16)}`)
      await this.send(NACK)
      return
    }
    // AN3155: with read-out protection only Get, Get Version, Get ID and Readout Unprotect are served.
    if (this.readProtected && ![0x00, 0x01, 0x02, 0x92].includes(b)) {
      this.log.push(`NACK ${b.toString(16)} (read-out protected)`)
      await this.send(NACK)
      return
    }
    this.log.push(`cmd ${b.toString(16)}`)
    switch (b) {
      case 0x00:
        await this.send(ACK, this.commands.length, this.bootloaderVersion, ...this.commands, ACK)
        return
      case 0x01:
        await this.send(ACK, this.bootloaderVersion, 0x00, 0x00, ACK)
        return
      case 0x02:
        await this.send(ACK, 0x01, this.chip.pid >> 8, this.chip.pid & 0xff, ACK)
        return
      case 0x11:
        return this.readMemory()
      case 0x21:
        return this.go()
      case 0x31:
        return this.writeMemory()
      case 0x43:
        return this.erase()
      case 0x44:
        return this.extendedErase()
      case 0xa1:
        return this.checksum()
      case 0x63: {
        await this.send(ACK)
        const n = (await this.bytes(1))[0]!
        const rest = await this.bytes(n + 2)
        let x = n
        for (let i = 0; i <= n; i++) x ^= rest[i]!
        if (x !== rest[n + 1]) return this.send(NACK)
        this.writeProtected = true
        return this.optionBytesWritten()
      }
      case 0x73:
        await this.send(ACK)
        this.writeProtected = false
        return this.optionBytesWritten()
      case 0x82:
        await this.send(ACK)
        this.readProtected = true
        return this.optionBytesWritten()
      case 0x92:
        await this.send(ACK)
        // leaving RDP level 1 mass-erases the flash and the option bytes (so write protection goes too, as on F1)
        this.flash.fill(0xff)
        this.emit('erased', 'all')
        this.readProtected = false
        this.writeProtected = false
        return this.optionBytesWritten()
    }
  }

  /** Second ACK, then the system reset that applies new option bytes (the host must sync again). */
  private async optionBytesWritten(): Promise<void> {
    await this.send(ACK)
    this.synced = false
    this.emit('reset')
  }

  /** Reads 4-byte big-endian address + XOR checksum; resolves to the region and offset, or NACKs. */
  private async address(): Promise<{ mem: Buffer; offset: number; addr: number; kind: Region['kind'] } | null> {
    const a = await this.bytes(5)
    if ((a[0]! ^ a[1]! ^ a[2]! ^ a[3]!) !== a[4]) {
      await this.send(NACK)
      return null
    }
    const addr = a.readUInt32BE(0)
    const regions: Region[] = [{ start: FLASH_START, mem: this.flash, kind: 'flash' }, { start: RAM_START, mem: this.ram, kind: 'ram' }, this.signature]
    const r = regions.find((g) => addr >= g.start && addr < g.start + g.mem.length)
    if (r) return { mem: r.mem, offset: addr - r.start, addr, kind: r.kind }
    await this.send(NACK)
    return null
  }

  private async readMemory(): Promise<void> {
    await this.send(ACK)
    const at = await this.address()
    if (!at) return
    await this.send(ACK)
    const [n, c] = await this.bytes(2)
    if ((n! ^ c!) !== 0xff || at.offset + n! + 1 > at.mem.length) return this.send(NACK)
    await this.send(ACK)
    await this.t!.write(at.mem.subarray(at.offset, at.offset + n! + 1))
  }

  private async writeMemory(): Promise<void> {
    await this.send(ACK)
    const at = await this.address()
    if (!at) return
    await this.send(ACK)
    const n = (await this.bytes(1))[0]!
    const data = await this.bytes(n + 2)
    const payload = data.subarray(0, n + 1)
    let x = n
    for (const d of payload) x ^= d
    if (x !== data[n + 1] || at.offset + payload.length > at.mem.length) return this.send(NACK)
    if (at.kind === 'signature' || (at.kind === 'flash' && this.writeProtected)) return this.send(NACK)
    if (at.mem === this.flash) for (let i = 0; i < payload.length; i++) this.flash[at.offset + i]! &= payload[i]!
    else payload.copy(at.mem, at.offset)
    this.writes++
    if (this.faults.stallAfterWrites !== undefined && this.writes >= this.faults.stallAfterWrites) {
      this.faults.stallAfterWrites = undefined
      await this.hang()
    }
    if (this.faults.corruptReplyAtWrite === this.writes) {
      const byte = this.faults.corruptReplyByte ?? ACK ^ 0x80
      this.faults.corruptReplyAtWrite = undefined
      this.faults.corruptReplyByte = undefined
      this.emit('fault', 'corrupt-reply')
      return this.send(byte)
    }
    await this.send(ACK)
  }

  /** Fault injection: answers nothing more; takes and drops bytes until the link closes (the read then throws). */
  private async hang(): Promise<never> {
    this.emit('fault', 'stall')
    for (;;) await this.byte()
  }

  private pageRange(page: number): [number, number] {
    let start = 0
    for (let i = 0; i < page; i++) start += this.chip.pages[i]!
    return [start, start + this.chip.pages[page]!]
  }

  private erasePages(pages: number[]): boolean {
    if (this.writeProtected) return false
    if (pages.some((p) => p >= this.chip.pages.length)) return false
    for (const p of pages) {
      const [s, e] = this.pageRange(p)
      this.flash.fill(0xff, s, e)
    }
    this.emit('erased', pages)
    return true
  }

  private async erase(): Promise<void> {
    await this.send(ACK)
    const n = (await this.bytes(1))[0]!
    if (n === 0xff) {
      const c = (await this.bytes(1))[0]!
      if (c !== 0x00 || this.writeProtected) return this.send(NACK)
      this.flash.fill(0xff)
      this.emit('erased', 'all')
      return this.send(ACK)
    }
    const rest = await this.bytes(n + 2)
    let x = n
    for (let i = 0; i <= n; i++) x ^= rest[i]!
    if (x !== rest[n + 1]) return this.send(NACK)
    return this.send(this.erasePages([...rest.subarray(0, n + 1)]) ? ACK : NACK)
  }

  private async extendedErase(): Promise<void> {
    await this.send(ACK)
    const h = await this.bytes(2)
    const n = h.readUInt16BE(0)
    if (n >= 0xfff0) {
      const c = (await this.bytes(1))[0]!
      if (c !== (h[0]! ^ h[1]!) || this.writeProtected) return this.send(NACK)
      this.flash.fill(0xff)
      this.emit('erased', 'all')
      return this.send(ACK)
    }
    const rest = await this.bytes((n + 1) * 2 + 1)
    let x = h[0]! ^ h[1]!
    for (let i = 0; i < (n + 1) * 2; i++) x ^= rest[i]!
    if (x !== rest[(n + 1) * 2]) return this.send(NACK)
    const pages: number[] = []
    for (let i = 0; i <= n; i++) pages.push(rest.readUInt16BE(i * 2))
    return this.send(this.erasePages(pages) ? ACK : NACK)
  }

  private async checksum(): Promise<void> {
    await this.send(ACK)
    const at = await this.address()
    if (!at) return
    await this.send(ACK)
    const l = await this.bytes(5)
    if ((l[0]! ^ l[1]! ^ l[2]! ^ l[3]!) !== l[4]) return this.send(NACK)
    const length = l.readUInt32BE(0)
    if (length % 4 || at.offset + length > at.mem.length) return this.send(NACK)
    await this.send(ACK)
    const crc = crcUnit(at.mem.subarray(at.offset, at.offset + length))
    const out = Buffer.alloc(5)
    out.writeUInt32BE(crc, 0)
    out[4] = out[0]! ^ out[1]! ^ out[2]! ^ out[3]!
    await this.send(ACK, ...out)
  }

  private async go(): Promise<void> {
    await this.send(ACK)
    const at = await this.address()
    if (!at) return
    if (at.kind === 'signature') return this.send(NACK)
    await this.send(ACK)
    this.synced = false
    if (at.mem === this.flash) {
      this.emit('boot', this.version)
      await new Promise((r) => setTimeout(r, 20))
      await this.t!.write(Buffer.from(`\r\nflashline sim stm32 application\r\nversion: ${this.version}\r\n`, 'latin1'))
    } else this.emit('reset')
  }
}
