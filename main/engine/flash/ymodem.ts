import { open } from 'node:fs/promises'
import { FlashlineError } from '../errors'
import type { FlashImage, FlashResult } from '../model'
import type { Transport } from '../transport/transport'
import { crc16xmodem } from '../util/crc16'
import type { FlashOptions } from './flasher'

export const SOH = 0x01
export const STX = 0x02
export const EOT = 0x04
export const ACK = 0x06
export const NAK = 0x15
export const CAN = 0x18
export const CRC_REQUEST = 0x43 // 'C'
export const PAD = 0x1a

export interface YmodemOptions {
  /** Text typed first to start the receiver from a bootloader menu (e.g. "1\r" for MXCHIP/ST-IAP menus). */
  menuCommand?: string
  /** How long to wait for the receiver's first 'C' (or NAK). */
  startTimeoutMs?: number
  /** How long to wait for each block's answer; the device may be writing flash before it answers. */
  blockTimeoutMs?: number
  /** Attempts per block and per EOT. */
  retries?: number
  /** Bounded wait for the end-of-batch exchange; the file is already delivered at that point. */
  endTimeoutMs?: number
  log?: (message: string) => void
}

const DEFAULTS = { startTimeoutMs: 60_000, blockTimeoutMs: 10_000, retries: 10, endTimeoutMs: 5_000 }
/** lrz sends 'C' and then flushes its input: a block sent the instant the 'C' arrives can be thrown away. */
const END_SETTLE_MS = 20
const END_ATTEMPTS = 3
const END_REPLY_MS = 1500

type Reply = 'ack' | 'nak' | 'crc' | 'cancel' | 'timeout'

/** Builds one block: SOH|STX, number, complement, data padded with 0x1A, CRC-16 (or 1-byte checksum). */
export function buildBlock(number: number, data: Uint8Array, size: 128 | 1024, useCrc: boolean, pad = PAD): Buffer {
  const block = Buffer.alloc(3 + size + (useCrc ? 2 : 1), pad)
  block[0] = size === 1024 ? STX : SOH
  block[1] = number & 0xff
  block[2] = 0xff - (number & 0xff)
  block.set(data, 3)
  const payload = block.subarray(3, 3 + size)
  if (useCrc) block.writeUInt16BE(crc16xmodem(payload), 3 + size)
  else block[3 + size] = payload.reduce((s, b) => (s + b) & 0xff, 0)
  return block
}

/** Block 0: "name\0size" then NULs (we do not copy lsz's IMP/KMD bytes). Empty name = end of batch. */
export function buildHeaderBlock(name: string, size: number | null, useCrc: boolean): Buffer {
  if (size === null) return buildBlock(0, new Uint8Array(0), 128, useCrc, 0)
  const text = Buffer.from(`${name}\0${size}`, 'latin1')
  return buildBlock(0, text, text.length + 1 > 128 ? 1024 : 128, useCrc, 0)
}

/** YMODEM names are plain file names: no directories or drive letters, '/' separators. */
export function ymodemName(name: string): string {
  const base = name.split(/[\\/]/).pop() || 'firmware.bin'
  return base.replace(/[^\x21-\x7e]/g, '_').slice(0, 100)
}

class YmodemSession {
  private useCrc = true
  private readonly o: Required<Omit<YmodemOptions, 'menuCommand' | 'log'>> & YmodemOptions
  /** Bytes the receiver sent that we have not interpreted yet. */
  private pending: number[] = []
  /** Bytes skipped as noise while recording (the end of batch): a rebooting device's first output. */
  private heard: number[] | null = null

  constructor(
    private readonly t: Transport,
    options: YmodemOptions,
    private readonly signal?: AbortSignal
  ) {
    this.o = {
      ...options,
      startTimeoutMs: options.startTimeoutMs ?? DEFAULTS.startTimeoutMs,
      blockTimeoutMs: options.blockTimeoutMs ?? DEFAULTS.blockTimeoutMs,
      retries: options.retries ?? DEFAULTS.retries,
      endTimeoutMs: options.endTimeoutMs ?? DEFAULTS.endTimeoutMs
    }
  }

  private checkAbort(): void {
    if (this.signal?.aborted) throw new FlashlineError('interrupted', 'aborted', 'interrupted')
  }

  private log(m: string): void {
    this.o.log?.(m)
  }

  /** Waits for the receiver's start request: 'C' (CRC mode) or NAK (checksum mode), skipping menu text. */
  async waitForStart(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs
    let prev = -1
    /** The byte before the current run of 'C's: a receiver that asked several times sends "CCC", which is no word. */
    let beforeRun = -1
    for (;;) {
      this.checkAbort()
      const left = deadline - Date.now()
      if (left <= 0) {
        throw new FlashlineError(
          'device',
          'ymodem-no-start',
          `the device did not ask for a YMODEM transfer within ${Math.round(timeoutMs / 1000)} s (no 'C' received); put it in its bootloader (or set the menu command, e.g. "1\\r") and try again`
        )
      }
      const b = await this.nextByte(Math.min(left, 250))
      if (b === null) continue
      // A 'C' inside menu text ("Copyright", "ACME") is not a request: it must not touch a letter,
      // other than the 'C's of the same run (requests pile up when the flasher starts reading late).
      if (b === CRC_REQUEST) {
        if (prev !== CRC_REQUEST) beforeRun = prev
        let run = 0
        while (this.pending[run] === CRC_REQUEST) run++
        if (!isLetter(beforeRun) && !isLetter(this.pending[run] ?? -1)) {
          this.pending.splice(0, run) // one request, however often it was repeated
          this.useCrc = true
          return
        }
      }
      if (b === NAK) {
        this.useCrc = false
        return
      }
      this.heard?.push(b)
      prev = b
    }
  }

  /** Waits for the start request like waitForStart, keeping what the device printed before it; null request on timeout. */
  async listen(timeoutMs: number): Promise<{ request: 'C' | 'NAK' | null; printed: Buffer }> {
    this.heard = []
    try {
      await this.waitForStart(timeoutMs)
      return { request: this.useCrc ? 'C' : 'NAK', printed: Buffer.from(this.heard) }
    } catch (e) {
      if (e instanceof FlashlineError && e.code === 'ymodem-no-start') return { request: null, printed: Buffer.from(this.heard) }
      throw e
    } finally {
      this.heard = null
    }
  }

  private async nextByte(timeoutMs: number): Promise<number | null> {
    if (this.pending.length) return this.pending.shift()!
    try {
      const chunk = await this.t.readSome(timeoutMs)
      this.pending.push(...chunk)
      return this.pending.shift() ?? null
    } catch (e) {
      if (e instanceof FlashlineError && e.code === 'timeout') return null
      throw e
    }
  }

  /** Reads the receiver's answer to a block, ignoring noise; two CANs in a row cancel. */
  private async reply(timeoutMs: number): Promise<Reply> {
    const deadline = Date.now() + timeoutMs
    let cans = 0
    for (;;) {
      this.checkAbort()
      const left = deadline - Date.now()
      if (left <= 0) return 'timeout'
      const b = await this.nextByte(left)
      if (b === null) return 'timeout'
      if (b === CAN) {
        if (++cans >= 2) return 'cancel'
        continue
      }
      cans = 0
      if (b === ACK) return 'ack'
      if (b === NAK) return 'nak'
      if (b === CRC_REQUEST && !this.insideText()) return 'crc'
      this.heard?.push(b)
    }
  }

  /** At the end of batch, a 'C' next to letters belongs to the booting device's text ("Copyright"). */
  private insideText(): boolean {
    return this.heard !== null && (isLetter(this.heard.at(-1) ?? -1) || isLetter(this.pending[0] ?? -1))
  }

  /**
   * Sends one block until acknowledged. Receivers differ on a repeated block: lrz ACKs it, ST-IAP
   * style receivers NAK it. A NAK answering a block we resent after silence or a 'C' (lost ACK) means
   * the receiver already has it, so we move on instead of looping until the retries run out.
   */
  async sendBlock(block: Buffer, what: string, retries = this.o.retries): Promise<void> {
    let lastFailure: Reply | null = null
    for (let attempt = 1; attempt <= retries; attempt++) {
      this.checkAbort()
      if (attempt > 1) {
        this.t.discardInput()
        this.pending = []
      }
      // Wait for the answer while the OS drains the block: the answer cannot come earlier anyway,
      // and waiting for the drain first costs a thread-pool round trip per block.
      const written = this.t.write(block)
      written.catch(() => undefined)
      const r = await Promise.race([this.reply(this.o.blockTimeoutMs), written.then(() => new Promise<never>(() => undefined))])
      await written
      if (r === 'ack') return
      if (r === 'cancel') throw new FlashlineError('device', 'ymodem-cancelled', `the device cancelled the YMODEM transfer at ${what} (CAN CAN)`)
      if (r === 'nak' && (lastFailure === 'timeout' || lastFailure === 'crc')) {
        this.log(`${what}: NAK on a resent block after a lost ACK; the receiver already has it`)
        return
      }
      this.log(`${what}: ${r === 'timeout' ? 'no answer' : r === 'nak' ? 'NAK' : "'C'"} (attempt ${attempt}/${retries}), resending`)
      lastFailure = r
    }
    throw new FlashlineError('device', 'ymodem-retries', `the device did not accept ${what} after ${retries} attempts`)
  }

  async sendHeader(name: string, size: number, retries?: number): Promise<void> {
    await this.sendBlock(buildHeaderBlock(name, size, this.useCrc), 'the file header (block 0)', retries)
    // After ACKing the header the receiver asks for data with 'C' (often in the same read as the ACK).
    await this.waitForStart(this.o.blockTimeoutMs * 2)
  }

  async sendEot(): Promise<void> {
    for (let attempt = 1; attempt <= this.o.retries; attempt++) {
      this.checkAbort()
      await this.t.write(Uint8Array.of(EOT))
      const r = await this.reply(this.o.blockTimeoutMs)
      if (r === 'ack') return
      if (r === 'cancel') throw new FlashlineError('device', 'ymodem-cancelled', 'the device cancelled the YMODEM transfer at the end of file (CAN CAN)')
      // Classic receivers NAK the first EOT on purpose; resend.
    }
    throw new FlashlineError('device', 'ymodem-eot', `the device did not acknowledge the end of file after ${this.o.retries} attempts`)
  }

  /**
   * End of batch: bounded waits only — the file is already delivered, so a silent receiver must not
   * hang us. The null block goes out after the line settles and again while the receiver stays
   * silent or asks again; a device that starts talking instead has left YMODEM (it is booting).
   */
  async endBatch(): Promise<void> {
    this.heard = []
    try {
      await this.waitForStart(this.o.endTimeoutMs)
    } catch (e) {
      if (!(e instanceof FlashlineError) || e.code !== 'ymodem-no-start') throw e
      this.log("no 'C' after EOT; sending the end-of-batch block anyway")
    }
    await new Promise((r) => setTimeout(r, END_SETTLE_MS))
    const block = buildHeaderBlock('', null, this.useCrc)
    let r: Reply = 'timeout'
    for (let attempt = 1; attempt <= END_ATTEMPTS; attempt++) {
      this.checkAbort()
      const heardBefore = this.heard.length
      await this.t.write(block)
      r = await this.reply(END_REPLY_MS)
      if (r === 'ack' || r === 'cancel') break
      if (r === 'timeout' && this.heard.length > heardBefore) break
      if (attempt < END_ATTEMPTS) this.log(`end-of-batch block: ${r === 'timeout' ? 'no answer' : r === 'nak' ? 'NAK' : "'C'"}, resending`)
    }
    if (r !== 'ack') this.log(`end-of-batch block not acknowledged (${r}); the file itself was acknowledged`)
  }

  /** Bytes received after the last answer we interpreted: a device that reboots at once prints its banner right behind the final ACK. */
  takeUnread(): Buffer {
    const rest = Buffer.from([...(this.heard ?? []), ...this.pending])
    this.pending = []
    this.heard = null
    return rest
  }

  resetInput(): void {
    this.t.discardInput()
    this.pending = []
  }

  async cancel(): Promise<void> {
    try {
      await this.t.write(Buffer.from([CAN, CAN, CAN, CAN, CAN, 8, 8, 8, 8, 8]))
    } catch {
      /* the port may be gone already */
    }
  }

  get blockSize(): 128 | 1024 {
    return this.useCrc ? 1024 : 128
  }

  get crc(): boolean {
    return this.useCrc
  }
}

function isLetter(b: number): boolean {
  return (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a)
}

/** Console text as a technician would read it: printable characters and line breaks, the last 500. */
function printable(bytes: Buffer): string {
  return bytes.toString('latin1').replace(/\r/g, '').replace(/[^\x20-\x7e\n]/g, '.').trim().slice(-500)
}

/**
 * Tells whether a YMODEM receiver is waiting, sending nothing but the menu command: waits (bounded)
 * for its first 'C' (CRC-16) or NAK (checksum), then cancels with CAN CAN (Forsberg, ymodem.txt:
 * two CANs abort a transfer), so the device goes back to waiting or to its menu. No block is sent.
 */
export async function identifyYmodem(transport: Transport, options: { menuCommand?: string; timeoutMs?: number; signal?: AbortSignal } = {}): Promise<{ protocol: 'ymodem'; chip: string; details: Record<string, unknown> }> {
  const timeoutMs = options.timeoutMs ?? 5000
  const session = new YmodemSession(transport, { startTimeoutMs: timeoutMs }, options.signal)
  // what the device printed before we spoke (a banner or its menu) is part of the answer
  const before = transport.discardInput()
  if (options.menuCommand) await transport.write(Buffer.from(options.menuCommand, 'latin1'))
  const heard = await session.listen(timeoutMs)
  const banner = printable(Buffer.concat([before, heard.printed]))
  if (!heard.request) {
    throw new FlashlineError(
      'device',
      'no-answer',
      `no YMODEM receiver asked for a file within ${Math.round(timeoutMs / 1000)} s (no 'C' or NAK): reset the board into its bootloader${options.menuCommand ? '' : ' and, if it shows a menu, give the menu command that starts the download (e.g. "1\\r")'}, then try again; ${banner ? `the device printed: "${banner.slice(-200).replace(/\s*\n\s*/g, ' | ')}"` : 'the device printed nothing'}`
    )
  }
  await transport.write(Uint8Array.of(CAN, CAN))
  return { protocol: 'ymodem', chip: 'YMODEM receiver', details: { request: heard.request, mode: heard.request === 'C' ? 'CRC-16' : 'checksum', ...(banner ? { banner } : {}) } }
}

/**
 * Sends one file with YMODEM-1K batch: header, 1 KiB CRC blocks (128-byte blocks in checksum mode
 * or for a short tail), EOT, end-of-batch. Reads the file block by block; never all at once.
 */
export async function sendYmodem(
  transport: Transport,
  image: FlashImage,
  options: YmodemOptions & FlashOptions = {}
): Promise<FlashResult> {
  const session = new YmodemSession(transport, options, options.signal)
  const file = await open(image.path, 'r')
  let done = 0
  try {
    options.onProgress?.({ stage: 'connect', done: 0, total: image.size })
    if (options.menuCommand) {
      transport.discardInput()
      await transport.write(Buffer.from(options.menuCommand, 'latin1'))
    }
    await session.waitForStart(options.startTimeoutMs ?? DEFAULTS.startTimeoutMs)
    try {
      await session.sendHeader(ymodemName(image.name), image.size, 4)
    } catch (e) {
      if (!(e instanceof FlashlineError) || (e.code !== 'ymodem-retries' && e.code !== 'ymodem-cancelled')) throw e
      // A receiver still inside an interrupted transfer rejects a new header (ST IAP NAKs it, lrz
      // cancels): abort that transfer and start a fresh session once.
      options.log?.('the device rejects the header; it seems stuck in an earlier transfer: cancelling it and starting again')
      await session.cancel()
      await new Promise((r) => setTimeout(r, 1500))
      session.resetInput()
      if (options.menuCommand) await transport.write(Buffer.from(options.menuCommand, 'latin1'))
      await session.waitForStart(options.startTimeoutMs ?? DEFAULTS.startTimeoutMs)
      await session.sendHeader(ymodemName(image.name), image.size)
    }
    let number = 1
    options.onProgress?.({ stage: 'write', done: 0, total: image.size })
    // The next block is read from disk while the device is still answering the current one.
    const readBlock = async (offset: number): Promise<{ block: Buffer; length: number } | null> => {
      const left = image.size - offset
      if (left <= 0) return null
      const size: 128 | 1024 = session.blockSize === 128 || left <= 128 ? 128 : 1024
      const buf = Buffer.alloc(size)
      const { bytesRead } = await file.read(buf, 0, Math.min(size, left), offset)
      if (bytesRead === 0) throw new FlashlineError('device', 'file-shrank', `${image.path} is shorter than ${image.size} bytes; was it changed during the flash?`)
      return { block: buildBlock(number, buf.subarray(0, bytesRead), size, session.crc), length: bytesRead }
    }
    let next = readBlock(0)
    while (done < image.size) {
      const current = (await next)!
      const blockNumber = number
      number = (number + 1) & 0xff
      next = readBlock(done + current.length)
      next.catch(() => undefined)
      await session.sendBlock(current.block, `block ${blockNumber}`)
      done += current.length
      options.onProgress?.({ stage: 'write', done, total: image.size })
    }
    await session.sendEot()
    await session.endBatch()
    const unread = session.takeUnread()
    return { bytesWritten: done, verified: 'device', ...(unread.length ? { bootLog: unread.toString('latin1') } : {}) }
  } catch (e) {
    if (!(e instanceof FlashlineError) || e.code !== 'ymodem-cancelled') await session.cancel()
    throw e
  } finally {
    await file.close()
  }
}
