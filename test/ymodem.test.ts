import { spawn } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { probeVersion } from '../main/engine/flash/probe'
import { buildBlock, buildHeaderBlock, sendYmodem } from '../main/engine/flash/ymodem'
import { findImageVersion, makeFirmwareImage } from '../main/engine/sim/firmware-image'
import { YmodemDevice, type ReceivedFile, type YmodemPersonality } from '../main/engine/sim/ymodem-device'
import { memoryPair } from '../main/engine/transport/memory'
import { SerialTransport } from '../main/engine/transport/serial'
import { crc16xmodem } from '../main/engine/util/crc16'
import { ptyPair, type PtyPair } from './harness/pty'
import { tempDir } from './harness/tmp'

const cleanups: Array<() => unknown> = []
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!()
})

function imageFile(version: string, size: number): { path: string; data: Buffer } {
  const t = tempDir()
  cleanups.push(t.cleanup)
  const data = makeFirmwareImage({ version, size, seed: size })
  const path = join(t.dir, 'fw.bin')
  writeFileSync(path, data)
  return { path, data }
}

// Expected CRCs: 0x31C3 is the published CRC-16/XMODEM check value of "123456789"; the others were
// computed with python3's binascii.crc_hqx(data, 0) (CRC-CCITT, init 0), not with our code.
describe('YMODEM framing', () => {
  it('computes CRC-16/XMODEM check values', () => {
    expect(crc16xmodem(Buffer.from('123456789'))).toBe(0x31c3)
    expect(crc16xmodem(Buffer.alloc(128, 0x1a))).toBe(0xf8b0)
    expect(crc16xmodem(Buffer.alloc(1024, 0xff))).toBe(0xc084)
  })

  it('builds block 0 with the name and decimal size, NUL padded, and an all-zero end-of-batch block', () => {
    const h = buildHeaderBlock('fw.bin', 3000, true)
    expect(h.length).toBe(133)
    expect([...h.subarray(0, 3)]).toEqual([0x01, 0x00, 0xff])
    expect(h.subarray(3, 3 + 12).toString('latin1')).toBe('fw.bin\0' + '3000\0')
    expect(h.subarray(15, 131).every((b) => b === 0)).toBe(true)
    expect(crc16xmodem(h.subarray(3))).toBe(0)
    expect(h.readUInt16BE(131)).toBe(0x6690) // binascii.crc_hqx(b'fw.bin\x003000' + 117 * b'\x00', 0)
    const end = buildHeaderBlock('', null, true)
    expect(end.subarray(3, 131).every((b) => b === 0)).toBe(true)
  })

  it('pads data blocks with 0x1A and numbers them with the complement', () => {
    const b = buildBlock(0x101, Buffer.from('abc'), 1024, true)
    expect([b[0], b[1], b[2]]).toEqual([0x02, 0x01, 0xfe])
    expect(b[6]).toBe(0x1a)
    expect(crc16xmodem(b.subarray(3))).toBe(0)
    expect(b.readUInt16BE(1027)).toBe(0xd7c2) // binascii.crc_hqx(b'abc' + 1021 * b'\x1a', 0)
  })
})

describe('YMODEM sender against the simulated bootloader (memory link)', () => {
  for (const personality of ['lrz', 'st-iap', 'mico'] as YmodemPersonality[]) {
    it(`delivers a file byte-identical to the ${personality} receiver and the device reboots into the new version`, async () => {
      const { path, data } = imageFile('2.0.0', 5000)
      const [host, dev] = memoryPair()
      const device = new YmodemDevice({ personality, version: '1.0.0', requestIntervalMs: 200 })
      const served = device.attach(dev)
      const progress: number[] = []
      const result = await sendYmodem(host, { path, size: data.length, name: 'fw.bin' }, {
        menuCommand: personality === 'mico' ? '1\r' : undefined,
        onProgress: (p) => progress.push(p.done)
      })
      expect(result.bytesWritten).toBe(5000)
      expect(device.received).toHaveLength(1)
      expect(device.received[0]!.name).toBe('fw.bin')
      expect(device.received[0]!.data.equals(data)).toBe(true)
      expect(progress.at(-1)).toBe(5000)
      expect(await probeVersion(host, { pattern: /version[: ]+(\S+)/i, timeoutMs: 3000 })).toBe('2.0.0')
      await host.close()
      await dev.close()
      await served
    })
  }

  /** Both directions of a memory link in order: "→ blk N" / "→ EOT" from the sender, "← ACK" / "← C" / "← NAK" from the receiver. */
  function tapLink(host: ReturnType<typeof memoryPair>[0], dev: ReturnType<typeof memoryPair>[1]): string[] {
    const timeline: string[] = []
    const names: Record<number, string> = { 0x04: 'EOT', 0x06: 'ACK', 0x15: 'NAK', 0x18: 'CAN', 0x43: 'C' }
    const hostWrite = host.write.bind(host)
    host.write = async (d) => {
      timeline.push(d.length >= 133 && (d[0] === 0x01 || d[0] === 0x02) ? `→ blk ${d[1]}` : `→ ${[...d].map((b) => names[b] ?? b.toString(16)).join(' ')}`)
      return hostWrite(d)
    }
    const devWrite = dev.write.bind(dev)
    dev.write = async (d) => {
      if (d.every((b) => names[b])) for (const b of d) timeline.push(`← ${names[b]}`)
      return devWrite(d)
    }
    return timeline
  }

  /** The exchange from the first copy of block 2 up to block 3. */
  const aroundBlock2 = (timeline: string[]) => timeline.slice(timeline.indexOf('→ blk 2'), timeline.indexOf('→ blk 3'))

  it('a lost ACK with an lrz receiver: our sender times out, resends block 2, lrz ACKs the repeat', async () => {
    const { path, data } = imageFile('3.1.0', 4 * 1024)
    const [host, dev] = memoryPair()
    const timeline = tapLink(host, dev)
    const device = new YmodemDevice({ personality: 'lrz', requestIntervalMs: 150, dropAckOfBlocks: [2] })
    const served = device.attach(dev)
    const logs: string[] = []
    // lrz stays silent for 5 s before a NAK; our 2.5 s block timeout comes first
    await sendYmodem(host, { path, size: data.length, name: 'fw.bin' }, { blockTimeoutMs: 2500, log: (m) => logs.push(m) })
    expect(device.received[0]!.data.equals(data)).toBe(true)
    expect(aroundBlock2(timeline)).toEqual(['→ blk 2', '→ blk 2', '← ACK'])
    expect(logs.filter((l) => l.startsWith('block'))).toEqual(['block 2: no answer (attempt 1/10), resending'])
    await host.close()
    await dev.close()
    await served
  })

  it("a lost ACK with an st-iap receiver: it asks with 'C', NAKs the repeated block 2, and our sender moves on to block 3", async () => {
    const { path, data } = imageFile('3.1.0', 4 * 1024)
    const [host, dev] = memoryPair()
    const timeline = tapLink(host, dev)
    const device = new YmodemDevice({ personality: 'st-iap', requestIntervalMs: 150, dropAckOfBlocks: [2] })
    const served = device.attach(dev)
    const logs: string[] = []
    // the receiver asks again with 'C' after 2 s of silence, well before our 4 s block timeout
    await sendYmodem(host, { path, size: data.length, name: 'fw.bin' }, { blockTimeoutMs: 4000, log: (m) => logs.push(m) })
    expect(device.received[0]!.data.equals(data)).toBe(true)
    expect(aroundBlock2(timeline)).toEqual(['→ blk 2', '← C', '→ blk 2', '← NAK'])
    expect(timeline.filter((e) => e === '→ blk 2')).toHaveLength(2) // not resent until the retries run out
    expect(logs.filter((l) => l.startsWith('block'))).toEqual([
      "block 2: 'C' (attempt 1/10), resending",
      'block 2: NAK on a resent block after a lost ACK; the receiver already has it'
    ])
    await host.close()
    await dev.close()
    await served
  })

  it("st-iap answers as ST's Ymodem_Receive: NAK for a data block before the header, ACK for the sender's CA CA, 'C' for a stray byte", async () => {
    const [host, dev] = memoryPair()
    const device = new YmodemDevice({ personality: 'st-iap', requestIntervalMs: 5000 })
    const served = device.attach(dev)
    try {
      await host.readUntil(Buffer.from('C'), 2000)
      // SOH 01 FE, 128 × 1A, CRC-16 F8 B0 (python3 binascii.crc_hqx(b'\x1a' * 128, 0))
      await host.write(Buffer.concat([Buffer.from([0x01, 0x01, 0xfe]), Buffer.alloc(128, 0x1a), Buffer.from([0xf8, 0xb0])]))
      expect([...(await host.read(1, 2000))]).toEqual([0x15])
      await host.write(Buffer.from([0x7e])) // line noise
      expect([...(await host.read(1, 2000))]).toEqual([0x43])
      await host.write(Buffer.from([0x18, 0x18]))
      expect([...(await host.read(1, 2000))]).toEqual([0x06])
      // the session ended; the device is back asking for a new one
      expect([...(await host.read(1, 2000))]).toEqual([0x43])
      expect(device.received).toEqual([])
    } finally {
      await host.close()
      await dev.close()
      await served
    }
  })

  it('recovers a receiver left inside an interrupted transfer (sender killed mid-file)', async () => {
    for (const personality of ['st-iap', 'lrz'] as YmodemPersonality[]) {
      const { path, data } = imageFile('6.0.0', 8 * 1024)
      const [host, dev] = memoryPair()
      const device = new YmodemDevice({ personality, requestIntervalMs: 200 })
      const served = device.attach(dev)
      // an earlier sender got as far as block 2, then died
      await host.readUntil(Buffer.from('C'), 3000)
      await host.write(buildHeaderBlock('old.bin', 8192, true))
      await host.readUntil(Buffer.from([0x06]), 3000)
      for (const n of [1, 2]) {
        await host.write(buildBlock(n, Buffer.alloc(1024, n), 1024, true))
        await host.readUntil(Buffer.from([0x06]), 3000)
      }
      host.discardInput()
      const logs: string[] = []
      await sendYmodem(host, { path, size: data.length, name: 'fw.bin' }, { log: (m) => logs.push(m), blockTimeoutMs: 3000 })
      expect(device.received.at(-1)!.data.equals(data), personality).toBe(true)
      await host.close()
      await dev.close()
      await served
    }
  }, 30_000)

  it('fails with a device error naming the missing start request when nobody answers', async () => {
    const { path, data } = imageFile('1.0.0', 300)
    const [host] = memoryPair()
    await expect(sendYmodem(host, { path, size: data.length, name: 'fw.bin' }, { startTimeoutMs: 400 })).rejects.toMatchObject({
      kind: 'device',
      code: 'ymodem-no-start'
    })
  })

  it('does not take a capital C inside menu text for a start request', async () => {
    const { path, data } = imageFile('1.0.0', 300)
    const [host, dev] = memoryPair()
    await dev.write(Buffer.from('Copyright ACME\r\n'))
    await expect(sendYmodem(host, { path, size: data.length, name: 'fw.bin' }, { startTimeoutMs: 400 })).rejects.toMatchObject({ code: 'ymodem-no-start' })
  })

  /** Plays a receiver through header, 1500 bytes and EOT; the end of batch is the caller's. */
  async function receiveUntilEot(dev: ReturnType<typeof memoryPair>[1]): Promise<void> {
    await dev.write(Uint8Array.of(0x43))
    await dev.read(133, 2000)
    await dev.write(Uint8Array.of(0x06, 0x43))
    for (let i = 0; i < 2; i++) (await dev.read(1029, 2000), await dev.write(Uint8Array.of(0x06))) // the 476-byte tail too: it is over 128
    expect((await dev.read(1, 2000))[0]).toBe(0x04)
    await dev.write(Uint8Array.of(0x06, 0x43))
  }

  it('keeps a boot banner that arrives in the same read as the final ACK for the version probe', async () => {
    const { path, data } = imageFile('2.0.0', 1500)
    const [host, dev] = memoryPair()
    // A receiver that jumps to the application at once: final ACK and banner in one write.
    const receiver = (async () => {
      await receiveUntilEot(dev)
      await dev.read(133, 2000) // end of batch
      await dev.write(Buffer.from('\x06\r\nbooting\r\nversion: 2.0.0\r\n'))
    })()
    const result = await sendYmodem(host, { path, size: data.length, name: 'fw.bin' }, { startTimeoutMs: 1000 })
    await receiver
    expect(result.bytesWritten).toBe(1500)
    expect(await probeVersion(host, { pattern: /version[: ]+(\S+)/, timeoutMs: 1000, alreadyReceived: result.bootLog })).toBe('2.0.0')
  })

  it('resends the end-of-batch block that an lrz-style receiver flushed after its C, until it is acknowledged', async () => {
    const { path, data } = imageFile('2.0.0', 1500)
    const [host, dev] = memoryPair()
    const log: string[] = []
    const receiver = (async () => {
      await receiveUntilEot(dev)
      const lost = await dev.read(133, 3000) // arrives while rb flushes its input: thrown away
      const resent = await dev.read(133, 3000)
      await dev.write(Uint8Array.of(0x06))
      return [lost, resent]
    })()
    await sendYmodem(host, { path, size: data.length, name: 'fw.bin' }, { startTimeoutMs: 1000, log: (m) => log.push(m) })
    const [lost, resent] = await receiver
    expect(resent.equals(lost!)).toBe(true)
    expect(resent.equals(buildHeaderBlock('', null, true))).toBe(true)
    expect(log).toContain('end-of-batch block: no answer, resending')
    expect(log.some((m) => m.includes('not acknowledged'))).toBe(false)
  })

  it('sends the end-of-batch block once to a device that boots instead of answering it, and keeps its banner', async () => {
    const { path, data } = imageFile('2.0.0', 1500)
    const [host, dev] = memoryPair()
    const receiver = (async () => {
      await receiveUntilEot(dev)
      await dev.read(133, 3000)
      await dev.write(Buffer.from('\r\nCopyright ACME\r\nversion: 2.0.0\r\n'))
    })()
    const result = await sendYmodem(host, { path, size: data.length, name: 'fw.bin' }, { startTimeoutMs: 1000 })
    await receiver
    await expect(dev.read(1, 2500)).rejects.toMatchObject({ code: 'timeout' }) // no second null block into the application
    expect(result.bootLog).toContain('Copyright ACME')
    expect(await probeVersion(host, { pattern: /version[: ]+(\S+)/, timeoutMs: 500, alreadyReceived: result.bootLog })).toBe('2.0.0')
  })
})

/** Runs a shell command to its end: resolves on 'close' (its output complete), kills it at the deadline. */
function sh(cmd: string, cwd: string, timeoutMs = 50_000): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn('sh', ['-c', cmd], { cwd, stdio: ['ignore', 'ignore', 'pipe'] })
    let stderr = ''
    p.stderr.on('data', (d) => (stderr += d))
    const timer = setTimeout(() => {
      p.kill('SIGKILL')
      reject(new Error(`"${cmd}" did not finish in ${timeoutMs} ms:\n${stderr}`))
    }, timeoutMs)
    p.on('error', (e) => (clearTimeout(timer), reject(e)))
    p.on('close', (code) => (clearTimeout(timer), resolve({ code, stderr })))
  })
}

/** Resolves with the device's next received file, or rejects after `ms`. */
function nextReceived(device: YmodemDevice, ms: number): Promise<ReceivedFile> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => (device.off('received', got), reject(new Error(`the simulated device received no file within ${ms} ms`))), ms)
    const got = (f: ReceivedFile) => (clearTimeout(timer), resolve(f))
    device.once('received', got)
  })
}

describe('YMODEM over a real pty with lrzsz as the peer', () => {
  let pair: PtyPair | undefined
  afterEach(async () => {
    await pair?.close()
    pair = undefined
  })

  it('our sender → lrzsz rb: the received file is byte-identical', async () => {
    pair = await ptyPair()
    const { path, data } = imageFile('4.2.0', 70_000 + 77)
    const out = tempDir()
    cleanups.push(out.cleanup)
    // open our side first: opening flushes the input, which would swallow rb's first 'C'
    const host = await SerialTransport.open({ path: pair.a, baudRate: 115200 })
    const rb = sh(`timeout 45 rb < ${pair.b} > ${pair.b}`, out.dir)
    try {
      await sendYmodem(host, { path, size: data.length, name: 'firmware-4.2.0.bin' }, { startTimeoutMs: 15_000 })
    } finally {
      await host.close()
    }
    const r = await rb
    expect(r.code, r.stderr).toBe(0)
    expect(readFileSync(join(out.dir, 'firmware-4.2.0.bin')).equals(data)).toBe(true)
  }, 60_000)

  // lrzsz sb as the sender, 128-byte blocks (plain --ymodem) and 1 KiB blocks (-k), into each personality.
  for (const [personality, blocks] of [
    ['lrz', '-k'],
    ['st-iap', ''],
    ['st-iap', '-k'],
    ['mico', ''],
    ['mico', '-k']
  ] as Array<[YmodemPersonality, string]>) {
    it(`lrzsz sb --ymodem ${blocks || '(128-byte blocks)'} → our ${personality} bootloader on a pty: exit 0, byte-identical, boots the new version`, async () => {
      pair = await ptyPair()
      const { path, data } = imageFile('5.0.1', 33_333)
      const devPort = await SerialTransport.open({ path: pair.b, baudRate: 115200 })
      const device = new YmodemDevice({ personality, requestIntervalMs: 1000 })
      const served = device.attach(devPort)
      try {
        if (personality === 'mico') {
          // choose "1:FWUPDATE" in the menu as a user would in a terminal, then leave the line to sb
          const host = await SerialTransport.open({ path: pair.a, baudRate: 115200 })
          try {
            await host.readUntil(/mico> /, 5000)
            await host.write(Buffer.from('1\r', 'latin1'))
            await host.readUntil(/Waiting for the file/, 5000)
          } finally {
            await host.close()
          }
        }
        const received = nextReceived(device, 50_000)
        received.catch(() => undefined)
        const sb = await sh(`timeout 45 sb --ymodem ${blocks} ${path} < ${pair.a} > ${pair.a}`, '/')
        expect(sb.code, sb.stderr).toBe(0)
        const file = await received
        expect(file.name).toBe('fw.bin')
        expect(file.size).toBe(data.length)
        expect(file.data.equals(data)).toBe(true)
        expect(findImageVersion(device.image)).toBe('5.0.1')
      } finally {
        await devPort.close()
        await served
      }
    }, 60_000)
  }
})
