/**
 * README flags of `flashline flash`, `fetch` and `ports` that no other test runs, each through the
 * real CLI process: --address, --verify, --image, --entry, --probe-baud, --allow-http, ports --watch.
 */
import { spawn, spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { makeFirmwareImage } from '../main/engine/sim/firmware-image'
import { buildMcubootImage } from '../main/engine/sim/imgtool-image'
import { McubootDevice } from '../main/engine/sim/mcuboot-device'
import { startPackageServer } from '../main/engine/sim/package-server'
import { Stm32Device, type Stm32Personality } from '../main/engine/sim/stm32-device'
import { YmodemDevice } from '../main/engine/sim/ymodem-device'
import { SerialTransport } from '../main/engine/transport/serial'
import type { Transport } from '../main/engine/transport/transport'
import { followCli, jsonEvents, runCli, type CliRun } from './harness/cli'
import { ptyPair } from './harness/pty'
import { tempDir } from './harness/tmp'

const work = tempDir()
afterAll(() => work.cleanup())

function file(name: string, data: Buffer): string {
  const p = join(work.dir, name)
  writeFileSync(p, data)
  return p
}

const explain = (r: CliRun) => `exit ${r.code}\nstdout:\n${r.stdout.slice(-3000)}\nstderr:\n${r.stderr.slice(-2000)}`
const done = (r: CliRun) => jsonEvents(r.stdout).find((e) => e.type === 'flash-done')
const logs = (r: CliRun) => jsonEvents(r.stdout).filter((e) => e.type === 'flash-log').map((e) => String(e['message']))

async function stm32Board(personality: Stm32Personality) {
  const pair = await ptyPair()
  const port = await SerialTransport.open({ path: pair.b, baudRate: 115200 })
  const device = new Stm32Device(personality)
  const erased: Array<number[] | 'all'> = []
  device.on('erased', (p) => erased.push(p))
  // every byte the host sent, as the device read it
  const rx: Buffer[] = []
  const tap: Transport = Object.create(port)
  tap.read = async (n: number, timeoutMs: number) => {
    const got = await port.read(n, timeoutMs)
    rx.push(got)
    return got
  }
  const served = device.attach(tap)
  return { pair, device, erased, sent: () => Buffer.concat(rx), close: async () => (await port.close(), await served, await pair.close()) }
}

const stm32Flash = (port: string, path: string, extra: string[]) => runCli(['flash', '--port', port, '--protocol', 'stm32', '--parity', 'none', '--file', path, '--json', ...extra], { timeoutMs: 45_000 })

describe('flash --address (STM32 over a pty)', () => {
  it('--address 0x08004000 writes the image there, erases only the pages it covers and leaves the image at 0x08000000', async () => {
    const b = await stm32Board('f1')
    try {
      const before = Buffer.from(b.device.flash.subarray(0, 0x4000))
      const fw = makeFirmwareImage({ version: 'at-0x4000', size: 3000, seed: 51 })
      const r = await stm32Flash(b.pair.a, file('addr.bin', fw), ['--address', '0x08004000'])
      expect(r.code, explain(r)).toBe(0)
      expect(b.device.flash.subarray(0x4000, 0x4000 + fw.length).equals(fw)).toBe(true)
      expect(b.device.flash.subarray(0, 0x4000).equals(before)).toBe(true)
      // F103 medium density, 1 KiB pages (RM0008): 3000 bytes from 16 KiB are pages 16, 17 and 18
      expect(b.erased).toEqual([[16, 17, 18]])
      // and starts it there: AN3155 Go = 0x21 0xDE, then the address MSB first and its XOR checksum
      expect(b.sent().includes(Buffer.from([0x21, 0xde, 0x08, 0x00, 0x40, 0x00, 0x08 ^ 0x40]))).toBe(true)
      expect(done(r)).toMatchObject({ bytes: fw.length, verified: 'device' })
    } finally {
      await b.close()
    }
  }, 60_000)

  it('an address outside the chip’s flash is refused before anything is erased (exit 5)', async () => {
    const b = await stm32Board('f1')
    try {
      const fw = makeFirmwareImage({ version: 'x', size: 2048, seed: 52 })
      // 128 KiB end at 0x08020000: 2048 bytes from 0x0801FC00 run 1 KiB past it
      const r = await stm32Flash(b.pair.a, file('addr-out.bin', fw), ['--address', '0x0801FC00'])
      expect(r.code, explain(r)).toBe(5)
      expect(r.stderr).toMatch(/2048 bytes at 0x801fc00\) does not fit the flash .*nothing was erased/)
      expect(b.erased).toEqual([])
    } finally {
      await b.close()
    }
  }, 60_000)
})

describe('flash --verify (STM32 over a pty, a bootloader that lists Get Checksum 0xA1)', () => {
  const cases: Array<[string, { crc: boolean; read: boolean; verified: string }]> = [
    ['readback', { crc: false, read: true, verified: 'device' }],
    ['crc', { crc: true, read: false, verified: 'device' }],
    ['none', { crc: false, read: false, verified: 'none' }]
  ]
  for (const [mode, want] of cases) {
    it(`--verify ${mode}: ${want.crc ? 'Get Checksum' : want.read ? 'Read Memory over the whole image' : 'no verification'}, reported as verified "${want.verified}"`, async () => {
      const b = await stm32Board('f1-crc')
      try {
        const fw = makeFirmwareImage({ version: `v-${mode}`, size: 1500, seed: 53 })
        const r = await stm32Flash(b.pair.a, file(`verify-${mode}.bin`, fw), ['--verify', mode])
        expect(r.code, explain(r)).toBe(0)
        expect(b.device.flash.subarray(0, fw.length).equals(fw)).toBe(true)
        expect(b.device.log.includes('cmd a1')).toBe(want.crc)
        // 1500 bytes padded to 1500 read back in 256-byte blocks: 6 Read Memory commands
        // two reads identify the unit (unique ID, flash size register), the rest verify
        expect(b.device.log.filter((l) => l === 'cmd 11')).toHaveLength(want.read ? 8 : 2)
        expect(done(r)).toMatchObject({ bytes: fw.length, verified: want.verified })
      } finally {
        await b.close()
      }
    }, 60_000)
  }

  it('--verify crc on a bootloader that does not list 0xA1 is refused before anything is erased (exit 5)', async () => {
    const b = await stm32Board('f1')
    try {
      const before = Buffer.from(b.device.flash)
      const fw = makeFirmwareImage({ version: 'no-crc', size: 1500, seed: 58 })
      const r = await stm32Flash(b.pair.a, file('verify-crc-f1.bin', fw), ['--verify', 'crc'])
      expect(r.code, explain(r)).toBe(5)
      expect(r.stderr).toMatch(/does not offer Get Checksum \(0xA1\), which --verify crc needs; use --verify readback or auto; nothing was erased/)
      expect(b.erased).toEqual([])
      expect(b.device.flash.equals(before)).toBe(true)
      expect(b.device.log).not.toContain('cmd 31')
    } finally {
      await b.close()
    }
  }, 60_000)

  it('--verify with an unknown mode is a usage error (exit 2) and touches nothing', async () => {
    const r = await runCli(['flash', '--port', '/dev/null', '--protocol', 'stm32', '--file', __filename, '--verify', 'md5'])
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/--verify: expected one of auto, readback, crc, none, got "md5"/)
  })
})

describe('flash --image (MCUboot serial recovery over a pty)', () => {
  async function mcubootBoard() {
    const pair = await ptyPair()
    const port = await SerialTransport.open({ path: pair.b, baudRate: 115200 })
    const device = new McubootDevice({ version: '1.0.0', eraseMs: 5 })
    const served = device.attach(port)
    return { pair, device, close: async () => (await port.close(), await served, await pair.close()) }
  }
  const signed = (name: string, version: [number, number, number]) =>
    file(name, buildMcubootImage(makeFirmwareImage({ version: version.join('.'), size: 6000, seed: 54 }), { major: version[0], minor: version[1], revision: version[2] }))

  it('--image 1 asks for image 1: a single-image MCUboot refuses it (exit 5) and slot 0 keeps its image', async () => {
    const b = await mcubootBoard()
    try {
      const before = b.device.image
      const path = signed('img1.bin', [2, 0, 0])
      const r = await runCli(['flash', '--port', b.pair.a, '--protocol', 'mcuboot', '--file', path, '--image', '1', '--json'], { timeoutMs: 45_000 })
      expect(r.code, explain(r)).toBe(5)
      expect(logs(r)).toContain('MCUboot serial recovery: image 1 slot 0 holds no valid image')
      expect(r.stderr).toContain(`the device refused the upload: the device has no slot for image 1 (a single-image build?), or ${readFileSync(path).length} bytes do not fit it (rc 3)`)
      expect(b.device.uploads).toBeGreaterThan(0)
      expect(b.device.erases).toBe(0) // boot_serial.c bs_upload: flash_area_open for image 1 fails before any erase
      expect(b.device.image?.equals(before!)).toBe(true)
    } finally {
      await b.close()
    }
  }, 60_000)

  it('--image 0 (the default) uploads into slot 0', async () => {
    const b = await mcubootBoard()
    try {
      const path = signed('img0.bin', [2, 1, 0])
      const r = await runCli(['flash', '--port', b.pair.a, '--protocol', 'mcuboot', '--file', path, '--image', '0', '--json'], { timeoutMs: 45_000 })
      expect(r.code, explain(r)).toBe(0)
      expect(logs(r)).toContain('MCUboot serial recovery: image 0 slot 0 holds version 1.0.0')
      expect(b.device.image?.equals(readFileSync(path))).toBe(true)
      expect(b.device.erases).toBe(1)
    } finally {
      await b.close()
    }
  }, 60_000)
})

describe('flash --entry on the built-in simulated STM32 (modem lines exist there, not on ptys)', () => {
  // --entry=VALUE: node's parseArgs takes a value starting with "-" only in this form
  it('a valid entry:exit sequence is run around the flash, which completes and is verified', async () => {
    const fw = makeFirmwareImage({ version: 'entry-ok', size: 4000, seed: 55 })
    const t0 = Date.now()
    const r = await runCli(['flash', '--port', 'sim:stm32:f1-crc', '--protocol', 'stm32', '--file', file('entry.bin', fw), '--entry=-rts&dtr,,rts,:-dtr,rts,-rts', '--probe', 'version[: ]+(\\S+)', '--json'], { timeoutMs: 45_000 })
    expect(r.code, explain(r)).toBe(0)
    expect(done(r)).toMatchObject({ bytes: fw.length, verified: 'device', version: 'entry-ok', identity: { protocol: 'stm32', id: expect.stringMatching(/^[0-9a-f]{24}$/), details: { pid: '0x410' } } })
    expect(Date.now() - t0).toBeGreaterThanOrEqual(400) // the sequence waits 2 × 100 ms on entry and 2 × 100 ms on exit
  }, 60_000)
})

describe('flash --probe-baud', () => {
  /** The host side's line speed as the tty reports it (termios of the pty the CLI holds open). */
  function speedOf(path: string): Promise<number> {
    return new Promise((resolve, reject) => {
      const p = spawn('stty', ['-F', path, 'speed'], { stdio: ['ignore', 'pipe', 'pipe'] })
      let out = ''
      p.stdout.on('data', (d) => (out += d))
      const t = setTimeout(() => (p.kill('SIGKILL'), reject(new Error('stty did not answer'))), 5000)
      p.on('close', () => (clearTimeout(t), resolve(Number(out.trim()))))
    })
  }

  it('the console is read at --probe-baud after the flash ran at --baud', async () => {
    const pair = await ptyPair()
    const port = await SerialTransport.open({ path: pair.b, baudRate: 115200 })
    const device = new YmodemDevice({ personality: 'st-iap', version: '1.0.0', requestIntervalMs: 300 })
    const speeds: number[] = []
    let bannerSpeed = 0
    let sampling = true
    const sampler = (async () => {
      while (sampling) {
        const s = await speedOf(pair.a).catch(() => 0)
        if (s && speeds.at(-1) !== s) speeds.push(s)
        await new Promise((r) => setTimeout(r, 10))
      }
    })()
    // The device's reboot banner is held back until the host line runs at the probe speed (or 5 s pass),
    // so the probe can only match if it reads the console at that speed.
    const gated: Transport = Object.create(port)
    gated.write = async (data: Uint8Array) => {
      if (Buffer.from(data).includes('rebooting')) {
        const deadline = Date.now() + 5000
        while ((bannerSpeed = await speedOf(pair.a).catch(() => 0)) !== 57600 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20))
      }
      return port.write(data)
    }
    const served = device.attach(gated)
    try {
      const fw = makeFirmwareImage({ version: '3.3.3', size: 60_000, seed: 56 })
      const r = await runCli(['flash', '--port', pair.a, '--protocol', 'ymodem', '--file', file('probe-baud.bin', fw), '--baud', '230400', '--probe', 'version[: ]+(\\S+)', '--probe-baud', '57600', '--probe-timeout', '10', '--json'], { timeoutMs: 45_000 })
      expect(r.code, explain(r)).toBe(0)
      expect(device.image.equals(fw)).toBe(true)
      expect(done(r)).toMatchObject({ version: '3.3.3' })
      expect(bannerSpeed).toBe(57600)
      expect(speeds.indexOf(230400)).toBeGreaterThan(-1)
      expect(speeds.indexOf(57600)).toBeGreaterThan(speeds.indexOf(230400))
    } finally {
      sampling = false
      await sampler
      await port.close()
      await served
      await pair.close()
    }
  }, 60_000)

  it('--probe-baud without --probe is a usage error', async () => {
    const r = await runCli(['flash', '--port', 'sim:ymodem', '--protocol', 'ymodem', '--file', __filename, '--probe-baud', '9600'])
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/--probe-baud and --probe-timeout need --probe REGEX/)
  })
})

describe('fetch --allow-http', () => {
  it('an http:// package is refused without --allow-http (exit 2, nothing requested) and fetched and verified with it', async () => {
    const server = await startPackageServer({ tls: false })
    try {
      const data = makeFirmwareImage({ version: '8.0.0', size: 50_000, seed: 57 })
      const sha = createHash('sha256').update(data).digest('hex')
      const { url } = server.addPackage('plain/fw.bin', data, {})
      expect(url.startsWith('http://')).toBe(true)
      const out = join(work.dir, 'plain.bin')
      const args = ['fetch', '--url', url, '--sha256', sha, '--out', out, '--data-dir', join(work.dir, 'http-data'), '--json']
      const refused = await runCli(args)
      expect(refused.code).toBe(2)
      expect(refused.stderr).toMatch(/refusing plain http:\/\/ for 127\.0\.0\.1:\d+: .*--allow-http/)
      expect(server.requests).toHaveLength(0)
      const r = await runCli([...args, '--allow-http'])
      expect(r.code, explain(r)).toBe(0)
      expect(readFileSync(out).equals(data)).toBe(true)
      expect(jsonEvents(r.stdout).find((e) => e.type === 'download-done')).toMatchObject({ size: data.length, sha256: sha, fromCache: false })
      expect(server.requests.map((q) => q.status)).toEqual([200])
    } finally {
      await server.close()
    }
  }, 60_000)
})

describe('ports --watch', () => {
  /**
   * Without udev, ports are listed from /sys/class/tty (main/engine/ports.ts). The CLI runs in a
   * private mount namespace (unshare -m) where a folder of ours is bound over /sys/class/tty, with a
   * PATH that has no udevadm; ports then "arrive" and "leave" as the test adds and removes entries
   * laid out like the kernel's (class/tty/NAME/device → the USB interface; idVendor one level up).
   */
  it('lists the ports present, then reports an arrival and a removal as they happen, until SIGINT (exit 130)', async () => {
    if (spawnSync('unshare', ['-m', 'true']).status !== 0) throw new Error('this test needs `unshare -m` (util-linux, run as root) to give the CLI its own /sys/class/tty')
    const root = join(work.dir, 'fake-sys')
    const cls = join(root, 'class')
    const usb = (name: string, vid: string, pid: string, serial: string) => {
      const dev = join(root, 'devices', name)
      mkdirSync(join(dev, `${name}:1.0`), { recursive: true })
      for (const [f, v] of Object.entries({ idVendor: vid, idProduct: pid, manufacturer: 'Test Maker', serial })) writeFileSync(join(dev, f), `${v}\n`)
      return join(dev, `${name}:1.0`)
    }
    const plug = (tty: string, iface: string) => {
      mkdirSync(join(cls, tty), { recursive: true })
      symlinkSync(iface, join(cls, tty, 'device'))
    }
    mkdirSync(cls, { recursive: true })
    plug('ttyACM3', usb('1-2', '0483', '5740', 'ST0001'))
    const node = process.execPath
    const bin = join(__dirname, '..', 'bin', 'flashline.js')
    const child = spawn('unshare', ['-m', 'sh', '-c', `mount --bind "$1" /sys/class/tty && PATH=/nonexistent exec "$2" "$3" ports --watch --json`, 'sh', cls, node, bin], { stdio: ['ignore', 'pipe', 'pipe'] })
    const { events, closed, until, kill } = followCli(child)
    try {
      await until('the port present at start', () => events.length >= 1)
      expect(events[0]).toMatchObject({ type: 'port-arrived', port: { path: '/dev/ttyACM3', vendorId: '0483', productId: '5740', bridge: 'STMicroelectronics Virtual COM (CDC-ACM)', serialNumber: 'ST0001' } })
      plug('ttyUSB7', usb('1-1', '1a86', '7523', 'A1B2'))
      await until('the arrival', () => events.length >= 2)
      expect(events[1]).toMatchObject({ type: 'port-arrived', port: { path: '/dev/ttyUSB7', vendorId: '1a86', productId: '7523', bridge: 'WCH CH340', manufacturer: 'Test Maker', serialNumber: 'A1B2' } })
      rmSync(join(cls, 'ttyACM3'), { recursive: true })
      await until('the removal', () => events.length >= 3)
      expect(events[2]).toMatchObject({ type: 'port-removed', port: { path: '/dev/ttyACM3' } })
      await new Promise((r) => setTimeout(r, 1500)) // another poll or two: nothing changed, nothing reported
      expect(events).toHaveLength(3)
      child.kill('SIGINT')
      const end = await Promise.race([closed, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 10_000))])
      expect(end).toEqual({ code: 130, signal: null })
    } finally {
      await kill()
    }
  }, 60_000)
})
