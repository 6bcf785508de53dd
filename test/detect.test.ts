/**
 * "Which bootloader and chip answer on this port?" without writing anything: each protocol against its
 * simulator over a real socat pty (ESP's reset into and out of the ROM loader on the in-process link,
 * since a pty has no modem lines), lrzsz `rb` as a real YMODEM receiver, through Bench.detect and the
 * real CLI (`flashline detect --json`).
 */
import { spawn } from 'node:child_process'
import { readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Bench, useSimulators, type DetectedDevice } from '../main/engine'
import { PROTOCOLS } from '../main/engine/protocols'
import { EspDevice } from '../main/engine/sim/esp-device'
import { makeFirmwareImage } from '../main/engine/sim/firmware-image'
import { McubootDevice, type McubootDeviceOptions } from '../main/engine/sim/mcuboot-device'
import { memoryBoard, registerSimBoard } from '../main/engine/sim/sim-ports'
import { Stm32Device, type Stm32DeviceOptions, type Stm32Personality } from '../main/engine/sim/stm32-device'
import { YmodemDevice, type YmodemPersonality } from '../main/engine/sim/ymodem-device'
import { memoryPair } from '../main/engine/transport/memory'
import { SerialTransport } from '../main/engine/transport/serial'
import type { Transport } from '../main/engine/transport/transport'
import { IMAGE_B, HASH_B } from './fixtures/imgtool-images'
import { runCli, type CliRun } from './harness/cli'
import { ndjsonReader } from './harness/ndjson'
import { ptyPair, type PtyPair } from './harness/pty'
import { tempDir } from './harness/tmp'

const work = tempDir()
let bench: Bench

beforeAll(() => {
  useSimulators()
  bench = new Bench({ dataDir: join(work.dir, 'bench') })
})
afterAll(async () => {
  await bench.close()
  work.cleanup()
})

type Event = Record<string, unknown> & { type: string }

/** The --json events of a finished run, read line by line. */
function events(r: CliRun): Event[] {
  const all: Event[] = []
  ndjsonReader((e) => all.push(e))(r.stdout)
  return all
}

/** Everything the device side reads and writes, so a test can say exactly which bytes reached the device. */
function tap(t: Transport): { transport: Transport; received: () => Buffer; sent: () => Buffer } {
  const received: Buffer[] = []
  const sent: Buffer[] = []
  const transport = new Proxy(t, {
    get(target, prop) {
      const v = Reflect.get(target, prop, target) as unknown
      if (typeof v !== 'function') return v
      if (prop === 'read' || prop === 'readSome' || prop === 'readUntil') {
        return async (...args: unknown[]) => {
          const b = (await (v as (...a: unknown[]) => Promise<Buffer>).apply(target, args)) as Buffer
          received.push(Buffer.from(b))
          return b
        }
      }
      if (prop === 'discardInput') return () => ((b: Buffer) => (received.push(Buffer.from(b)), b))(target.discardInput())
      if (prop === 'write') return (data: Uint8Array) => (sent.push(Buffer.from(data)), target.write(data))
      return (v as (...a: unknown[]) => unknown).bind(target)
    }
  })
  return { transport, received: () => Buffer.concat(received), sent: () => Buffer.concat(sent) }
}

/** A simulator on the device end of a pty pair; the host end (`pair.a`) is left for Flashline to open. */
async function ptyDevice<D extends { attach(t: Transport): Promise<void> }>(device: D): Promise<{ device: D; port: string; received: () => Buffer; sent: () => Buffer; close(): Promise<void> }> {
  const pair: PtyPair = await ptyPair()
  const port = await SerialTransport.open({ path: pair.b, baudRate: 115200 })
  const t = tap(port)
  const served = device.attach(t.transport)
  return { device, port: pair.a, received: t.received, sent: t.sent, close: async () => (await port.close(), await served, await pair.close()) }
}

/** Polls `cond` until it holds, failing after `ms`. */
async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${ms} ms`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

function firmware(name: string, version: string, size: number): string {
  const file = join(work.dir, name)
  writeFileSync(file, makeFirmwareImage({ version, size, seed: size }))
  return file
}

/** Unit IDs as the 12 bytes lie in memory from the UID address (RM0008 §30.2, RM0090 §39.1), read as 24 hex digits in address order. */
const UIDS: Record<Stm32Personality, string> = { f1: '0673ff485550755187102237', 'f1-crc': '0673ff485550755187102238', f4: '1f0028000447333437353931' }

/**
 * AN3155 command codes that read only: Get 0x00, Get Version 0x01, Get ID 0x02, Read Memory 0x11.
 * The simulator logs each accepted command as "cmd <hex>".
 */
const STM32_READ_ONLY = ['cmd 0', 'cmd 1', 'cmd 2', 'cmd 11']

describe('detect STM32 (AN3155) over a pty', () => {
  function stm32(personality: Stm32Personality, options: Stm32DeviceOptions = {}) {
    const device = new Stm32Device(personality, { uid: Buffer.from(UIDS[personality], 'hex'), ...options })
    const erased: unknown[] = []
    device.on('erased', (p) => erased.push(p))
    return { device, erased, flash: Buffer.from(device.flash) }
  }

  it('Bench.detect: an F1 names its part, unique ID and flash size; only Get Version, Get, Get ID and two reads reached it', async () => {
    const s = stm32('f1', { flashSizeKiB: 64 })
    const b = await ptyDevice(s.device)
    try {
      const found = await bench.detect({ port: b.port, protocol: 'stm32', parity: 'none' })
      expect(found).toEqual({
        protocol: 'stm32',
        chip: 'STM32F10xxx medium-density',
        chipId: UIDS.f1,
        details: { pid: '0x410', flashSizeKiB: 64, bootloader: '2.2', commands: [0x00, 0x01, 0x02, 0x11, 0x21, 0x31, 0x43, 0x63, 0x73, 0x82, 0x92] }
      })
      // sync, then Get Version, Get, Get ID, Read Memory of the unique ID and of the flash size word
      expect(s.device.log).toEqual(['cmd 1', 'cmd 0', 'cmd 2', 'cmd 11', 'cmd 11'])
      expect(s.erased).toEqual([])
      expect(s.device.flash.equals(s.flash)).toBe(true)
    } finally {
      await b.close()
    }
  })

  it('flashline detect --json: an F4 over the real CLI', async () => {
    const s = stm32('f4')
    const b = await ptyDevice(s.device)
    try {
      const r = await runCli(['detect', '--port', b.port, '--protocol', 'stm32', '--parity', 'none', '--json', '--data-dir', join(work.dir, 'cli')])
      expect(r.code, r.stderr).toBe(0)
      const detected = events(r).filter((e) => e.type === 'detected')
      expect(detected).toHaveLength(1)
      expect(detected[0]).toMatchObject({ port: b.port, protocol: 'stm32', chip: 'STM32F40xxx/41xxx', chipId: UIDS.f4, details: { pid: '0x413', flashSizeKiB: 1024, bootloader: '3.1' } })
      expect(s.device.log.every((l) => STM32_READ_ONLY.includes(l))).toBe(true)
      expect(s.erased).toEqual([])
      expect(s.device.flash.equals(s.flash)).toBe(true)
    } finally {
      await b.close()
    }
  })

  it('a read-protected part still names itself; its unique ID is unreadable and says why (no unit id)', async () => {
    const s = stm32('f1', { readProtected: true })
    const b = await ptyDevice(s.device)
    try {
      const found = await bench.detect({ port: b.port, protocol: 'stm32', parity: 'none' })
      expect(found).toMatchObject({ protocol: 'stm32', chip: 'STM32F10xxx medium-density', details: { pid: '0x410', readProtected: true, uid: 'unreadable: read-out protection' } })
      expect(found.chipId).toBeUndefined()
      expect(s.device.log.filter((l) => l.startsWith('cmd')).every((l) => STM32_READ_ONLY.includes(l))).toBe(true)
      expect(s.device.readProtected).toBe(true)
    } finally {
      await b.close()
    }
  })

  it('a part whose product id Flashline does not know is named by its PID; nothing but the Get commands is sent', async () => {
    const [host, dev] = memoryPair()
    // AN3155 answers written out (ACK 0x79): Get Version → ACK, version 3.1, two option bytes, ACK;
    // Get → ACK, N = 3 (bytes that follow − 1), version, commands 00 01 02, ACK; Get ID → ACK, N = 1, PID 0x04FF, ACK.
    const answers: Record<number, number[]> = { 0x01: [0x79, 0x31, 0x00, 0x00, 0x79], 0x00: [0x79, 0x03, 0x31, 0x00, 0x01, 0x02, 0x79], 0x02: [0x79, 0x01, 0x04, 0xff, 0x79] }
    const received: number[] = []
    const served = (async () => {
      received.push(...(await dev.read(1, 5000)))
      await dev.write(Uint8Array.of(0x79))
      for (let i = 0; i < 3; i++) {
        const command = await dev.read(2, 5000)
        received.push(...command)
        await dev.write(Uint8Array.from(answers[command[0]!]!))
      }
      await expect(dev.read(1, 300)).rejects.toMatchObject({ code: 'timeout' })
    })()
    try {
      const found = await PROTOCOLS.stm32.detect(host, {}, {})
      expect(found).toEqual({ protocol: 'stm32', chip: 'unknown STM32 (PID 0x4ff)', details: { pid: '0x4ff', bootloader: '3.1', commands: [0x00, 0x01, 0x02], uid: 'unknown: Flashline does not know this product id' } })
      await served
      expect(Buffer.from(received).toString('hex')).toBe('7f01fe00ff02fd')
    } finally {
      await host.close()
      await dev.close()
    }
  })

  it('runs the entry sequence before and its exit part after (DTR/RTS, stm32flash -i syntax)', async () => {
    const [host, dev] = memoryPair()
    const device = new Stm32Device('f1', { uid: Buffer.from(UIDS.f1, 'hex') })
    const served = device.attach(dev)
    try {
      const found = await PROTOCOLS.stm32.detect(host, { entry: 'dtr&rts,-rts:-dtr&rts,-rts' }, {})
      expect(found.chipId).toBe(UIDS.f1)
      // entry: BOOT0 (DTR) high with reset (RTS) asserted, then reset released; exit: BOOT0 low, reset pulse
      expect(host.signalLog).toEqual([
        { dtr: true, rts: false },
        { dtr: true, rts: true },
        { dtr: true, rts: false },
        { dtr: false, rts: false },
        { dtr: false, rts: true },
        { dtr: false, rts: false }
      ])
    } finally {
      await host.close()
      await dev.close()
      await served
    }
  })
})

/**
 * Espressif serial protocol commands (esptool docs/en/advanced-topics/serial-protocol.rst): the ones that
 * only read are SYNC 0x08, READ_REG 0x0A and GET_SECURITY_INFO 0x14. Anything else (FLASH_*, MEM_* for a
 * stub upload, WRITE_REG, SPI_*, FLASH_DEFL_*, ERASE_*) would change the chip's state.
 */
const ESP_READ_ONLY = new Set([0x08, 0x0a, 0x14])

describe('detect ESP (ROM loader)', () => {
  it('Bench.detect on a board wired to DTR/RTS: resets it into the ROM, names chip and MAC, reads only, then boots it back into its application', async () => {
    const device = new EspDevice({ mac: '34:85:18:12:34:56' })
    makeFirmwareImage({ version: '7.1.0', size: 4096, seed: 5 }).copy(device.flash, 0x10000) // the application partition
    const before = Buffer.from(device.flash)
    const booted: unknown[] = []
    device.on('booted', (v) => booted.push(v))
    let sent = (): Buffer => Buffer.alloc(0)
    const wired = { attach: (t: Transport) => ((x) => ((sent = x.sent), device.attach(x.transport)))(tap(t)) }
    registerSimBoard('detect-esp', async () => memoryBoard('detect-esp', wired))
    const found = await bench.detect({ port: 'sim:detect-esp', protocol: 'esp' })
    expect(found).toMatchObject({ protocol: 'esp', chip: expect.stringMatching(/^ESP32-C3/), chipId: '34:85:18:12:34:56', details: { family: 'ESP32-C3' } })
    expect(device.commands.length).toBeGreaterThan(0)
    expect(device.commands.filter((op) => !ESP_READ_ONLY.has(op))).toEqual([])
    expect(device.flash.equals(before)).toBe(true)
    // the ROM's banner once on power-up and again after the reset into download mode (IO0 low on DTR, EN on RTS) …
    const printed = sent().toString('latin1')
    expect(printed.match(/boot:0x8 \(DOWNLOAD\(USB\/UART0\/1\)\)\r\nwaiting for download/g)?.length).toBeGreaterThanOrEqual(2)
    // … and the hard reset at the end left the ROM loader: the application started
    expect(booted).toEqual(['7.1.0'])
    expect(printed).toMatch(/SPI_FAST_FLASH_BOOT[\s\S]*version: 7\.1\.0\r\n$/)
    expect(device.mode).toBe('rom')
  })

  it('flashline detect --json over a pty (the simulator waits in its loader there: a pty has no modem lines)', async () => {
    const b = await ptyDevice(new EspDevice({ mac: '34:85:18:aa:bb:cc' }))
    const before = Buffer.from(b.device.flash)
    try {
      const r = await runCli(['detect', '--port', b.port, '--protocol', 'esp', '--json', '--data-dir', join(work.dir, 'cli')])
      expect(r.code, r.stderr).toBe(0)
      const detected = events(r).filter((e) => e.type === 'detected')
      expect(detected).toEqual([expect.objectContaining({ protocol: 'esp', chip: expect.stringMatching(/^ESP32-C3/), chipId: '34:85:18:aa:bb:cc' })])
      expect(b.device.commands.filter((op) => !ESP_READ_ONLY.has(op))).toEqual([])
      expect(b.device.flash.equals(before)).toBe(true)
    } finally {
      await b.close()
    }
  })
})

describe('detect MCUboot serial recovery (SMP) over a pty', () => {
  /** Slot 0 holds image B of the imgtool fixtures (version 1.2.3+4). */
  function mcuboot(options: McubootDeviceOptions) {
    const device = new McubootDevice(options)
    device.slot.fill(0xff)
    IMAGE_B.copy(device.slot)
    return { device, slot: Buffer.from(device.slot) }
  }

  it('Bench.detect against MCUboot: the image list with version and hash, no upload, no erase, no reset', async () => {
    const m = mcuboot({ personality: 'mcuboot' })
    const b = await ptyDevice(m.device)
    try {
      const found = await bench.detect({ port: b.port, protocol: 'mcuboot' })
      // boot_serial.c bs_list / bs_list_img_ver: "major.minor.revision.build" when build ≠ 0, the image's
      // SHA-256 TLV as "hash" (BOOT_SERIAL_IMG_GRP_HASH); no flags. MCUboot answers "mcumgr params" with rc 8: no params.
      expect(found).toMatchObject({ protocol: 'mcuboot', chip: 'MCUboot image 0', details: { image: 0, slots: [{ slot: 0, version: '1.2.3.4', hash: HASH_B.toString('hex') }] } })
      expect(found.chipId).toBeUndefined()
      expect(found.details?.['params']).toBeUndefined()
      expect([m.device.uploads, m.device.erases, m.device.resets]).toEqual([0, 0, 0])
      expect(m.device.slot.equals(m.slot)).toBe(true)
    } finally {
      await b.close()
    }
  })

  it('flashline detect --json against a Zephyr SMP server: slot flags and mcumgr params', async () => {
    const m = mcuboot({ personality: 'zephyr', receiveBuffer: 1024 })
    const b = await ptyDevice(m.device)
    try {
      const r = await runCli(['detect', '--port', b.port, '--protocol', 'mcuboot', '--json', '--data-dir', join(work.dir, 'cli')])
      expect(r.code, r.stderr).toBe(0)
      const detected = events(r).filter((e) => e.type === 'detected')
      expect(detected).toHaveLength(1)
      // img_mgmt_state_encode_slot: version (img_mgmt_ver_str), hash, bootable, pending, confirmed, active, permanent
      expect(detected[0]).toMatchObject({
        chip: 'MCUboot image 0',
        details: { slots: [{ slot: 0, version: '1.2.3.4', hash: HASH_B.toString('hex'), bootable: true, confirmed: true, active: true, pending: false }], params: { bufSize: 1024, bufCount: 1 } }
      })
      expect([m.device.uploads, m.device.erases, m.device.resets]).toEqual([0, 0, 0])
      expect(m.device.slot.equals(m.slot)).toBe(true)
    } finally {
      await b.close()
    }
  })
})

/** CAN, Forsberg's ymodem.txt: two in a row abort the transfer. */
const CAN_CAN = Buffer.of(0x18, 0x18)

describe('detect a YMODEM receiver', () => {
  for (const personality of ['lrz', 'st-iap'] as YmodemPersonality[]) {
    it(`Bench.detect against the ${personality} bootloader on a pty: its 'C', then CAN CAN and nothing else; it is left waiting`, async () => {
      const b = await ptyDevice(new YmodemDevice({ personality, requestIntervalMs: 300 }))
      try {
        const found = await bench.detect({ port: b.port, protocol: 'ymodem' })
        expect(found).toMatchObject({ protocol: 'ymodem', chip: 'YMODEM receiver', details: { request: 'C', mode: 'CRC-16' } })
        await until(() => b.received().length >= 2, 3000, 'the CANs reaching the device')
        expect(b.received().toString('hex')).toBe(CAN_CAN.toString('hex'))
        // still (or again) asking for a file: a 'C' after our cancel
        const sentSoFar = b.sent().length
        await until(() => b.sent().subarray(sentSoFar).includes(0x43), 3000, "a 'C' after the cancel")
        expect(b.received().toString('hex')).toBe(CAN_CAN.toString('hex'))
        expect(b.device.received).toEqual([])
      } finally {
        await b.close()
      }
    })
  }

  it('flashline detect --menu-command against the MiCO menu: the banner seen before the \'C\', and the device back at its menu afterwards', async () => {
    const b = await ptyDevice(new YmodemDevice({ personality: 'mico' }))
    const original = Buffer.from(b.device.image)
    try {
      const r = await runCli(['detect', '--port', b.port, '--protocol', 'ymodem', '--menu-command', '1\\r', '--json', '--data-dir', join(work.dir, 'cli')])
      expect(r.code, r.stderr).toBe(0)
      const detected = events(r).filter((e) => e.type === 'detected')
      expect(detected).toEqual([expect.objectContaining({ chip: 'YMODEM receiver', details: expect.objectContaining({ request: 'C', banner: expect.stringContaining('Waiting for the file to be sent') }) })])
      // the device read the menu command and the two CANs, no block
      await until(() => b.received().length >= 4, 3000, 'the CANs reaching the device')
      expect(b.received().toString('latin1')).toBe('1\r' + CAN_CAN.toString('latin1'))
      // ST IAP answers the sender's abort with ACK (ymodem.c Ymodem_Receive); MiCO then shows its menu again
      await until(() => /\x06[\s\S]*mico> $/.test(b.sent().toString('latin1')), 3000, 'the menu after the cancel')
      expect(b.device.received).toEqual([])
      expect(b.device.image.equals(original)).toBe(true)
    } finally {
      await b.close()
    }
  })

  it('lrzsz rb as the receiver: the CLI names it, rb reports the sender cancelled and writes no file', async () => {
    const pair = await ptyPair()
    const dir = tempDir()
    try {
      const rb = new Promise<{ code: number | null; stderr: string }>((resolve, reject) => {
        const p = spawn('sh', ['-c', `timeout 30 rb < ${pair.b} > ${pair.b}`], { cwd: dir.dir, stdio: ['ignore', 'ignore', 'pipe'] })
        let stderr = ''
        p.stderr.on('data', (d) => (stderr += d))
        p.on('error', reject)
        p.on('close', (code) => resolve({ code, stderr }))
      })
      const r = await runCli(['detect', '--port', pair.a, '--protocol', 'ymodem', '--json', '--data-dir', join(work.dir, 'cli')])
      expect(r.code, r.stderr).toBe(0)
      expect(events(r).filter((e) => e.type === 'detected')).toEqual([expect.objectContaining({ protocol: 'ymodem', chip: 'YMODEM receiver', details: expect.objectContaining({ request: 'C' }) })])
      const done = await rb
      expect(done.code).not.toBe(0)
      expect(done.code).not.toBe(124) // not killed by the timeout: rb itself gave up on the cancel
      expect(done.stderr).toMatch(/Sender Cancell?ed/i)
      expect(readdirSync(dir.dir)).toEqual([])
    } finally {
      await pair.close()
      dir.cleanup()
    }
  })
})

/** How each protocol tells a technician to enter the bootloader when nothing answers. */
const HINTS: Array<[string, RegExp]> = [
  ['stm32', /hold BOOT0 high and reset the board/],
  ['esp', /hold BOOT \(IO0\) low while resetting the board/],
  ['mcuboot', /MCUboot serial recovery \(hold its recovery button or pin while resetting/],
  ['ymodem', /reset the board into its bootloader/]
]

describe('a silent port', () => {
  it('Bench.detect: every protocol gives up with a device error "no-answer" and the way into its bootloader, within 6 s', async () => {
    const pairs = await Promise.all(HINTS.map(() => ptyPair()))
    try {
      const outcomes = await Promise.all(
        HINTS.map(async ([protocol], i) => {
          const started = Date.now()
          const error = await bench.detect({ port: pairs[i]!.a, protocol, parity: 'none' }).then(
            () => null,
            (e: unknown) => e
          )
          return { error, ms: Date.now() - started }
        })
      )
      HINTS.forEach(([protocol, hint], i) => {
        expect(outcomes[i]!.error, protocol).toMatchObject({ kind: 'device', code: 'no-answer', message: expect.stringMatching(hint) })
        expect(outcomes[i]!.ms, protocol).toBeLessThan(6000)
      })
    } finally {
      await Promise.all(pairs.map((p) => p.close()))
    }
  })

  it('flashline detect exits 5 with the hint, as an error event with --json', async () => {
    const pairs = await Promise.all(HINTS.map(() => ptyPair()))
    try {
      const runs = await Promise.all(HINTS.map(([protocol], i) => runCli(['detect', '--port', pairs[i]!.a, '--protocol', protocol, '--parity', 'none', '--json', '--data-dir', join(work.dir, 'cli')], { timeoutMs: 20_000 })))
      HINTS.forEach(([protocol, hint], i) => {
        const r = runs[i]!
        expect(r.code, `${protocol}: ${r.stderr}`).toBe(5)
        expect(events(r).filter((e) => e.type === 'error')).toEqual([expect.objectContaining({ kind: 'device', code: 'no-answer', exitCode: 5, message: expect.stringMatching(hint) })])
        expect(events(r).filter((e) => e.type === 'detected')).toEqual([])
        expect(r.stderr).toMatch(hint)
      })
    } finally {
      await Promise.all(pairs.map((p) => p.close()))
    }
  })
})

describe('a port that is being detected', () => {
  it('takes no job until the detect has let go of it', async () => {
    const device = new YmodemDevice({ personality: 'lrz', version: '1.0.0', requestIntervalMs: 3000 })
    registerSimBoard('detect-hold', async () => memoryBoard('detect-hold', device))
    const slot = { port: 'sim:detect-hold', protocol: 'ymodem' }
    const detecting = bench.detect(slot)
    // the detect holds the port from the moment it is asked for
    expect(() => bench.flash({ slot, file: firmware('hold.bin', '1.0.1', 2048) })).toThrow(/a detect is talking to it/)
    await detecting
    const job = await bench.flash({ slot, file: firmware('hold.bin', '1.0.1', 2048) }).done
    expect(job.result).toBe('succeeded')
  })
})

describe('a port that is flashing', () => {
  it('Bench.detect refuses a port with a job on it (slot-busy) and answers once the job is done', async () => {
    const device = new Stm32Device('f1', { uid: Buffer.from(UIDS.f1, 'hex') })
    // every open of the simulated board is a reset into its bootloader; the simulator serves one link at a
    // time, so the next open waits until it has let go of the last one (after Go it still prints its banner)
    let served: Promise<void> = Promise.resolve()
    registerSimBoard('detect-busy', async () => memoryBoard('detect-busy', { attach: (t: Transport) => (served = device.attach(t)) }))
    const slot = { port: 'sim:detect-busy', protocol: 'stm32' }
    const handle = bench.flash({ slot, file: firmware('busy.bin', '2.0.0', 8 * 1024) })
    await expect(bench.detect(slot)).rejects.toMatchObject({ kind: 'usage', code: 'slot-busy', message: expect.stringContaining(handle.id) })
    const job = await handle.done
    expect(job.result, job.message).toBe('succeeded')
    await served
    const found: DetectedDevice = await bench.detect(slot)
    expect(found).toMatchObject({ chip: job.identity?.chip, chipId: job.identity?.id })
    expect(found.chipId).toBe(UIDS.f1)
  })

  it('flashline detect refuses a port that another flashline process is flashing (exit 2), which then finishes', async () => {
    // an F4 and 256 KiB: the flash takes seconds, the refusal a fraction of one
    const s = new Stm32Device('f4', { uid: Buffer.from(UIDS.f4, 'hex') })
    const b = await ptyDevice(s)
    const dataDir = join(work.dir, 'shared')
    try {
      let detect: Promise<CliRun> | undefined
      const flash = runCli(['flash', '--port', b.port, '--protocol', 'stm32', '--parity', 'none', '--file', firmware('busy-cli.bin', '3.0.0', 256 * 1024), '--json', '--data-dir', dataDir], {
        onStdout: ndjsonReader((e) => {
          if (e.type === 'flash-start' && !detect) detect = runCli(['detect', '--port', b.port, '--protocol', 'stm32', '--parity', 'none', '--data-dir', dataDir])
        })
      })
      const flashed = await flash
      expect(flashed.code, flashed.stderr).toBe(0)
      expect(detect).toBeDefined()
      const refused = await detect!
      expect(refused.code, refused.stderr).toBe(2)
      expect(refused.stderr).toMatch(new RegExp(`${b.port.replace(/[/.]/g, '\\$&')} is busy with job \\S+ \\((received|checking|verified|flashing)\\)`))
    } finally {
      await b.close()
    }
  })
})

describe('flashline detect usage', () => {
  it('refuses flags that belong to flashing (exit 2) and needs --port and --protocol', async () => {
    const probe = await runCli(['detect', '--port', 'sim:stm32', '--protocol', 'stm32', '--probe', 'version: (\\S+)'])
    expect(probe.code).toBe(2)
    expect(probe.stderr).toMatch(/unknown flag --probe for "flashline detect"/)
    const noPort = await runCli(['detect', '--protocol', 'stm32'])
    expect(noPort.code).toBe(2)
    expect(noPort.stderr).toMatch(/--port is required/)
    const badProtocol = await runCli(['detect', '--port', 'sim:stm32', '--protocol', 'xmodem'])
    expect(badProtocol.code).toBe(2)
    expect(badProtocol.stderr).toMatch(/--protocol/)
  })

  it('prints what answered for a person: part, unit id, details', async () => {
    const r = await runCli(['detect', '--port', 'sim:stm32:f4:detect-human', '--protocol', 'stm32', '--data-dir', join(work.dir, 'cli')])
    expect(r.code, r.stderr).toBe(0)
    const lines = r.stdout.trimEnd().split('\n')
    expect(lines[0]).toBe('sim:stm32:f4:detect-human: STM32F40xxx/41xxx (stm32)')
    expect(lines[1]).toMatch(/^ {2}chip id +[0-9a-f]{24}$/)
    expect(lines).toContain('  pid           0x413')
  })
})
