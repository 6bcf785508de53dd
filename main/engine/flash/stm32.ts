import { readFile } from 'node:fs/promises'
import { FlashlineError } from '../errors'
import type { DeviceIdentity, FlashImage, FlashResult } from '../model'
import type { Transport } from '../transport/transport'
import type { FlashOptions } from './flasher'
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
    const pid = await this.readIds()
    const chip = chipByPid(pid)
    if (!chip) throw new FlashlineError('device', 'stm32-unknown-chip', `unknown STM32 product id 0x${pid.toString(16)}; Flashline does not know its flash layout yet`)
    return { chip, pid }
  }

  /** Get Version, Get (the command list) and Get ID; returns the product id. */
  async readIds(): Promise<number> {
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
    return (id[0]! << 8) | id[1]!
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

  /**
   * Read Memory that answers a refusal (NACK) with the step that refused instead of throwing: the
   * command itself is refused while read-out protection is on (AN3155, Read Memory command), an
   * address the bootloader does not serve at the address, a bad length at the length.
   */
  async tryRead(addr: number, length: number): Promise<Buffer | { refused: 'command' | 'address' | 'length' }> {
    const refusedAt = async (stage: 'command' | 'address' | 'length', step: () => Promise<void>) => {
      try {
        await step()
        return null
      } catch (e) {
        if (e instanceof FlashlineError && e.code === 'stm32-nack') return { refused: stage }
        throw e
      }
    }
    return (
      (await refusedAt('command', () => this.command(0x11, 'Read Memory'))) ??
      (await refusedAt('address', () => this.sendAddress(addr, 'Read Memory'))) ??
      (await refusedAt('length', () => this.exchange(Uint8Array.of(length - 1, (length - 1) ^ 0xff), 'the read length'))) ??
      this.t.read(length, 2000)
    )
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

/** What the device electronic signature told, or why it could not be read. */
interface Signature {
  /** The 96-bit unique device ID: the 12 bytes from the UID address upwards, as lowercase hex. */
  uid?: string
  /** Why there is no uid (goes to identity.details.uid). */
  uidNote?: string
  /** The flash size register as read (KiB), plausible or not. */
  flashSizeRegister?: number
  /** Read Memory was refused at the command: read-out protection is on. */
  readProtected: boolean
}

const hex = (n: number): string => `0x${n.toString(16)}`

/**
 * Reads the unit's unique device ID and flash size register over the bootloader. Never fails the
 * flash for a refusal: a protected or unusual part still flashes (or is refused) as before, only
 * without a unit id.
 */
async function readSignature(s: Stm32Session, chip: Stm32Chip): Promise<Signature> {
  if (!s.commands.includes(0x11)) return { uidNote: 'unreadable: the bootloader lists no Read Memory command (0x11)', readProtected: false }
  const uid = await s.tryRead(chip.uidAddress, 12)
  if (!Buffer.isBuffer(uid)) {
    if (uid.refused === 'command') return { uidNote: 'unreadable: read-out protection', readProtected: true }
    return { uidNote: `unreadable: the bootloader refused to read ${hex(chip.uidAddress)} (at the ${uid.refused})`, readProtected: false }
  }
  const out: Signature = { readProtected: false }
  // An erased or absent register is no unit identity (RM0454 documents no unique ID on the G070, which shares PID 0x460).
  if (uid.every((b) => b === uid[0]) && (uid[0] === 0xff || uid[0] === 0x00)) out.uidNote = `unreadable: ${hex(chip.uidAddress)} reads all ${hex(uid[0]!)}`
  else out.uid = uid.toString('hex')
  // The word that holds the 16-bit register (the F4's sits at ...A22): stm32flash, too, reads only from word-aligned addresses.
  const word = chip.flashSizeAddress & ~3
  const size = await s.tryRead(word >>> 0, 4)
  if (Buffer.isBuffer(size)) out.flashSizeRegister = size.readUInt16LE(chip.flashSizeAddress - word)
  return out
}

/** The register's size when it is one the family can have (1 KiB up to the family's largest part), else undefined. */
function plausibleFlashKiB(chip: Stm32Chip, register: number | undefined): number | undefined {
  return register !== undefined && register > 0 && register * 1024 <= chip.flashSize ? register : undefined
}

function identityOf(chip: Stm32Chip, pid: number, s: Stm32Session, sig: Signature, flashSizeKiB: number | undefined): DeviceIdentity {
  const details: Record<string, unknown> = { pid: `0x${pid.toString(16).padStart(3, '0')}` }
  if (flashSizeKiB !== undefined) details['flashSizeKiB'] = flashSizeKiB
  details['bootloader'] = `${s.bootloaderVersion >> 4}.${s.bootloaderVersion & 0xf}`
  details['commands'] = s.commands
  if (sig.uidNote) details['uid'] = sig.uidNote
  return { protocol: 'stm32', chip: chip.name, ...(sig.uid ? { id: sig.uid } : {}), details }
}

/** A failure after identification still names the unit: the identity rides along in the error's details. */
function withIdentity(e: unknown, identity: DeviceIdentity): unknown {
  if (!(e instanceof FlashlineError) || e.details?.['identity']) return e
  return new FlashlineError(e.kind, e.code, e.message, { ...e.details, identity })
}

/**
 * Tells which STM32 answers, without erasing or writing anything: sync (0x7F), Get Version, Get,
 * Get ID, then the unique device ID and flash size register through Read Memory (AN3155). The
 * entry sequence runs first and the exit sequence last, after a failure too, so that a board wired
 * to DTR/RTS goes back to its application.
 */
export async function identifyStm32(transport: Transport, options: { entry?: string; signal?: AbortSignal } = {}): Promise<DeviceIdentity> {
  const s = new Stm32Session(transport, options.signal)
  const sequence = options.entry ? parseSignalSequence(options.entry) : null
  if (sequence) await runSignalSequence(transport, sequence.entry)
  try {
    try {
      await s.sync()
    } catch (e) {
      if (e instanceof FlashlineError && e.code === 'stm32-no-sync') throw new FlashlineError('device', 'no-answer', e.message)
      throw e
    }
    const pid = await s.readIds()
    const chip = chipByPid(pid)
    if (!chip) {
      // It answered: say so, even though the part (and so where its unique ID lies) is unknown to us.
      const details = { pid: `0x${pid.toString(16).padStart(3, '0')}`, bootloader: `${s.bootloaderVersion >> 4}.${s.bootloaderVersion & 0xf}`, commands: s.commands, uid: 'unknown: Flashline does not know this product id' }
      return { protocol: 'stm32', chip: `unknown STM32 (PID ${details.pid})`, details }
    }
    const sig = await readSignature(s, chip)
    const identity = identityOf(chip, pid, s, sig, plausibleFlashKiB(chip, sig.flashSizeRegister))
    if (sig.readProtected) identity.details!['readProtected'] = true
    return identity
  } finally {
    if (sequence) await runSignalSequence(transport, sequence.exit).catch(() => undefined)
  }
}

export async function flashStm32(transport: Transport, image: FlashImage, options: Stm32Options & FlashOptions = {}): Promise<FlashResult> {
  const s = new Stm32Session(transport, options.signal)
  const progress = options.onProgress
  const log = options.log ?? (() => undefined)
  const sequence = options.entry ? parseSignalSequence(options.entry) : null
  progress?.({ stage: 'connect', done: 0, total: image.size })
  if (sequence) await runSignalSequence(transport, sequence.entry)
  await s.sync()
  const { chip, pid } = await s.identify()
  // The unit's identity first, before anything is erased, so that a later failure still names it.
  let sig = await readSignature(s, chip)
  let flashKiB = plausibleFlashKiB(chip, sig.flashSizeRegister)
  let identity = identityOf(chip, pid, s, sig, flashKiB)
  const logSignature = (): void => {
    const uid = sig.uid ? `unique ID ${sig.uid}` : `unique ID ${sig.uidNote}`
    log(`${chip.name} (PID ${String(identity.details!['pid'])}), bootloader ${String(identity.details!['bootloader'])}, ${uid}${flashKiB !== undefined ? `, ${flashKiB} KiB flash` : ''}`)
    if (sig.readProtected) log(`the unique device ID and flash size cannot be read: the bootloader refused Read Memory (read-out protection is on)`)
    if (sig.flashSizeRegister !== undefined && flashKiB === undefined) {
      log(`the flash size register (${hex(chip.flashSizeAddress)}) reads ${hex(sig.flashSizeRegister)}, not a size ${chip.name} can have; using the family's largest, ${chip.flashSize / 1024} KiB`)
    }
  }
  logSignature()
  try {
    return await flashIdentified()
  } catch (e) {
    throw withIdentity(e, identity)
  }

  async function flashIdentified(): Promise<FlashResult> {
    if (options.verify === 'crc' && !s.commands.includes(0xa1)) {
      throw new FlashlineError('device', 'stm32-unsupported', `this bootloader (${String(identity.details!['bootloader'])}) does not offer Get Checksum (0xA1), which \`verify\` crc needs; use \`verify\` readback or auto; nothing was erased`)
    }
    const address = image.address ?? chip.flashStart
    const offset = address - chip.flashStart
    const fits = (erased: boolean): Stm32Chip => {
      const part = flashKiB !== undefined ? { ...chip, flashSize: flashKiB * 1024 } : chip
      if (offset < 0 || offset + image.size > part.flashSize) {
        const source = flashKiB !== undefined ? 'from its flash size register' : "the family's largest part"
        throw new FlashlineError(
          'device',
          'image-too-large',
          `the image (${image.size} bytes at ${hex(address)}) does not fit the flash of ${chip.name} (${part.flashSize / 1024} KiB at ${hex(chip.flashStart)}, ${source}); ${erased ? 'read-out unprotect had already erased the chip, nothing was written' : 'nothing was erased'}`
        )
      }
      return part
    }
    let part = fits(false)
    if (address % 4) throw new FlashlineError('usage', 'bad-address', `STM32 flash writes need a 4-byte aligned address, got ${hex(address)}`)
    const file = await readFile(image.path)
    if (file.length !== image.size) throw new FlashlineError('device', 'file-changed', `${image.path} is ${file.length} bytes, expected ${image.size}; was it changed during the flash?`)
    // Pad to whole words with 0xFF (erased flash), as the bootloader writes words.
    const padded = Buffer.alloc(Math.ceil(file.length / 4) * 4, 0xff)
    file.copy(padded)

    if (options.unprotect) {
      // Read-out protection first: while it is on, the bootloader refuses Write Unprotect.
      log('WARNING: removing read-out protection (Readout Unprotect 0x92) erases the whole flash')
      await s.protection(0x92, 'Readout Unprotect')
      if (s.commands.includes(0x73)) {
        log('removing write protection (Write Unprotect 0x73)')
        await s.protection(0x73, 'Write Unprotect')
      }
      if (sig.readProtected) {
        // Now readable: the record gets the unit's identity and the part its real size.
        sig = await readSignature(s, chip)
        flashKiB = plausibleFlashKiB(chip, sig.flashSizeRegister)
        identity = identityOf(chip, pid, s, sig, flashKiB)
        logSignature()
        part = fits(true)
      }
    }
    progress?.({ stage: 'erase', done: 0, total: padded.length })
    try {
      await s.erase(part, options.massErase ? 'mass' : pagesCovering(part, offset, padded.length))
    } catch (e) {
      if (e instanceof FlashlineError && e.code === 'stm32-nack' && !options.unprotect) {
        throw new FlashlineError(
          'device',
          'stm32-protected',
          `the STM32 bootloader refused to erase: the chip is read-out or write protected. Flash again with \`unprotect\` (this mass-erases the chip, including any data or calibration kept in flash)`
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
        if (got !== want) throw new FlashlineError('device', 'verify-failed', `flash CRC ${hex(got)} does not match the image (${hex(want)}): the write did not take`)
      } else {
        for (let done = 0; done < padded.length; ) {
          const n = Math.min(BLOCK, padded.length - done)
          const back = await s.read(address + done, n)
          if (!back.equals(padded.subarray(done, done + n))) {
            const i = [...back].findIndex((b, k) => b !== padded[done + k])
            throw new FlashlineError('device', 'verify-failed', `read-back differs at ${hex(address + done + i)}: wrote ${hex(padded[done + i]!)}, read ${hex(back[i]!)}`)
          }
          done += n
          progress?.({ stage: 'verify', done, total: padded.length })
        }
      }
      verified = 'device'
    }
    if (options.protect) {
      log('enabling read-out protection (Readout Protect 0x82): the flash can no longer be read or verified over the bootloader; removing it erases the chip')
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
}
