import { readFile } from 'node:fs/promises'
import { FlashlineError } from '../errors'
import type { DeviceIdentity, FlashImage, FlashResult } from '../model'
import type { Transport } from '../transport/transport'
import type { FlashOptions, Flasher } from './flasher'
import { parseSignalSequence, runSignalSequence } from './signal-sequence'
import { chipByPid, pagesCovering, stm32Crc, type Stm32Chip } from './stm32-chips'

const ACK = 0x79
const NACK = 0x1f
const BUSY = 0x76
const BLOCK = 256

export interface Stm32Options {
  /** 'auto': Get Checksum (0xA1) when the bootloader lists it, else a full read-back. */
  verify?: 'auto' | 'readback' | 'crc' | 'none'
  massErase?: boolean
  /** Start the application after flashing (Go to the image address). */
  go?: boolean
  /** DTR/RTS sequence (stm32flash `-i` syntax) that enters the bootloader before and leaves it after. */
  entry?: string
  /** Remove write protection and read-out protection first. Read-out unprotect MASS-ERASES the flash. */
  unprotect?: boolean
  /** Enable read-out protection after a verified write (the flash can then no longer be read over the bootloader). */
  protect?: boolean
  log?: (m: string) => void
}

/**
 * STM32 system-memory bootloader (AN3155) over UART. Identifies the chip, refuses an image that
 * does not fit before erasing anything, erases only the pages the image covers, writes 256-byte
 * blocks stop-and-wait without idle gaps, verifies (CRC or read-back) and starts the application.
 */
class Stm32Session {
  commands: number[] = []
  bootloaderVersion = 0

  constructor(
    private readonly t: Transport,
    private readonly signal?: AbortSignal
  ) {}

  private check(): void {
    if (this.signal?.aborted) throw new FlashlineError('interrupted', 'aborted', 'interrupted')
  }

  async ack(what: string, timeoutMs = 1000): Promise<void> {
    for (;;) {
      const b = (await this.t.read(1, timeoutMs).catch((e) => {
        if (e instanceof FlashlineError && e.code === 'timeout') throw new FlashlineError('device', 'stm32-timeout', `the STM32 bootloader did not answer ${what} within ${timeoutMs} ms`)
        throw e
      }))[0]
      if (b === ACK) return
      if (b === BUSY) continue
      if (b === NACK) {
        throw new FlashlineError('device', 'stm32-nack', `the STM32 bootloader refused ${what} (NACK)${what.startsWith('command') ? '; readout protection may be active' : ''}`)
      }
      throw new FlashlineError('device', 'stm32-protocol', `unexpected byte 0x${b!.toString(16)} from the STM32 bootloader after ${what}`)
    }
  }

  /**
   * Writes and waits for the ACK at the same time: the answer cannot come before the bytes are out,
   * and waiting for the OS drain first costs a thread-pool round trip per frame (three per block).
   */
  async exchange(bytes: Uint8Array, what: string, timeoutMs = 1000): Promise<void> {
    const written = this.t.write(bytes)
    written.catch(() => undefined)
    await Promise.race([this.ack(what, timeoutMs), written.then(() => new Promise<never>(() => undefined))])
    await written
  }

  async command(code: number, what: string): Promise<void> {
    this.check()
    await this.exchange(Uint8Array.of(code, code ^ 0xff), `command ${what}`)
  }

  async sendAddress(addr: number, what: string): Promise<void> {
    const a = Buffer.alloc(5)
    a.writeUInt32BE(addr >>> 0, 0)
    a[4] = a[0]! ^ a[1]! ^ a[2]! ^ a[3]!
    await this.exchange(a, `the address 0x${addr.toString(16)} for ${what}`)
  }

  /** 0x7F once; a NACK means the bootloader was already synchronised (as stm32flash accepts). */
  async sync(): Promise<void> {
    this.t.discardInput()
    for (let attempt = 1; attempt <= 5; attempt++) {
      this.check()
      await this.t.write(Uint8Array.of(0x7f))
      try {
        const b = (await this.t.read(1, 500))[0]
        if (b === ACK || b === NACK) return
      } catch (e) {
        if (!(e instanceof FlashlineError && e.code === 'timeout')) throw e
      }
    }
    throw new FlashlineError(
      'device',
      'stm32-no-sync',
      'no answer from the STM32 bootloader to 0x7F: hold BOOT0 high and reset the board (or set an entry sequence), and check the wiring (TX↔RX) and 8E1 framing'
    )
  }

  async identify(): Promise<{ chip: Stm32Chip; pid: number }> {
    await this.command(0x01, 'Get Version')
    const gv = await this.t.read(3, 1000)
    await this.ack('Get Version')
    this.bootloaderVersion = gv[0]!
    await this.command(0x00, 'Get')
    const n = (await this.t.read(1, 1000))[0]!
    const body = await this.t.read(n + 1, 1000)
    await this.ack('Get')
    this.commands = [...body.subarray(1)]
    await this.command(0x02, 'Get ID')
    const len = (await this.t.read(1, 1000))[0]!
    const id = await this.t.read(len + 1, 1000)
    await this.ack('Get ID')
    const pid = (id[0]! << 8) | id[1]!
    const chip = chipByPid(pid)
    if (!chip) throw new FlashlineError('device', 'stm32-unknown-chip', `unknown STM32 product id 0x${pid.toString(16)}; Flashline does not know its flash layout yet`)
    return { chip, pid }
  }

  async erase(chip: Stm32Chip, pages: number[] | 'mass'): Promise<void> {
    const extended = this.commands.includes(0x44)
    if (!extended && !this.commands.includes(0x43)) throw new FlashlineError('device', 'stm32-no-erase', 'the bootloader lists no erase command')
    if (pages === 'mass') {
      await this.command(extended ? 0x44 : 0x43, 'Erase')
      await this.t.write(extended ? Uint8Array.of(0xff, 0xff, 0x00) : Uint8Array.of(0xff, 0x00))
      await this.ack('mass erase', 40_000)
      return
    }
    for (let i = 0; i < pages.length; i += extended ? 128 : 255) {
      const group = pages.slice(i, i + (extended ? 128 : 255))
      await this.command(extended ? 0x44 : 0x43, 'Erase')
      let frame: Buffer
      if (extended) {
        frame = Buffer.alloc(2 + group.length * 2 + 1)
        frame.writeUInt16BE(group.length - 1, 0)
        group.forEach((p, k) => frame.writeUInt16BE(p, 2 + k * 2))
      } else {
        frame = Buffer.alloc(1 + group.length + 1)
        frame[0] = group.length - 1
        group.forEach((p, k) => (frame[1 + k] = p))
      }
      frame[frame.length - 1] = frame.subarray(0, frame.length - 1).reduce((x, b) => x ^ b, 0)
      await this.t.write(frame)
      await this.ack(`erasing ${group.length} page(s) of ${chip.name}`, 5000 * group.length + 1000)
    }
  }

  async write(addr: number, data: Buffer): Promise<void> {
    await this.command(0x31, 'Write Memory')
    await this.sendAddress(addr, 'Write Memory')
    const frame = Buffer.alloc(data.length + 2)
    frame[0] = data.length - 1
    data.copy(frame, 1)
    frame[frame.length - 1] = frame.subarray(0, frame.length - 1).reduce((x, b) => x ^ b, 0)
    await this.exchange(frame, `writing 0x${addr.toString(16)}`, 2000)
  }

  async read(addr: number, length: number): Promise<Buffer> {
    await this.command(0x11, 'Read Memory')
    await this.sendAddress(addr, 'Read Memory')
    await this.exchange(Uint8Array.of(length - 1, (length - 1) ^ 0xff), 'the read length')
    return this.t.read(length, 2000)
  }

  async crc(addr: number, length: number): Promise<number> {
    await this.command(0xa1, 'Get Checksum')
    await this.sendAddress(addr, 'Get Checksum')
    const l = Buffer.alloc(5)
    l.writeUInt32BE(length, 0)
    l[4] = l[0]! ^ l[1]! ^ l[2]! ^ l[3]!
    await this.t.write(l)
    await this.ack('the checksum length')
    await this.ack('the checksum', 10_000)
    const r = await this.t.read(5, 2000)
    if ((r[0]! ^ r[1]! ^ r[2]! ^ r[3]!) !== r[4]) throw new FlashlineError('device', 'stm32-protocol', 'the checksum reply from the bootloader is corrupt')
    return r.readUInt32BE(0)
  }

  /**
   * Readout/Write (un)protect: the bootloader ACKs the command, ACKs again when the option bytes are
   * written (read-out unprotect mass-erases first), then resets itself; we sync again afterwards.
   */
  async protection(code: 0x63 | 0x73 | 0x82 | 0x92, what: string, sectors?: number[]): Promise<void> {
    if (!this.commands.includes(code)) throw new FlashlineError('device', 'stm32-unsupported', `this bootloader does not offer ${what} (command 0x${code.toString(16)})`)
    await this.command(code, what)
    if (sectors) {
      const frame = Buffer.from([sectors.length - 1, ...sectors, 0])
      frame[frame.length - 1] = frame.subarray(0, frame.length - 1).reduce((x, b) => x ^ b, 0)
      await this.exchange(frame, `${what} sectors`)
    }
    await this.ack(what, code === 0x92 ? 40_000 : 5000)
    // the system reset after an option byte change takes a moment
    await new Promise((r) => setTimeout(r, 100))
    await this.sync()
  }

  async go(addr: number): Promise<void> {
    await this.command(0x21, 'Go')
    await this.sendAddress(addr, 'Go')
  }
}

export async function flashStm32(transport: Transport, image: FlashImage, options: Stm32Options & FlashOptions = {}): Promise<FlashResult> {
  const s = new Stm32Session(transport, options.signal)
  const progress = options.onProgress
  const sequence = options.entry ? parseSignalSequence(options.entry) : null
  progress?.({ stage: 'connect', done: 0, total: image.size })
  if (sequence) await runSignalSequence(transport, sequence.entry)
  await s.sync()
  const { chip, pid } = await s.identify()
  const identity: DeviceIdentity = { protocol: 'stm32', chip: chip.name, id: `0x${pid.toString(16).padStart(3, '0')}`, details: { bootloader: `${s.bootloaderVersion >> 4}.${s.bootloaderVersion & 0xf}`, commands: s.commands } }
  options.log?.(`${chip.name} (PID ${identity.id}), bootloader ${identity.details!['bootloader']}`)
  if (options.verify === 'crc' && !s.commands.includes(0xa1)) {
    throw new FlashlineError('device', 'stm32-unsupported', `this bootloader (${identity.details!['bootloader']}) does not offer Get Checksum (0xA1), which --verify crc needs; use --verify readback or auto; nothing was erased`)
  }
  const address = image.address ?? chip.flashStart
  const offset = address - chip.flashStart
  if (offset < 0 || offset + image.size > chip.flashSize) {
    throw new FlashlineError(
      'device',
      'image-too-large',
      `the image (${image.size} bytes at 0x${address.toString(16)}) does not fit the flash of ${chip.name} (${chip.flashSize / 1024} KiB at 0x${chip.flashStart.toString(16)}); nothing was erased`
    )
  }
  if (address % 4) throw new FlashlineError('usage', 'bad-address', `STM32 flash writes need a 4-byte aligned address, got 0x${address.toString(16)}`)
  const file = await readFile(image.path)
  if (file.length !== image.size) throw new FlashlineError('device', 'file-changed', `${image.path} is ${file.length} bytes, expected ${image.size}; was it changed during the flash?`)
  // Pad to whole words with 0xFF (erased flash), as the bootloader writes words.
  const padded = Buffer.alloc(Math.ceil(file.length / 4) * 4, 0xff)
  file.copy(padded)

  if (options.unprotect) {
    // Read-out protection first: while it is on, the bootloader refuses Write Unprotect.
    options.log?.('WARNING: removing read-out protection (Readout Unprotect 0x92) erases the whole flash')
    await s.protection(0x92, 'Readout Unprotect')
    if (s.commands.includes(0x73)) {
      options.log?.('removing write protection (Write Unprotect 0x73)')
      await s.protection(0x73, 'Write Unprotect')
    }
  }
  progress?.({ stage: 'erase', done: 0, total: padded.length })
  try {
    await s.erase(chip, options.massErase ? 'mass' : pagesCovering(chip, offset, padded.length))
  } catch (e) {
    if (e instanceof FlashlineError && e.code === 'stm32-nack' && !options.unprotect) {
      throw new FlashlineError(
        'device',
        'stm32-protected',
        `the STM32 bootloader refused to erase: the chip is read-out or write protected. Flash again with --unprotect (this mass-erases the chip, including any data or calibration kept in flash)`
      )
    }
    throw e
  }

  for (let done = 0; done < padded.length; ) {
    const n = Math.min(BLOCK, padded.length - done)
    await s.write(address + done, padded.subarray(done, done + n))
    done += n
    progress?.({ stage: 'write', done: Math.min(done, image.size), total: image.size })
  }

  const mode = options.verify ?? 'auto'
  let verified: FlashResult['verified'] = 'none'
  if (mode !== 'none') {
    progress?.({ stage: 'verify', done: 0, total: padded.length })
    const useCrc = mode === 'crc' || (mode === 'auto' && s.commands.includes(0xa1))
    if (useCrc) {
      const got = await s.crc(address, padded.length)
      const want = stm32Crc(padded)
      if (got !== want) throw new FlashlineError('device', 'verify-failed', `flash CRC 0x${got.toString(16)} does not match the image (0x${want.toString(16)}): the write did not take`)
    } else {
      for (let done = 0; done < padded.length; ) {
        const n = Math.min(BLOCK, padded.length - done)
        const back = await s.read(address + done, n)
        if (!back.equals(padded.subarray(done, done + n))) {
          const i = [...back].findIndex((b, k) => b !== padded[done + k])
          throw new FlashlineError('device', 'verify-failed', `read-back differs at 0x${(address + done + i).toString(16)}: wrote 0x${padded[done + i]!.toString(16)}, read 0x${back[i]!.toString(16)}`)
        }
        done += n
        progress?.({ stage: 'verify', done, total: padded.length })
      }
    }
    verified = 'device'
  }
  if (options.protect) {
    options.log?.('enabling read-out protection (Readout Protect 0x82): the flash can no longer be read or verified over the bootloader; removing it erases the chip')
    await s.protection(0x82, 'Readout Protect')
  }
  // With read-out protection on, the bootloader refuses Go; the chip starts the application at its next reset.
  if ((options.go ?? true) && !options.protect) {
    progress?.({ stage: 'reset', done: 0, total: 1 })
    await s.go(address)
  }
  if (sequence) await runSignalSequence(transport, sequence.exit)
  return { bytesWritten: image.size, identity, verified }
}

export function createStm32Flasher(options: Record<string, unknown> = {}): Flasher {
  const verify = options['verify']
  const opts: Stm32Options = {
    verify: verify === 'readback' || verify === 'crc' || verify === 'none' ? verify : 'auto',
    massErase: options['massErase'] === true,
    go: options['go'] !== false,
    entry: typeof options['entry'] === 'string' ? options['entry'] : undefined,
    unprotect: options['unprotect'] === true,
    protect: options['protect'] === true,
    log: typeof options['log'] === 'function' ? (options['log'] as (m: string) => void) : undefined
  }
  return { protocol: 'stm32', flash: (t, image, f) => flashStm32(t, image, { ...opts, ...f }) }
}
