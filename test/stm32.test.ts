/** STM32 system bootloader: our simulator against real stm32flash, our flasher against the simulator, over ptys. */
import { spawn } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { FlashlineError } from '../main/engine/errors'
import type { FlashResult } from '../main/engine/model'
import { flashStm32, type Stm32Options } from '../main/engine/flash/stm32'
import { pagesCovering, chipByPid, stm32Crc } from '../main/engine/flash/stm32-chips'
import { makeFirmwareImage } from '../main/engine/sim/firmware-image'
import { crcUnit, Stm32Device, type Stm32DeviceOptions, type Stm32Personality } from '../main/engine/sim/stm32-device'
import { memoryPair } from '../main/engine/transport/memory'
import { SerialTransport } from '../main/engine/transport/serial'
import { jsonEvents, runCli } from './harness/cli'
import { ptyPair } from './harness/pty'
import { tempDir } from './harness/tmp'

const work = tempDir()
afterAll(() => work.cleanup())

async function board(personality: Stm32Personality, options: Stm32DeviceOptions = {}) {
  const pair = await ptyPair()
  const port = await SerialTransport.open({ path: pair.b, baudRate: 115200 })
  const device = new Stm32Device(personality, options)
  // a marker far away that a page-wise erase must leave alone
  device.flash.write('KEEP-ME', 100 * 1024, 'latin1')
  const erased: Array<number[] | 'all'> = []
  device.on('erased', (p) => erased.push(p))
  const served = device.attach(port)
  return { pair, device, erased, close: async () => (await port.close(), await served, await pair.close()) }
}

function file(name: string, data: Buffer): string {
  const p = join(work.dir, name)
  writeFileSync(p, data)
  return p
}

/** Our flasher against a simulator over an in-memory link: what it returned or threw, and what it logged. */
async function flashDirect(device: Stm32Device, fw: Buffer, name: string, options: Stm32Options = {}): Promise<{ result?: FlashResult; error?: unknown; logs: string[] }> {
  const [host, dev] = memoryPair()
  const served = device.attach(dev)
  const logs: string[] = []
  try {
    return { result: await flashStm32(host, { path: file(name, fw), size: fw.length, name }, { ...options, log: (m) => logs.push(m) }), logs }
  } catch (error) {
    return { error, logs }
  } finally {
    await host.close()
    await dev.close()
    await served
  }
}

/** Runs a peer program to its end: resolves on 'close', when its output is complete, or kills it at the deadline. */
function run(cmd: string, args: string[], timeoutMs = 45_000): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    p.stdout.on('data', (d) => (out += d))
    p.stderr.on('data', (d) => (out += d))
    const timer = setTimeout(() => {
      p.kill('SIGKILL')
      reject(new Error(`${cmd} ${args.join(' ')} did not finish in ${timeoutMs} ms:\n${out}`))
    }, timeoutMs)
    p.on('error', (e) => (clearTimeout(timer), reject(e)))
    p.on('close', (code) => (clearTimeout(timer), resolve({ code, out })))
  })
}

/** 01 02 03 ... wrapping at 0xFF: no word is its own byte-reversal, so a word byte-order mistake changes the CRC. */
const counting = (n: number): Buffer => Buffer.from(Array.from({ length: n }, (_, i) => (i + 1) & 0xff))

/**
 * STM32 CRC unit values (poly 0x04C11DB7, init 0xFFFFFFFF, 32-bit little-endian words fed MSB
 * first, no reflection or final XOR), computed outside this project with a hand-written bitwise
 * loop in python3 after stm32flash's stm32_sw_crc (stm32.c):
 *   w = b[i] | b[i+1]<<8 | b[i+2]<<16 | b[i+3]<<24; c ^= w; 32 × (c<<1 ^ 0x04C11DB7 if c&1<<31 else c<<1)
 * 0x12345678 → 0xDF8A8A2B is also the value commonly quoted for the STM32 CRC unit.
 */
const CRC_VECTORS: Array<[string, Buffer, number]> = [
  ['00 00 00 00', Buffer.alloc(4), 0xc704dd7b],
  ['78 56 34 12 (the word 0x12345678)', Buffer.from([0x78, 0x56, 0x34, 0x12]), 0xdf8a8a2b],
  ['01 02 03 04', counting(4), 0x1dabe74f],
  ['04 03 02 01', Buffer.from([4, 3, 2, 1]), 0x793737cd],
  ['01 02 .. 08', counting(8), 0xa3141bda]
]
/** 1024 bytes 00 01 .. FF repeated, the flash region read back by stm32flash -C below; same python3 loop. */
const PATTERN_1K = Buffer.from(Array.from({ length: 1024 }, (_, i) => i & 0xff))
const PATTERN_1K_CRC = 0x8ada4578

/**
 * Unique device IDs given to simulated units, as the 12 bytes lie in memory from the UID address
 * (RM0008 §30.2 / RM0090 §39.1: three 32-bit registers from the base address). Flashline reports
 * them as these 24 lowercase hex digits, in address order, which is what `stm32flash -r` reads.
 */
const UNIT_UIDS: Record<Stm32Personality, string> = {
  f1: '0673ff485550755187102237',
  'f1-crc': '0673ff485550755187102238',
  f4: '1f0028000447333437353931'
}
/** Device electronic signature addresses from the reference manuals: RM0008 §30.1.1/§30.2 (F1), RM0090 §39.1/§39.2 (F4). */
const F1_UID = 0x1ffff7e8
const F1_FLASH_SIZE = 0x1ffff7e0
const F4_UID = 0x1fff7a10
const F4_FLASH_SIZE = 0x1fff7a22

describe('STM32 helpers', () => {
  for (const [name, data, want] of CRC_VECTORS) {
    it(`STM32 CRC of ${name} is 0x${want.toString(16)} in the flasher and in the simulator's CRC unit`, () => {
      expect(stm32Crc(data)).toBe(want)
      expect(crcUnit(data)).toBe(want)
    })
  }

  it("the chip table's unique ID and flash size addresses are ST's (CMSIS device headers UID_BASE / FLASHSIZE_BASE)", () => {
    // STMicroelectronics/cmsis_device_f1 stm32f103xb.h, stm32f100xb.h; cmsis_device_f0 stm32f030x8.h;
    // cmsis_device_f4 stm32f407xx.h, stm32f429xx.h, stm32f411xe.h; cmsis_device_l4 stm32l476xx.h; cmsis_device_g0 stm32g071xx.h
    const expected: Array<[number, number, number]> = [
      [0x410, 0x1ffff7e8, 0x1ffff7e0],
      [0x412, 0x1ffff7e8, 0x1ffff7e0],
      [0x414, 0x1ffff7e8, 0x1ffff7e0],
      [0x420, 0x1ffff7e8, 0x1ffff7e0],
      [0x440, 0x1ffff7ac, 0x1ffff7cc],
      [0x413, 0x1fff7a10, 0x1fff7a22],
      [0x419, 0x1fff7a10, 0x1fff7a22],
      [0x431, 0x1fff7a10, 0x1fff7a22],
      [0x415, 0x1fff7590, 0x1fff75e0],
      [0x460, 0x1fff7590, 0x1fff75e0]
    ]
    for (const [pid, uid, size] of expected) expect([pid, chipByPid(pid)?.uidAddress, chipByPid(pid)?.flashSizeAddress]).toEqual([pid, uid, size])
  })

  it('lists exactly the pages an image covers (uniform pages and F4 sectors)', () => {
    expect(pagesCovering(chipByPid(0x410)!, 0, 5000)).toEqual([0, 1, 2, 3, 4])
    expect(pagesCovering(chipByPid(0x410)!, 1024, 1)).toEqual([1])
    expect(pagesCovering(chipByPid(0x413)!, 0, 70 * 1024)).toEqual([0, 1, 2, 3, 4])
    expect(pagesCovering(chipByPid(0x413)!, 0x4000, 100)).toEqual([1])
  })
})

describe('real stm32flash against our STM32 simulator (pty, -m 8n1)', () => {
  for (const personality of ['f1', 'f4'] as Stm32Personality[]) {
    it(`${personality}: -w file -v -g 0x08000000 succeeds and the flash holds the file`, async () => {
      const b = await board(personality)
      try {
        const fw = makeFirmwareImage({ version: `sf-${personality}`, size: 5000, seed: 21 })
        const r = await run('stm32flash', ['-m', '8n1', '-b', '115200', '-w', file(`sf-${personality}.bin`, fw), '-v', '-g', '0x08000000', b.pair.a])
        expect(r.code, r.out).toBe(0)
        expect(r.out).toMatch(/Wrote and verified address 0x08001388 \(100\.00%\) Done/)
        expect(b.device.flash.subarray(0, fw.length).equals(fw)).toBe(true)
        expect(b.device.version).toBe(`sf-${personality}`)
        expect(b.device.flash.toString('latin1', 100 * 1024, 100 * 1024 + 7)).toBe('KEEP-ME')
      } finally {
        await b.close()
      }
    }, 60_000)
  }
})

describe('real stm32flash -C (CRC of the flash) against our simulator', () => {
  // stm32flash's stm32_crc_wrapper asks the bootloader (Get Checksum 0xA1) when Get lists it, and
  // otherwise reads the memory back and computes stm32_sw_crc itself: the two must agree.
  for (const [personality, how] of [
    ['f1', 'Read Memory + stm32flash stm32_sw_crc'],
    ['f1-crc', 'the simulator answering Get Checksum 0xA1']
  ] as const) {
    it(`${personality}: ${how} gives 0x${PATTERN_1K_CRC.toString(16)} for 00 01 .. FF × 4`, async () => {
      const b = await board(personality)
      try {
        PATTERN_1K.copy(b.device.flash, 0)
        const r = await run('stm32flash', ['-m', '8n1', '-b', '115200', '-C', '-S', '0x08000000:1024', b.pair.a])
        expect(r.code, r.out).toBe(0)
        expect(r.out).toContain(`CRC(0x08000000-0x08000400) = 0x${PATTERN_1K_CRC.toString(16).padStart(8, '0')}`)
        expect(b.device.log.includes('cmd a1'), b.device.log.join(',')).toBe(personality === 'f1-crc')
        expect(b.device.log.includes('cmd 11')).toBe(personality === 'f1')
      } finally {
        await b.close()
      }
    }, 60_000)
  }
})

describe('read-out and write protection', () => {
  it('real stm32flash removes (-k) and sets (-j) read-out protection on our simulator', async () => {
    const b = await board('f1', { readProtected: true })
    try {
      const k = await run('stm32flash', ['-m', '8n1', '-b', '115200', '-k', b.pair.a])
      expect(k.code, k.out).toBe(0)
      expect(b.device.readProtected).toBe(false)
      expect(b.device.flash.toString('latin1', 100 * 1024, 100 * 1024 + 7)).not.toBe('KEEP-ME') // unprotect mass-erases
      const j = await run('stm32flash', ['-m', '8n1', '-b', '115200', '-j', b.pair.a])
      expect(j.code, j.out).toBe(0)
      expect(b.device.readProtected).toBe(true)
    } finally {
      await b.close()
    }
  }, 60_000)

  it('a protected chip is refused with a hint to --unprotect (exit 5, nothing written); --unprotect warns, erases, reads the unique ID and flashes', async () => {
    const b = await board('f1', { readProtected: true, writeProtected: true, uid: Buffer.from(UNIT_UIDS.f1, 'hex'), flashSizeKiB: 64 })
    try {
      const fw = makeFirmwareImage({ version: 'after-rdp', size: 3000, seed: 31 })
      const path = file('rdp.bin', fw)
      const refused = await runCli(['flash', '--port', b.pair.a, '--protocol', 'stm32', '--parity', 'none', '--file', path])
      expect(refused.code).toBe(5)
      expect(refused.stderr).toMatch(/read-out or write protected.*--unprotect.*mass-erases/)
      expect(b.device.flash.toString('latin1', 100 * 1024, 100 * 1024 + 7)).toBe('KEEP-ME')
      const r = await runCli(['flash', '--port', b.pair.a, '--protocol', 'stm32', '--parity', 'none', '--file', path, '--unprotect', '--probe', 'version[: ]+(\\S+)', '--json'])
      expect(r.code, r.stderr).toBe(0)
      const events = jsonEvents(r.stdout)
      const logged = events.filter((e) => e.type === 'flash-log').map((e) => String(e['message']))
      expect(logged.some((m) => /WARNING: removing read-out protection .* erases the whole flash/.test(m)), logged.join('\n')).toBe(true)
      expect(logged.some((m) => /unique device ID and flash size cannot be read: .*read-out protection is on/.test(m)), logged.join('\n')).toBe(true)
      // unprotected, the chip is readable again: the unit's own id and size are read before the write
      const done = events.find((e) => e.type === 'flash-done')
      expect(done).toMatchObject({ identity: { id: UNIT_UIDS.f1, details: { pid: '0x410', flashSizeKiB: 64 } } })
      expect((done!['identity'] as { details: Record<string, unknown> }).details['uid']).toBeUndefined()
      expect(b.device.readProtected).toBe(false)
      expect(b.device.writeProtected).toBe(false)
      expect(b.device.flash.subarray(0, fw.length).equals(fw)).toBe(true)
    } finally {
      await b.close()
    }
  }, 60_000)

  it('--protect enables read-out protection after the verified write and does not try Go', async () => {
    const b = await board('f1-crc')
    try {
      const fw = makeFirmwareImage({ version: 'locked', size: 2000, seed: 32 })
      const r = await runCli(['flash', '--port', b.pair.a, '--protocol', 'stm32', '--parity', 'none', '--file', file('lock.bin', fw), '--protect', '--json'])
      expect(r.code, r.stderr).toBe(0)
      expect(b.device.readProtected).toBe(true)
      expect(b.device.flash.subarray(0, fw.length).equals(fw)).toBe(true)
      expect(b.device.log.filter((l) => l.startsWith('cmd'))).toEqual(expect.arrayContaining(['cmd a1', 'cmd 82']))
      expect(b.device.log).not.toContain('cmd 21')
    } finally {
      await b.close()
    }
  }, 60_000)
})

describe('flashline flash --protocol stm32 against the simulator over a pty', () => {
  for (const [personality, how] of [
    ['f1', 'read-back'],
    ['f1-crc', 'Get Checksum 0xA1'],
    ['f4', 'Extended Erase, read-back']
  ] as const) {
    it(`${personality}: identifies the chip, erases only covered pages, writes, verifies (${how}), starts the app`, async () => {
      const b = await board(personality, { uid: Buffer.from(UNIT_UIDS[personality], 'hex') })
      try {
        const fw = makeFirmwareImage({ version: `fl-${personality}`, size: 9_000 + 3, seed: 22 })
        const r = await runCli(['flash', '--port', b.pair.a, '--protocol', 'stm32', '--parity', 'none', '--file', file(`fl-${personality}.bin`, fw), '--probe', 'version[: ]+(\\S+)', '--json'])
        expect(r.code, r.stderr + r.stdout).toBe(0)
        expect(b.device.flash.subarray(0, fw.length).equals(fw)).toBe(true)
        expect(b.device.flash[fw.length]).toBe(0xff) // padded to a word with erased bytes
        expect(b.device.flash.toString('latin1', 100 * 1024, 100 * 1024 + 7)).toBe('KEEP-ME')
        expect(b.erased).toEqual([personality === 'f4' ? [0] : [0, 1, 2, 3, 4, 5, 6, 7, 8]])
        const usedCrc = b.device.log.includes('cmd a1')
        expect(usedCrc).toBe(personality === 'f1-crc')
        const done = jsonEvents(r.stdout).find((e) => e.type === 'flash-done')!
        expect(done).toMatchObject({
          bytes: fw.length,
          verified: 'device',
          version: `fl-${personality}`,
          identity: { protocol: 'stm32', id: UNIT_UIDS[personality], details: { pid: personality === 'f4' ? '0x413' : '0x410', flashSizeKiB: personality === 'f4' ? 1024 : 128 } }
        })
      } finally {
        await b.close()
      }
    }, 60_000)
  }

  it('the default 8E1 line (no --parity) opens a pty, which accepts and drops PARENB, and flashes', async () => {
    const b = await board('f1-crc')
    try {
      const fw = makeFirmwareImage({ version: 'fl-8e1', size: 3000, seed: 24 })
      const r = await runCli(['flash', '--port', b.pair.a, '--protocol', 'stm32', '--file', file('fl-8e1.bin', fw), '--probe', 'version[: ]+(\\S+)', '--json'])
      expect(r.code, r.stderr + r.stdout).toBe(0)
      expect(b.device.flash.subarray(0, fw.length).equals(fw)).toBe(true)
      expect(b.device.log).toContain('cmd a1')
      expect(jsonEvents(r.stdout).find((e) => e.type === 'flash-done')).toMatchObject({ bytes: fw.length, verified: 'device', version: 'fl-8e1' })
    } finally {
      await b.close()
    }
  }, 60_000)

  it('refuses an image larger than the flash before erasing anything (exit 5)', async () => {
    const b = await board('f1')
    try {
      const before = Buffer.from(b.device.flash)
      const big = makeFirmwareImage({ version: 'too-big', size: 200 * 1024, seed: 23 })
      const r = await runCli(['flash', '--port', b.pair.a, '--protocol', 'stm32', '--parity', 'none', '--file', file('big.bin', big)])
      expect(r.code).toBe(5)
      expect(r.stderr).toMatch(/does not fit the flash of STM32F10xxx medium-density \(128 KiB.*nothing was erased/)
      expect(b.erased).toEqual([])
      expect(b.device.flash.equals(before)).toBe(true)
    } finally {
      await b.close()
    }
  }, 60_000)

  it('explains a silent bootloader (exit 5) instead of hanging', async () => {
    const pair = await ptyPair()
    try {
      const fw = file('x.bin', Buffer.alloc(16))
      const r = await runCli(['flash', '--port', pair.a, '--protocol', 'stm32', '--parity', 'none', '--file', fw], { timeoutMs: 30_000 })
      expect(r.code).toBe(5)
      expect(r.stderr).toMatch(/BOOT0/)
    } finally {
      await pair.close()
    }
  }, 60_000)
})

describe('STM32 bootloader entry by DTR/RTS (stm32flash -i syntax)', () => {
  it('parses entry and exit sequences and rejects nonsense with a usage error', async () => {
    const { parseSignalSequence } = await import('../main/engine/flash/signal-sequence')
    expect(parseSignalSequence('-rts&dtr,,rts:-dtr')).toEqual({
      entry: [{ set: { rts: false } }, { set: { dtr: true } }, { waitMs: 100 }, { waitMs: 100 }, { set: { rts: true } }],
      exit: [{ set: { dtr: false } }]
    })
    expect(() => parseSignalSequence('boot0')).toThrow(/cannot read "boot0"/)
    expect(() => parseSignalSequence('a:b:c')).toThrow(/more than one ':'/)
    const r = await runCli(['flash', '--port', 'p', '--protocol', 'stm32', '--file', __filename, '--entry', 'dtr,xyz'])
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/--entry: "dtr,xyz": cannot read "xyz"/)
  })

  it('drives the lines in order before syncing and after starting the application', async () => {
    const { memoryPair } = await import('../main/engine/transport/memory')
    const { flashStm32 } = await import('../main/engine/flash/stm32')
    const [host, dev] = memoryPair()
    const device = new Stm32Device('f1-crc')
    const served = device.attach(dev)
    let syncedAfterSignals = -1
    const origWrite = host.write.bind(host)
    host.write = async (d) => {
      if (syncedAfterSignals < 0 && d[0] === 0x7f) syncedAfterSignals = host.signalLog.length
      return origWrite(d)
    }
    const fw = makeFirmwareImage({ version: 'entry', size: 1500, seed: 30 })
    await flashStm32(host, { path: file('entry.bin', fw), size: fw.length, name: 'entry.bin' }, { entry: '-rts&dtr,rts:-dtr,-rts,rts' })
    expect(host.signalLog).toEqual([
      { dtr: false, rts: false },
      { dtr: true, rts: false },
      { dtr: true, rts: true },
      { dtr: false, rts: true },
      { dtr: false, rts: false },
      { dtr: false, rts: true }
    ])
    expect(syncedAfterSignals).toBe(3) // 0x7F went out only after the entry sequence
    expect(device.flash.subarray(0, fw.length).equals(fw)).toBe(true)
    await host.close()
    await dev.close()
    await served
  })
})

describe('the unit: unique device ID and flash size register', () => {
  for (const [personality, uidAt, sizeAt, kib] of [
    ['f1', F1_UID, F1_FLASH_SIZE, 64],
    ['f4', F4_UID, F4_FLASH_SIZE, 512]
  ] as const) {
    it(`${personality}: real stm32flash -r reads the unique ID and flash size the simulator serves at the reference manual's addresses`, async () => {
      const b = await board(personality, { uid: Buffer.from(UNIT_UIDS[personality], 'hex'), flashSizeKiB: kib })
      try {
        const uidFile = join(work.dir, `uid-${personality}.bin`)
        const r = await run('stm32flash', ['-m', '8n1', '-b', '115200', '-S', `0x${uidAt.toString(16)}:12`, '-r', uidFile, b.pair.a])
        expect(r.code, r.out).toBe(0)
        expect(readFileSync(uidFile).toString('hex')).toBe(UNIT_UIDS[personality])
        const sizeFile = join(work.dir, `size-${personality}.bin`)
        // stm32flash reads only from word-aligned addresses ("Start address must be word-aligned"): the word holding the register
        const word = sizeAt & ~3
        const s = await run('stm32flash', ['-m', '8n1', '-b', '115200', '-S', `0x${word.toString(16)}:4`, '-r', sizeFile, b.pair.a])
        expect(s.code, s.out).toBe(0)
        expect(readFileSync(sizeFile).readUInt16LE(sizeAt - word)).toBe(kib) // 16 bits, KiB, little-endian like all Cortex-M memory
      } finally {
        await b.close()
      }
    }, 60_000)
  }

  it('two units of the same part: flash-done and the job record of each name its own unique ID and flash size', async () => {
    const dataDir = join(work.dir, 'two-units')
    // differ only in the last byte: the whole 96 bits are the identity
    const units = [
      { uid: '0673ff485550755187102237', kib: 64 },
      { uid: '0673ff485550755187102299', kib: 128 }
    ]
    for (const [i, unit] of units.entries()) {
      const b = await board('f1-crc', { uid: Buffer.from(unit.uid, 'hex'), flashSizeKiB: unit.kib })
      try {
        const fw = makeFirmwareImage({ version: `unit-${i}`, size: 4000, seed: 40 + i })
        const r = await runCli(['flash', '--port', b.pair.a, '--protocol', 'stm32', '--parity', 'none', '--file', file(`unit-${i}.bin`, fw), '--data-dir', dataDir, '--json'])
        expect(r.code, r.stderr + r.stdout).toBe(0)
        const done = jsonEvents(r.stdout).find((e) => e.type === 'flash-done')
        expect(done).toMatchObject({ identity: { protocol: 'stm32', chip: 'STM32F10xxx medium-density', id: unit.uid, details: { pid: '0x410', flashSizeKiB: unit.kib } } })
        expect((done!['identity'] as { details: Record<string, unknown> }).details['uid']).toBeUndefined()
      } finally {
        await b.close()
      }
    }
    const rec = await runCli(['records', '--format', 'jsonl', '--data-dir', dataDir])
    expect(rec.code, rec.stderr).toBe(0)
    const records = rec.stdout
      .split('\n')
      .filter((l) => l.trim())
      .map((l) => JSON.parse(l) as { chip_id: string | null; chip: string | null; result: string })
    expect(records.map((r) => [r.chip_id, r.chip, r.result])).toEqual(units.map((u) => [u.uid, 'STM32F10xxx medium-density', 'succeeded']))
  }, 90_000)

  it('read-out protection: no unit id (details.uid says why), the flash is refused as before, and the refusal still carries the identity', async () => {
    const device = new Stm32Device('f1', { readProtected: true, uid: Buffer.from(UNIT_UIDS.f1, 'hex') })
    device.flash.write('KEEP-ME', 100 * 1024, 'latin1')
    const fw = makeFirmwareImage({ version: 'rdp-id', size: 3000, seed: 41 })
    const { result, error, logs } = await flashDirect(device, fw, 'rdp-id.bin')
    expect(result).toBeUndefined()
    expect(error).toBeInstanceOf(FlashlineError)
    const e = error as FlashlineError
    expect(e.code).toBe('stm32-protected')
    expect(e.message).toMatch(/`unprotect` \(this mass-erases/)
    const identity = e.details?.['identity'] as FlashResult['identity']
    expect(identity).toMatchObject({ protocol: 'stm32', chip: 'STM32F10xxx medium-density', details: { pid: '0x410', bootloader: '2.2', uid: 'unreadable: read-out protection' } })
    expect(identity && 'id' in identity).toBe(false)
    expect(identity?.details?.['flashSizeKiB']).toBeUndefined()
    expect(logs.join('\n')).toMatch(/unique device ID and flash size cannot be read: .*read-out protection is on/)
    expect(device.log).toContain('NACK 11 (read-out protected)')
    expect(device.flash.toString('latin1', 100 * 1024, 100 * 1024 + 7)).toBe('KEEP-ME')
  })

  it('refuses an image larger than the flash size register says, before erasing, though the family has room (exit 5)', async () => {
    const b = await board('f1', { flashSizeKiB: 64 })
    try {
      const before = Buffer.from(b.device.flash)
      const big = makeFirmwareImage({ version: 'too-big-for-64k', size: 100 * 1024, seed: 42 })
      const r = await runCli(['flash', '--port', b.pair.a, '--protocol', 'stm32', '--parity', 'none', '--file', file('big64.bin', big)])
      expect(r.code, r.stderr).toBe(5)
      expect(r.stderr).toMatch(/does not fit the flash of STM32F10xxx medium-density \(64 KiB at 0x8000000, from its flash size register\); nothing was erased/)
      expect(b.erased).toEqual([])
      expect(b.device.flash.equals(before)).toBe(true)
      expect(b.device.log).not.toContain('cmd 43')
    } finally {
      await b.close()
    }
  }, 60_000)

  it("an implausible flash size register (0xFFFF KiB on a 128 KiB family) is ignored: the family's size applies and the log says so", async () => {
    const device = new Stm32Device('f1-crc', { flashSizeKiB: 0xffff, uid: Buffer.from(UNIT_UIDS['f1-crc'], 'hex') })
    const fw = makeFirmwareImage({ version: 'odd-size', size: 100 * 1024, seed: 43 })
    const { result, error, logs } = await flashDirect(device, fw, 'odd-size.bin', { go: false })
    expect(error).toBeUndefined()
    expect(result?.identity).toMatchObject({ id: UNIT_UIDS['f1-crc'], details: { pid: '0x410' } })
    expect(result?.identity?.details?.['flashSizeKiB']).toBeUndefined()
    expect(logs.join('\n')).toMatch(/flash size register \(0x1ffff7e0\) reads 0xffff, not a size STM32F10xxx medium-density can have; using the family's largest, 128 KiB/)
    expect(device.flash.subarray(0, fw.length).equals(fw)).toBe(true)
  })

  it('an unprogrammed unique ID (all 0xFF) is no unit id; the flash goes on', async () => {
    const device = new Stm32Device('f1-crc', { uid: Buffer.alloc(12, 0xff) })
    const fw = makeFirmwareImage({ version: 'blank-uid', size: 2000, seed: 44 })
    const { result, error } = await flashDirect(device, fw, 'blank-uid.bin', { go: false })
    expect(error).toBeUndefined()
    expect(result?.identity && 'id' in result.identity).toBe(false)
    expect(result?.identity?.details).toMatchObject({ uid: 'unreadable: 0x1ffff7e8 reads all 0xff', flashSizeKiB: 128 })
  })

  it('the signature is read-only and Go refuses it (the simulator NACKs writes there)', async () => {
    const device = new Stm32Device('f1')
    const [host, dev] = memoryPair()
    const served = device.attach(dev)
    try {
      const ack = async (): Promise<number> => (await host.read(1, 1000))[0]!
      const addr = (a: number): Buffer => {
        const b = Buffer.alloc(5)
        b.writeUInt32BE(a, 0)
        b[4] = b[0]! ^ b[1]! ^ b[2]! ^ b[3]!
        return b
      }
      await host.write(Uint8Array.of(0x7f))
      expect(await ack()).toBe(0x79)
      await host.write(Uint8Array.of(0x31, 0xce)) // Write Memory (AN3155)
      expect(await ack()).toBe(0x79)
      await host.write(addr(F1_UID))
      expect(await ack()).toBe(0x79)
      await host.write(Uint8Array.of(3, 0, 0, 0, 0, 3)) // 4 zero bytes, checksum N ^ data
      expect(await ack()).toBe(0x1f)
      await host.write(Uint8Array.of(0x21, 0xde)) // Go
      expect(await ack()).toBe(0x79)
      await host.write(addr(F1_UID))
      expect(await ack()).toBe(0x1f)
    } finally {
      await host.close()
      await dev.close()
      await served
    }
  })
})
