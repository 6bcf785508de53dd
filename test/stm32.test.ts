/** STM32 system bootloader: our simulator against real stm32flash, our flasher against the simulator, over ptys. */
import { spawn } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { pagesCovering, chipByPid, stm32Crc } from '../main/engine/flash/stm32-chips'
import { makeFirmwareImage } from '../main/engine/sim/firmware-image'
import { crcUnit, Stm32Device, type Stm32Personality } from '../main/engine/sim/stm32-device'
import { SerialTransport } from '../main/engine/transport/serial'
import { jsonEvents, runCli } from './harness/cli'
import { ptyPair } from './harness/pty'
import { tempDir } from './harness/tmp'

const work = tempDir()
afterAll(() => work.cleanup())

async function board(personality: Stm32Personality, protection: { readProtected?: boolean; writeProtected?: boolean } = {}) {
  const pair = await ptyPair()
  const port = await SerialTransport.open({ path: pair.b, baudRate: 115200 })
  const device = new Stm32Device(personality, protection)
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

describe('STM32 helpers', () => {
  for (const [name, data, want] of CRC_VECTORS) {
    it(`STM32 CRC of ${name} is 0x${want.toString(16)} in the flasher and in the simulator's CRC unit`, () => {
      expect(stm32Crc(data)).toBe(want)
      expect(crcUnit(data)).toBe(want)
    })
  }

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

  it('a protected chip is refused with a hint to --unprotect (exit 5, nothing written); --unprotect warns, erases and flashes', async () => {
    const b = await board('f1', { readProtected: true, writeProtected: true })
    try {
      const fw = makeFirmwareImage({ version: 'after-rdp', size: 3000, seed: 31 })
      const path = file('rdp.bin', fw)
      const refused = await runCli(['flash', '--port', b.pair.a, '--protocol', 'stm32', '--parity', 'none', '--file', path])
      expect(refused.code).toBe(5)
      expect(refused.stderr).toMatch(/read-out or write protected.*--unprotect.*mass-erases/)
      expect(b.device.flash.toString('latin1', 100 * 1024, 100 * 1024 + 7)).toBe('KEEP-ME')
      const r = await runCli(['flash', '--port', b.pair.a, '--protocol', 'stm32', '--parity', 'none', '--file', path, '--unprotect', '--probe', 'version[: ]+(\\S+)'])
      expect(r.code, r.stderr).toBe(0)
      expect(r.stdout + r.stderr).toMatch(/WARNING: removing read-out protection .* erases the whole flash/)
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
      const b = await board(personality)
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
        expect(done).toMatchObject({ bytes: fw.length, verified: 'device', version: `fl-${personality}`, identity: { protocol: 'stm32', id: personality === 'f4' ? '0x413' : '0x410' } })
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
