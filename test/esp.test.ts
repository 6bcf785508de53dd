/** Espressif ROM/stub: esptool-js (pinned) drives our ESP32-C3 simulator over a real pty; CLI on the built-in simulator. */
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { flashEsp } from '../main/engine/flash/esp'
import { flashEspThreaded } from '../main/engine/flash/esp-threaded'
import { EspDevice, type EspDeviceOptions } from '../main/engine/sim/esp-device'
import { makeFirmwareImage } from '../main/engine/sim/firmware-image'
import { memoryPair } from '../main/engine/transport/memory'
import { SerialTransport } from '../main/engine/transport/serial'
import { jsonEvents, runCli } from './harness/cli'
import { ptyPair } from './harness/pty'
import { tempDir } from './harness/tmp'

const work = tempDir()
afterAll(() => work.cleanup())

function file(name: string, data: Buffer): string {
  const p = join(work.dir, name)
  writeFileSync(p, data)
  return p
}

/** Firmware-like data: code-ish repetitive runs and strings, so deflate has something to do. */
function firmwareLike(version: string, size: number): Buffer {
  const b = makeFirmwareImage({ version, size, seed: 21 })
  for (let i = 4096; i + 64 < size; i += 256) b.fill(i & 0xff, i, i + 96)
  return b
}

async function ptyBoard(options: EspDeviceOptions = {}) {
  const pair = await ptyPair()
  const port = await SerialTransport.open({ path: pair.b, baudRate: 115200 })
  const device = new EspDevice(options)
  const served = device.attach(port)
  const host = await SerialTransport.open({ path: pair.a, baudRate: 115200 })
  return { device, host, close: async () => (await host.close(), await port.close(), await served, await pair.close()) }
}

/** Bytes written out as in a trace: "c0 00 08 ..." (spaces and line breaks ignored). */
const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex')

/**
 * Wire vectors written out from espressif/esptool docs/en/advanced-topics/serial-protocol.rst
 * ("Low Level Protocol": SLIP, 0xC0 -> DB DC and 0xDB -> DB DD after sizes and checksum are set;
 * "Command/Response Packet": little-endian fields, ESP32-class ROM ends a response with 4 status
 * bytes and the stub with 2; "Checksum": seed 0xEF XOR each "data to write" byte; "Tracing": the
 * SYNC request bytes; OHAI = C0 4F 48 41 49 C0), not from our code.
 */
const SYNC_REQUEST = hex('c0 00 08 24 00 00 00 00 00 07 07 12 20' + ' 55'.repeat(32) + ' c0')
/**
 * ROM SYNC reply as an ESP32-D0WD sent it (esptool-js pull request #107 trace): value bytes 07 12 55 55
 * (esptool's loader.py sync() only needs a non-zero value from a ROM; the stub answers 0), size 4 =
 * the four ROM status bytes, all zero. esptool reads the first reply and seven more.
 */
const ROM_SYNC_REPLY = hex('c0 01 08 04 00 07 12 55 55 00 00 00 00 c0')

describe('ESP serial protocol vectors (esptool serial-protocol.rst) against the simulator', () => {
  async function romLink() {
    const [host, dev] = memoryPair()
    const served = new EspDevice().attach(dev)
    await host.readUntil(/waiting for download\r\n/, 1000)
    return { host, close: async () => (await host.close(), await dev.close(), await served) }
  }

  /** Reads exactly `want.length` bytes and then checks nothing more follows for a moment. */
  async function expectExactly(host: ReturnType<typeof memoryPair>[0], want: Buffer): Promise<void> {
    expect((await host.read(want.length, 2000)).toString('hex')).toBe(want.toString('hex'))
    await expect(host.read(1, 300)).rejects.toMatchObject({ code: 'timeout' })
  }

  it('ROM: the doc\'s SYNC request gets eight replies, each C0 01 08 04 00 07 12 55 55 00 00 00 00 C0', async () => {
    const l = await romLink()
    try {
      await l.host.write(SYNC_REQUEST)
      await expectExactly(l.host, Buffer.concat(Array<Buffer>(8).fill(ROM_SYNC_REPLY)))
    } finally {
      await l.close()
    }
  })

  it('SLIP: C0 and DB inside a request are unescaped, and escaped again in the reply (WRITE_REG, READ_REG)', async () => {
    const l = await romLink()
    try {
      // WRITE_REG 0x09: address 0x4000DBC0, value 0xAA55C0DB, mask 0xFFFFFFFF, delay 0
      await l.host.write(hex('c0 00 09 10 00 00 00 00 00  db dc db dd 00 40  db dd db dc 55 aa  ff ff ff ff  00 00 00 00 c0'))
      await expectExactly(l.host, hex('c0 01 09 04 00 00 00 00 00 00 00 00 00 c0'))
      // READ_REG 0x0A of the same address: value 0xAA55C0DB comes back as DB DD DB DC 55 AA
      await l.host.write(hex('c0 00 0a 04 00 00 00 00 00 db dc db dd 00 40 c0'))
      await expectExactly(l.host, hex('c0 01 0a 04 00 db dd db dc 55 aa 00 00 00 00 c0'))
    } finally {
      await l.close()
    }
  })

  it('checksum: MEM_DATA of 01 02 03 04 is accepted with 0xEB (seed 0xEF) and refused with 0xEA (status 1, error 0x07)', async () => {
    const l = await romLink()
    try {
      // MEM_BEGIN 0x05: size 4, 1 block, block size 0x1800, address 0x40380000
      await l.host.write(hex('c0 00 05 10 00 00 00 00 00  04 00 00 00  01 00 00 00  00 18 00 00  00 00 38 40 c0'))
      await expectExactly(l.host, hex('c0 01 05 04 00 00 00 00 00 00 00 00 00 c0'))
      const memData = (checksum: string) => hex(`c0 00 07 14 00 ${checksum} 00 00 00  04 00 00 00  00 00 00 00  00 00 00 00  00 00 00 00  01 02 03 04 c0`)
      await l.host.write(memData('ea'))
      await expectExactly(l.host, hex('c0 01 07 04 00 00 00 00 00 01 07 00 00 c0'))
      await l.host.write(memData('eb'))
      await expectExactly(l.host, hex('c0 01 07 04 00 00 00 00 00 00 00 00 00 c0'))
    } finally {
      await l.close()
    }
  })

  it('stub: MEM_END starts it, it says OHAI (C0 4F 48 41 49 C0), then answers SYNC once with value 0 and two status bytes', async () => {
    const l = await romLink()
    try {
      // MEM_END 0x06: stay-in-loader 0 (run), entry 0x40380000
      await l.host.write(hex('c0 00 06 08 00 00 00 00 00  00 00 00 00  00 00 38 40 c0'))
      await expectExactly(l.host, hex('c0 01 06 04 00 00 00 00 00 00 00 00 00 c0  c0 4f 48 41 49 c0'))
      await l.host.write(SYNC_REQUEST)
      await expectExactly(l.host, hex('c0 01 08 02 00 00 00 00 00 00 00 c0'))
    } finally {
      await l.close()
    }
  })
})

describe('esptool-js against our ESP32-C3 simulator on a pty', () => {
  it('connects, uploads the stub, switches to 921600, writes compressed, verifies MD5: flash byte-identical', async () => {
    const b = await ptyBoard({ mac: '34:85:18:aa:bb:cc' })
    try {
      const fw = firmwareLike('2.1.0', 300_000)
      const progress: number[] = []
      const r = await flashEsp(b.host, { path: file('app.bin', fw), size: fw.length, name: 'app.bin', address: 0x10000 }, { onProgress: (p) => p.stage === 'write' && progress.push(p.done) })
      expect(b.device.read(0x10000, fw.length).equals(fw)).toBe(true)
      expect(b.device.read(0x10000 + fw.length, 16).equals(Buffer.alloc(16, 0xff))).toBe(true)
      expect(r).toMatchObject({ bytesWritten: fw.length, verified: 'device', identity: { protocol: 'esp', chip: expect.stringMatching(/^ESP32-C3/), id: '34:85:18:aa:bb:cc', details: { baud: 921600 } } })
      expect(b.device.commands).toEqual(expect.arrayContaining([0x05, 0x07, 0x06, 0x0f, 0x10, 0x11, 0x12, 0x13])) // stub upload, baud, FLASH_DEFL_*, MD5
      expect(b.device.commands).not.toContain(0x03) // compressed only
      expect(progress.at(-1)).toBe(fw.length)
      expect(progress.every((v, i) => i === 0 || v >= progress[i - 1]!)).toBe(true)
    } finally {
      await b.close()
    }
  })

  it('steps down the baud ladder when blocks fail at the high rate (board reset into the ROM via DTR/RTS in between)', async () => {
    // A pty has no modem lines, so the retry's reset into the ROM is only observable on the in-process link.
    const [host, dev] = memoryPair()
    const device = new EspDevice({ maxReliableBaud: 460800 })
    void device.attach(dev)
    const log: string[] = []
    try {
      const fw = firmwareLike('2.2.0', 60_000)
      const r = await flashEsp(host, { path: file('ladder.bin', fw), size: fw.length, name: 'ladder.bin', address: 0x20000 }, { log: (m) => log.push(m) })
      expect(r.identity?.details?.['baud']).toBe(460800)
      expect(device.read(0x20000, fw.length).equals(fw)).toBe(true)
      expect(log.join('\n')).toMatch(/at 921600 baud; trying again at 460800 baud/)
    } finally {
      await host.close()
    }
  }, 60_000)

  it('an interrupted flash ends as interrupted (exit 130 material), on the worker thread too', async () => {
    for (const thread of [false, true]) {
      const [host, dev] = memoryPair()
      void new EspDevice().attach(dev)
      const fw = firmwareLike('9.9.9', 400_000)
      const abort = new AbortController()
      const flash = thread ? flashEspThreaded : flashEsp
      await expect(
        flash(host, { path: file(`abort-${thread}.bin`, fw), size: fw.length, name: 'a.bin', address: 0x10000 }, { signal: abort.signal, onProgress: (p) => p.stage === 'write' && p.done > 0 && abort.abort() })
      ).rejects.toMatchObject({ kind: 'interrupted' })
      await host.close()
    }
  }, 60_000)

  it('explains a board that never answers the ROM sync (exit 5 material, not a hang)', async () => {
    const pair = await ptyPair()
    const host = await SerialTransport.open({ path: pair.a, baudRate: 115200 })
    try {
      const fw = firmwareLike('1.0.0', 1000)
      await expect(flashEsp(host, { path: file('x.bin', fw), size: fw.length, name: 'x.bin', address: 0x10000 }, { before: 'no_reset' })).rejects.toMatchObject({ kind: 'device', code: 'esp-no-sync', message: expect.stringMatching(/BOOT \(IO0\)/) })
    } finally {
      await host.close()
      await pair.close()
    }
  }, 30_000)
})

describe('flashline flash --protocol esp', () => {
  it('flashes the built-in simulated board, resets it via RTS and probes the new version', async () => {
    const fw = firmwareLike('3.0.0', 100_000)
    const r = await runCli(['flash', '--port', 'sim:esp', '--protocol', 'esp', '--file', file('cli.bin', fw), '--probe', 'version[: ]+(\\S+)', '--json'])
    expect(r.code, r.stderr).toBe(0)
    const done = jsonEvents(r.stdout).find((e) => e.type === 'flash-done')
    // esptool-js ran on a worker thread; the port stayed with the main thread
    expect(done).toMatchObject({ version: '3.0.0', verified: 'device', identity: { chip: expect.stringMatching(/ESP32-C3/), details: { thread: 'worker' } } })
    expect(r.stdout.split('\n').filter((l) => l.trim() && !l.startsWith('{'))).toEqual([]) // nothing but JSON on stdout
  })

  it('flashes an ESP32-C3 behind a real pty from another working directory (the worker still finds its code)', async () => {
    const b = await ptyBoard()
    const port = b.host.path
    await b.host.close() // the CLI opens the host side itself
    try {
      const fw = firmwareLike('3.1.0', 120_000)
      const r = await runCli(['flash', '--port', port, '--protocol', 'esp', '--file', file('pty.bin', fw), '--baud', '460800', '--json'], { cwd: work.dir })
      expect(r.code, r.stderr).toBe(0)
      expect(b.device.read(0x10000, fw.length).equals(fw)).toBe(true)
      expect(jsonEvents(r.stdout).find((e) => e.type === 'flash-done')).toMatchObject({ identity: { details: { baud: 460800, thread: 'worker' } } })
    } finally {
      await b.close()
    }
  })

  it('--manifest writes the parts listed for the detected chip family; a manifest without it writes nothing (exit 2)', async () => {
    const boot = firmwareLike('boot', 20_000)
    const app = firmwareLike('4.0.0', 80_000)
    file('boot.bin', boot)
    file('app4.bin', app)
    const manifest = file('manifest.json', Buffer.from(JSON.stringify({ name: 'demo', builds: [
      { chipFamily: 'ESP32', parts: [{ path: 'boot.bin', offset: 4096 }, { path: 'app4.bin', offset: 65536 }] },
      { chipFamily: 'ESP32-C3', parts: [{ path: 'boot.bin', offset: 0 }, { path: 'app4.bin', offset: 65536 }] }
    ] })))
    const r = await runCli(['flash', '--port', 'sim:esp', '--protocol', 'esp', '--manifest', manifest, '--probe', 'version[: ]+(\\S+)', '--json'])
    expect(r.code, r.stderr).toBe(0)
    const done = jsonEvents(r.stdout).find((e) => e.type === 'flash-done')
    expect(done).toMatchObject({ version: '4.0.0', bytes: boot.length + app.length, identity: { details: { parts: [{ address: 0, size: boot.length }, { address: 65536, size: app.length }] } } })
    const other = file('manifest-s3.json', Buffer.from(JSON.stringify({ builds: [{ chipFamily: 'ESP32-S3', parts: [{ path: 'app4.bin', offset: 65536 }] }] })))
    const r2 = await runCli(['flash', '--port', 'sim:esp', '--protocol', 'esp', '--manifest', other])
    expect(r2.code).toBe(2)
    expect(r2.stderr).toMatch(/no build for ESP32-C3 \(it lists ESP32-S3\); nothing was written/)
    const r3 = await runCli(['flash', '--port', 'sim:esp', '--protocol', 'ymodem', '--manifest', manifest])
    expect(r3.code).toBe(2)
    expect(r3.stderr).toMatch(/--manifest is for --protocol esp/)
  })
})
