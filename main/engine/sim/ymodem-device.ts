import { EventEmitter } from 'node:events'
import { FlashlineError } from '../errors'
import type { Transport } from '../transport/transport'
import { findImageVersion, makeFirmwareImage } from './firmware-image'

// Control bytes (Forsberg, "XMODEM/YMODEM Protocol Reference", ymodem.txt)
const SOH = 0x01
const STX = 0x02
const EOT = 0x04
const ACK = 0x06
const NAK = 0x15
const CAN = 0x18
const CRC_REQUEST = 0x43 // 'C'

/** CRC-16 of ymodem.txt ("CRC-16 ... X^16+X^12+X^5+1", register starts at 0, MSB first), bit by bit. */
function blockCrc(data: Uint8Array): number {
  let crc = 0
  for (const byte of data) {
    crc ^= byte << 8
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff
  }
  return crc
}

/**
 * Receiver personalities seen in the field:
 *  - lrz: strict spec (lrzsz rz); a repeated block is ACKed; errors answered with NAK.
 *  - st-iap: ST's IAP example (STM32Cube IAP, AN4657, ymodem.c `Ymodem_Receive`/`ReceivePacket`, and
 *    the GD32/CH32/HC32 ports of it): 'C' on every timeout, bad block or stray byte; NAK for a block
 *    whose number is not the expected one (a repeated block too); single ACK for EOT; CA CA from
 *    the sender is ACKed and ends the session; 'a'/'A' typed by the user aborts with CA CA.
 *  - mico: MXCHIP MiCO bootloader: a text menu; "1" + CR starts an st-iap receive.
 */
export type YmodemPersonality = 'lrz' | 'st-iap' | 'mico'

export interface YmodemDeviceOptions {
  personality?: YmodemPersonality
  /** Version of the application initially in flash. */
  version?: string
  maxImageSize?: number
  /** Interval of 'C' requests while waiting for a sender. */
  requestIntervalMs?: number
  /** Time the device needs to program each block before answering. */
  programDelayMs?: number
  /** Fault injection: swallow the ACK of these data block numbers once each (a lost ACK). */
  dropAckOfBlocks?: number[]
  /** Fault injection for the next transfers; also settable later through `device.faults`. */
  faults?: YmodemFaults
}

/**
 * Faults the device injects into a later transfer, each once: the field is cleared when it fires and
 * the device emits 'fault' with its name. Set them between transfers (tests, the soak).
 */
export interface YmodemFaults {
  /**
   * After storing this many data blocks of a transfer the device hangs: it answers nothing more, and
   * only takes (and drops) bytes until the link closes, like a crashed MCU whose UART still receives.
   */
  stallAfterBlocks?: number
  /** The answer to this data block number (1-based in the transfer) goes out as `corruptReplyByte` instead of ACK; the device did store the block. */
  corruptReplyAtBlock?: number
  /** The byte that replaces the ACK (default 0x86: the ACK with a bit flipped by line noise). */
  corruptReplyByte?: number
}

export interface ReceivedFile {
  name: string
  size: number
  data: Buffer
  /** performance.now() when the header was acknowledged and when the EOT was: the payload phase as the device saw it. */
  startedAt: number
  endedAt: number
}

const MENU =
  '\r\n+ MXCHIP bootloader (flashline simulator) +\r\n0:BOOTUPDATE 1:FWUPDATE 2:DRIVERUPDATE 3:PARAUPDATE 4:FLASHUPDATE 5:MEMORYMAP 6:BOOT 7:REBOOT\r\nmico> '

/**
 * A simulated YMODEM bootloader device. Attach it to the device end of a link (a pty via
 * SerialTransport, or a memory pair); after a complete transfer it "reboots" and prints
 * `version: <v>` taken from the received image, then waits in its bootloader again.
 */
export class YmodemDevice extends EventEmitter {
  readonly personality: YmodemPersonality
  image: Buffer
  received: ReceivedFile[] = []
  private readonly o: Required<Omit<YmodemDeviceOptions, 'version' | 'faults'>>
  /** Faults for the next transfers (see YmodemFaults). */
  readonly faults: YmodemFaults
  private dropped = new Set<number>()
  private t: Transport | null = null

  constructor(options: YmodemDeviceOptions = {}) {
    super()
    this.personality = options.personality ?? 'lrz'
    this.o = {
      personality: this.personality,
      maxImageSize: options.maxImageSize ?? 8 * 1024 * 1024,
      requestIntervalMs: options.requestIntervalMs ?? 1000,
      programDelayMs: options.programDelayMs ?? 0,
      dropAckOfBlocks: options.dropAckOfBlocks ?? []
    }
    this.faults = { ...options.faults }
    this.image = makeFirmwareImage({ version: options.version ?? '1.0.0', size: 4096, seed: 7 })
  }

  get version(): string {
    return findImageVersion(this.image) ?? 'unknown'
  }

  /** Serves the link until it closes. Resolves then; never rejects. */
  async attach(transport: Transport): Promise<void> {
    this.t = transport
    try {
      await this.write(`\r\nflashline sim bootloader (${this.personality})\r\nversion: ${this.version}\r\n`)
      for (;;) {
        if (this.personality === 'mico') await this.menu()
        const file = await this.receiveBatch()
        if (file) await this.reboot(file)
      }
    } catch (e) {
      if (!(e instanceof FlashlineError && (e.code === 'port-closed' || e.code === 'port-lost'))) this.emit('log', `sim device stopped: ${(e as Error).message}`)
    } finally {
      this.t = null
    }
  }

  private async write(data: string | Uint8Array): Promise<void> {
    await this.t!.write(typeof data === 'string' ? Buffer.from(data, 'latin1') : data)
  }

  private async menu(): Promise<void> {
    await this.write(MENU)
    for (;;) {
      const line = (await this.readLine()).trim()
      if (line === '1') {
        await this.write("\r\nWaiting for the file to be sent ... (press 'a' to abort)\r\n")
        return
      }
      if (line) await this.write(`\r\nunknown command "${line}"\r\nmico> `)
    }
  }

  private async readLine(): Promise<string> {
    const buf = await this.waitForever(() => this.t!.readUntil(/[\r\n]/, 60_000))
    return buf.toString('latin1')
  }

  /** Reads with a timeout, treating timeouts as "keep waiting" (the device idles until closed). */
  private async waitForever<T>(read: () => Promise<T>): Promise<T> {
    for (;;) {
      try {
        return await read()
      } catch (e) {
        if (!(e instanceof FlashlineError && e.code === 'timeout')) throw e
      }
    }
  }

  private async byte(timeoutMs: number): Promise<number | null> {
    try {
      return (await this.t!.read(1, timeoutMs))[0]!
    } catch (e) {
      if (e instanceof FlashlineError && e.code === 'timeout') return null
      throw e
    }
  }

  /** Reads the rest of a block after its start byte; null on inter-character timeout. */
  private async blockBody(start: number): Promise<{ number: number; data: Buffer; ok: boolean } | null> {
    const size = start === STX ? 1024 : 128
    try {
      const rest = await this.t!.read(2 + size + 2, 1000)
      const number = rest[0]!
      const data = rest.subarray(2, 2 + size)
      const ok = rest[1] === (0xff - number) && blockCrc(rest.subarray(2)) === 0
      return { number, data: Buffer.from(data), ok }
    } catch (e) {
      if (e instanceof FlashlineError && e.code === 'timeout') return null
      throw e
    }
  }

  private get stIap(): boolean {
    return this.personality !== 'lrz'
  }

  /** One YMODEM batch with one file; returns it, or null if the batch was empty or aborted. */
  private async receiveBatch(): Promise<ReceivedFile | null> {
    // Phase 1: ask for the header with 'C' until a sender starts.
    let header: { name: string; size: number } | null = null
    let startedAt = 0
    let endedAt = 0
    let ask = true
    while (!header) {
      if (ask) await this.write(Uint8Array.of(CRC_REQUEST))
      ask = true
      const b = await this.byte(this.o.requestIntervalMs)
      if (b === null) continue
      if (b === SOH || b === STX) {
        const blk = await this.blockBody(b)
        if (blk?.ok && blk.number !== 0 && this.stIap) {
          // ST: a block that is not the expected number (0 for the header) is NAKed
          await this.write(Uint8Array.of(NAK))
          ask = false
          continue
        }
        if (!blk || !blk.ok || blk.number !== 0) {
          this.t!.discardInput()
          continue
        }
        const text = blk.data.toString('latin1')
        const name = text.slice(0, text.indexOf('\0'))
        if (!name) {
          await this.write(Uint8Array.of(ACK))
          return null
        }
        const size = parseInt(text.slice(name.length + 1).split(/[ \0]/)[0] ?? '', 10)
        if (!Number.isFinite(size) || size < 0 || size > this.o.maxImageSize) {
          await this.write(Uint8Array.of(CAN, CAN))
          this.emit('log', `rejected file "${name}": size ${size} does not fit ${this.o.maxImageSize}`)
          return null
        }
        header = { name, size }
        startedAt = performance.now()
        await this.write(Uint8Array.of(ACK, CRC_REQUEST))
      } else if (this.stIap && (b === 0x61 || b === 0x41)) {
        await this.write(Uint8Array.of(CAN, CAN)) // 'a'/'A' aborts the ST IAP receive
        return null
      } else if (this.stIap && b === CAN) {
        if ((await this.byte(1000)) === CAN) return this.senderAborted()
      }
    }
    // Phase 2: data blocks until EOT.
    const chunks: Buffer[] = []
    let expect = 1
    let errors = 0
    for (;;) {
      const b = await this.byte(this.stIap ? 2000 : 5000)
      if (this.stIap && (b === 0x61 || b === 0x41)) {
        await this.write(Uint8Array.of(CAN, CAN))
        return null
      }
      if (b === null || (b !== SOH && b !== STX && b !== EOT && b !== CAN)) {
        if (b !== null && !this.stIap) continue // lrz skips line noise; ST answers every stray byte with 'C'
        if (++errors > 10) {
          await this.write(Uint8Array.of(CAN, CAN))
          return null
        }
        await this.write(Uint8Array.of(this.stIap ? CRC_REQUEST : NAK))
        continue
      }
      if (b === CAN) {
        const next = await this.byte(1000)
        if (next === CAN) return this.stIap ? this.senderAborted() : null
        continue
      }
      if (b === EOT) {
        endedAt = performance.now()
        await this.write(Uint8Array.of(ACK))
        break
      }
      const blk = await this.blockBody(b)
      if (!blk || !blk.ok) {
        errors++
        await this.drain()
        await this.write(Uint8Array.of(this.stIap ? CRC_REQUEST : NAK))
        continue
      }
      const expectedNumber = expect & 0xff
      if (blk.number === expectedNumber) {
        if (this.o.programDelayMs) await new Promise((r) => setTimeout(r, this.o.programDelayMs))
        chunks.push(blk.data)
        expect++
        errors = 0
        if (this.o.dropAckOfBlocks.includes(blk.number) && !this.dropped.has(blk.number)) {
          this.dropped.add(blk.number)
          continue
        }
        if (this.faults.stallAfterBlocks !== undefined && chunks.length >= this.faults.stallAfterBlocks) {
          this.faults.stallAfterBlocks = undefined
          await this.hang()
        }
        if (this.faults.corruptReplyAtBlock === expect - 1) {
          const byte = this.faults.corruptReplyByte ?? ACK ^ 0x80
          this.faults.corruptReplyAtBlock = undefined
          this.faults.corruptReplyByte = undefined
          this.emit('fault', 'corrupt-reply')
          await this.write(Uint8Array.of(byte))
          continue
        }
        await this.write(Uint8Array.of(ACK))
      } else if (blk.number === ((expect - 1) & 0xff)) {
        await this.write(Uint8Array.of(this.stIap ? NAK : ACK))
      } else if (this.stIap) {
        await this.write(Uint8Array.of(NAK))
      } else {
        await this.write(Uint8Array.of(CAN, CAN))
        return null
      }
    }
    // Phase 3: end of batch (null header).
    for (let tries = 0; tries < 10; tries++) {
      await this.write(Uint8Array.of(CRC_REQUEST))
      const b = await this.byte(1000)
      if (b === SOH || b === STX) {
        const blk = await this.blockBody(b)
        if (blk?.ok && blk.number === 0) {
          await this.write(Uint8Array.of(ACK))
          break
        }
      } else if (b === EOT) {
        await this.write(Uint8Array.of(ACK))
      }
    }
    const data = Buffer.concat(chunks).subarray(0, header.size)
    if (data.length < header.size) return null
    return { name: header.name, size: header.size, data, startedAt, endedAt }
  }

  /** ST `Ymodem_Receive`: CA CA from the sender ("abort by sender") is ACKed and ends the session. */
  private async senderAborted(): Promise<null> {
    await this.write(Uint8Array.of(ACK))
    return null
  }

  /** Fault injection: answers nothing more; takes and drops bytes until the link closes (the read then throws). */
  private async hang(): Promise<never> {
    this.emit('fault', 'stall')
    for (;;) await this.waitForever(() => this.t!.readSome(60_000))
  }

  /** Skips the rest of a bad block: until the line is quiet for 100 ms, and for at most 2 s of a sender that keeps talking. */
  private async drain(): Promise<void> {
    const deadline = performance.now() + 2000
    while (performance.now() < deadline) {
      const b = await this.byte(100)
      if (b === null) return
    }
  }

  private async reboot(file: ReceivedFile): Promise<void> {
    this.image = file.data
    this.received.push(file)
    this.emit('received', file)
    await new Promise((r) => setTimeout(r, 20))
    await this.write(`\r\nrebooting...\r\nflashline sim application\r\nversion: ${this.version}\r\n`)
  }
}
