/** MCUboot serial recovery (SMP over the console): imgtool fixtures, SMP vectors from MCUboot/Zephyr, our flasher against the simulator over ptys, the CLI. */
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { chunkLength, flashMcuboot } from '../main/engine/flash/mcuboot'
import { listedVersionMatches, mcubootImageIntact, parseMcubootImage } from '../main/engine/flash/mcuboot-image'
import { probeVersion } from '../main/engine/flash/probe'
import { decodeSmpHeader, frameLines, packetOf, smpMessage, SmpLineDecoder, smpPayload } from '../main/engine/flash/smp'
import { validateImage } from '../main/engine/sim/bootutil-image'
import { makeFirmwareImage } from '../main/engine/sim/firmware-image'
import { buildMcubootImage } from '../main/engine/sim/imgtool-image'
import { McubootDevice, type McubootDeviceOptions } from '../main/engine/sim/mcuboot-device'
import { memoryPair } from '../main/engine/transport/memory'
import { SerialTransport } from '../main/engine/transport/serial'
import type { Transport } from '../main/engine/transport/transport'
import { crc16xmodem } from '../main/engine/util/crc16'
import { APP_A, APP_B, APP_C, C_SEC_CNT_VALUE_AT, HASH_A, HASH_B, HASH_C, hex, IMAGE_A, IMAGE_B, IMAGE_C } from './fixtures/imgtool-images'
import { jsonEvents, runCli } from './harness/cli'
import { ptyPair } from './harness/pty'
import { tempDir } from './harness/tmp'

const work = tempDir()
afterAll(() => work.cleanup())

function signed(version: string, size: number, seed = 1): { path: string; data: Buffer } {
  const [major, minor, revision] = version.split('.').map(Number)
  const data = buildMcubootImage(makeFirmwareImage({ version, size, seed }), { major: major!, minor: minor!, revision: revision! })
  return { path: save(`app-${version}-${size}-${seed}.signed.bin`, data), data }
}

function save(name: string, data: Buffer): string {
  const path = join(work.dir, name)
  writeFileSync(path, data)
  return path
}

async function board(options: McubootDeviceOptions = {}) {
  const pair = await ptyPair()
  const port = await SerialTransport.open({ path: pair.b, baudRate: 115200 })
  const device = new McubootDevice(options)
  const served = device.attach(port)
  const host = await SerialTransport.open({ path: pair.a, baudRate: 115200 })
  return {
    pair,
    device,
    host,
    close: async () => {
      await host.close()
      await port.close()
      await served
      await pair.close()
    }
  }
}

/** A console line: marker, base64 text, '\n'. */
function line(marker: 'start' | 'more', base64: string): Buffer {
  return Buffer.concat([marker === 'start' ? Buffer.of(0x06, 0x09) : Buffer.of(0x04, 0x14), Buffer.from(base64, 'latin1'), Buffer.of(0x0a)])
}

/** Sends `request` to a simulator on an in-memory link and returns the first framed answer (its lines, exactly as sent). */
async function exchange(device: McubootDevice, request: Buffer, expectedLength: number): Promise<Buffer> {
  const [host, dev] = memoryPair('host', 'device')
  const served = device.attach(dev)
  try {
    await host.write(request)
    let got = Buffer.alloc(0)
    const deadline = Date.now() + 3000
    for (;;) {
      const at = got.indexOf(Buffer.of(0x06, 0x09))
      if (at >= 0 && got.length - at >= expectedLength) return got.subarray(at, at + expectedLength)
      const left = deadline - Date.now()
      if (left <= 0) throw new Error(`no complete answer within 3 s; received ${JSON.stringify(got.toString('latin1'))}`)
      got = Buffer.concat([got, await readOrNothing(host, left)])
    }
  } finally {
    await host.close()
    await dev.close()
    await served
  }
}

async function readOrNothing(t: Transport, ms: number): Promise<Buffer> {
  try {
    return Buffer.from(await t.readSome(ms))
  } catch (e) {
    if ((e as { code?: string }).code === 'timeout') return Buffer.alloc(0)
    throw e
  }
}

describe('SMP console framing of the flasher', () => {
  it('frames the echo request {"d":"hi"} exactly as the reference vector', () => {
    // Body, CRC and line checked with Python: binascii.crc_hqx(body, 0) == 0x0917 (CRC-16/XMODEM) and
    // base64.b64encode(len + body + crc) == b'ABACAAAGAAAAAKFhZGJoaQkX'; framing per MCUboot boot_serial.c.
    expect(crc16xmodem(Buffer.from('123456789'))).toBe(0x31c3)
    const body = smpMessage({ op: 2, group: 0, seq: 0, id: 0 }, { d: 'hi' })
    expect(body.toString('hex')).toBe('0200000600000000a16164626869')
    expect(packetOf(body).subarray(-2).toString('hex')).toBe('0917')
    expect(Buffer.concat(frameLines(body))).toEqual(line('start', 'ABACAAAGAAAAAKFhZGJoaQkX'))
  })

  it('splits long packets into ≤127-byte lines with continuation markers and reassembles them', () => {
    const body = smpMessage({ op: 2, group: 1, seq: 7, id: 1 }, { off: 0, data: Buffer.alloc(300, 0xa5) })
    const lines = frameLines(body)
    expect(lines.length).toBeGreaterThan(3)
    expect(lines.every((l) => l.length <= 127 && l.at(-1) === 0x0a)).toBe(true)
    expect(lines[0]!.subarray(0, 2)).toEqual(Buffer.of(0x06, 0x09))
    expect(lines.slice(1).every((l) => l[0] === 0x04 && l[1] === 0x14)).toBe(true)
    const got: Buffer[] = []
    const text: string[] = []
    const d = new SmpLineDecoder((p) => got.push(p), { onText: (l) => text.push(l) })
    const all = Buffer.concat([Buffer.from('boot banner\r\n'), ...lines])
    for (let i = 0; i < all.length; i += 7) d.push(all.subarray(i, i + 7)) // arbitrary read boundaries
    expect(got).toHaveLength(1)
    expect(decodeSmpHeader(got[0]!)).toMatchObject({ op: 2, group: 1, seq: 7, id: 1 })
    expect(smpPayload(got[0]!)).toEqual({ off: 0, data: Buffer.alloc(300, 0xa5) })
    expect(text).toEqual(['boot banner'])
  })

  it('decodes a two-line Zephyr image list answer with indefinite-length CBOR', () => {
    // img_mgmt_state_read/img_mgmt_state_encode_slot (Zephyr subsys/mgmt/mcumgr/grp/img_mgmt/src/img_mgmt_state.c)
    // for fixture A, written with zcbor without ZCBOR_CANONICAL (0xbf … 0xff); CRC and base64 by Python.
    const got: Buffer[] = []
    const d = new SmpLineDecoder((p) => got.push(p))
    d.push(line('start', 'AJABAACGAAFCAL9maW1hZ2Vzn79kc2xvdABndmVyc2lvbmUxLjIuM2RoYXNoWCB6agboOfKcpNNy4Ilg89YzdjDEtFLN2RCFnWsu3P5wDWhib290YWJsZfVncGVu'))
    d.push(line('more', 'ZGluZ/RpY29uZmlybWVk9WZhY3RpdmX1aXBlcm1hbmVudPT//2tzcGxpdFN0YXR1cwD/+0Y='))
    expect(got).toHaveLength(1)
    expect(decodeSmpHeader(got[0]!)).toMatchObject({ op: 1, group: 1, seq: 0x42, id: 0 })
    const answer = smpPayload(got[0]!)
    expect(answer).toEqual({ images: [{ slot: 0, version: '1.2.3', hash: HASH_A, bootable: true, pending: false, confirmed: true, active: true, permanent: false }], splitStatus: 0 })
    expect(listedVersionMatches((answer!['images'] as Array<Record<string, unknown>>)[0]!['version'], parseMcubootImage(IMAGE_A)!.versionNumbers)).toBe(true)
  })

  it('drops a packet with a bad CRC or larger than the receive buffer, as MCUboot does (no answer)', () => {
    const got: Buffer[] = []
    const drops: string[] = []
    const d = new SmpLineDecoder((p) => got.push(p), { maxPacket: 512, onDrop: (w) => drops.push(w) })
    const echo = Buffer.concat(frameLines(smpMessage({ op: 2, group: 0, seq: 0, id: 0 }, { d: 'hi' })))
    const bad = Buffer.from(echo)
    bad[10] = bad[10] === 0x41 ? 0x42 : 0x41
    d.push(bad)
    d.push(Buffer.concat(frameLines(smpMessage({ op: 2, group: 1, seq: 1, id: 1 }, { data: Buffer.alloc(600) }))))
    d.push(echo)
    expect(got).toHaveLength(1)
    expect(drops).toEqual([expect.stringMatching(/CRC/), expect.stringMatching(/512-byte receive buffer/)])
  })

  it('sizes upload chunks so the decoded request fits the MTU, in 16-byte units', () => {
    for (const mtu of [256, 512, 2048]) {
      const sha = Buffer.alloc(32)
      const first = chunkLength(mtu, { image: 0, len: 100_000, off: 0, sha })
      const next = chunkLength(mtu, { off: 100_000 })
      expect(packetOf(smpMessage({ op: 2, group: 1, seq: 0, id: 1 }, { image: 0, len: 100_000, off: 0, sha, data: Buffer.alloc(first) })).length).toBeLessThanOrEqual(mtu)
      expect(packetOf(smpMessage({ op: 2, group: 1, seq: 0, id: 1 }, { off: 99_000, data: Buffer.alloc(next) })).length).toBeLessThanOrEqual(mtu)
      expect(first % 16 + next % 16).toBe(0)
      expect(mtu - packetOf(smpMessage({ op: 2, group: 1, seq: 0, id: 1 }, { off: 99_000, data: Buffer.alloc(next) })).length).toBeLessThan(32)
    }
  })
})

describe('the flasher reads images as imgtool writes them', () => {
  it('--header-size 0x200, build 0: version "1.2.3" as MCUboot lists it, SHA-256 TLV intact', () => {
    expect(parseMcubootImage(IMAGE_A)).toMatchObject({ version: '1.2.3', versionNumbers: { major: 1, minor: 2, revision: 3, build: 0 }, headerSize: 0x200, protectedTlvSize: 0, imageSize: 32, hash: HASH_A })
    expect(mcubootImageIntact(IMAGE_A)).toBe(true)
    const broken = Buffer.from(IMAGE_A)
    broken[0x200 + 3] ^= 1
    expect(mcubootImageIntact(broken)).toBe(false)
    expect(parseMcubootImage(Buffer.alloc(64))).toBeNull()
  })

  it('a non-zero build number: "1.2.3.4"', () => {
    expect(parseMcubootImage(IMAGE_B)).toMatchObject({ version: '1.2.3.4', versionNumbers: { major: 1, minor: 2, revision: 3, build: 4 }, headerSize: 0x20, hash: HASH_B })
    expect(mcubootImageIntact(IMAGE_B)).toBe(true)
  })

  it('protected TLVs (security counter): the hash covers them, and a broken protected area is named', () => {
    expect(parseMcubootImage(IMAGE_C)).toMatchObject({ version: '2.0.0', protectedTlvSize: 12, imageSize: 32, hash: HASH_C })
    expect(parseMcubootImage(IMAGE_C)!.tlvProblem).toBeUndefined()
    expect(mcubootImageIntact(IMAGE_C)).toBe(true)
    const counter = Buffer.from(IMAGE_C)
    counter[C_SEC_CNT_VALUE_AT] = 8 // a protected value changed: the hash no longer matches
    expect(mcubootImageIntact(counter)).toBe(false)
    const size = Buffer.from(IMAGE_C)
    size.writeUInt16LE(16, 10) // header's protect_tlv_size disagrees with the area's total
    expect(parseMcubootImage(size)?.tlvProblem).toMatch(/protected TLV area is 12 bytes but the header says 16/)
    expect(mcubootImageIntact(size)).toBe(false)
  })

  it('compares a listed version with the header by number, never as text', () => {
    const a = parseMcubootImage(IMAGE_A)!.versionNumbers
    const b = parseMcubootImage(IMAGE_B)!.versionNumbers
    expect(listedVersionMatches('1.2.3', a)).toBe(true) // MCUboot bs_list_img_ver, Zephyr img_mgmt_ver_str
    expect(listedVersionMatches('1.2.3.0', a)).toBe(true) // an older responder that always prints the build
    expect(listedVersionMatches('1.2.3.4', b)).toBe(true)
    expect(listedVersionMatches('1.2.3', b)).toBe(false)
    expect(listedVersionMatches('1.2.4', a)).toBe(false)
    expect(listedVersionMatches('01.2.3x', a)).toBe(false)
    expect(listedVersionMatches(undefined, a)).toBe(false)
  })
})

describe('the simulator is independent of the flasher', () => {
  it('builds images byte for byte as imgtool does (header sizes, build numbers, protected TLVs)', () => {
    expect(buildMcubootImage(APP_A, { major: 1, minor: 2, revision: 3 }, { headerSize: 0x200 })).toEqual(IMAGE_A)
    expect(buildMcubootImage(APP_B, { major: 1, minor: 2, revision: 3, build: 4 })).toEqual(IMAGE_B)
    expect(buildMcubootImage(APP_C, { major: 2, minor: 0, revision: 0 }, { securityCounter: 7 })).toEqual(IMAGE_C)
  })

  it('validates as bootutil does: the SHA-256 covers the protected TLVs, and their size must match the header', () => {
    expect(validateImage(IMAGE_C)).toMatchObject({ ok: true, hash: HASH_C, end: IMAGE_C.length })
    const counter = Buffer.from(IMAGE_C)
    counter[C_SEC_CNT_VALUE_AT] = 8
    expect(validateImage(counter)).toEqual({ ok: false, why: 'SHA-256 TLV does not match the image' })
    const size = Buffer.from(IMAGE_C)
    size.writeUInt16LE(0, 10) // protected area present but not announced: bootutil_tlv_iter_begin refuses
    expect(validateImage(size)).toMatchObject({ ok: false, why: expect.stringMatching(/TLV area malformed/) })
    expect(validateImage(IMAGE_A)).toMatchObject({ ok: true, hash: HASH_A })
  })

  it("answers MCUboot's own upload test vector (boot/boot_serial/test/src/testcases/boot_serial_img_msg.c)", async () => {
    // Request: nmgr_hdr {op 2, len 38, group 1, id 1} + {"data": 16 × a5, "len": 71912, "off": 0} from the test;
    // answer per bs_upload: {"rc": 0, "off": 16}, zcbor non-canonical. CRC and base64 by Python.
    const device = new McubootDevice()
    const expected = line('start', 'ABUDAAALAAEAAb9icmMAY29mZhD/FDA=')
    expect(await exchange(device, line('start', 'ADACAAAmAAEAAaNkZGF0YVgQpaWlpaWlpaWlpaWlpaWlpWNsZW4aAAEU6GNvZmYAkCY='), expected.length)).toEqual(expected)
    expect(hex('0300000b00010001bf62726300636f666610ff')).toEqual(Buffer.from('ABUDAAALAAEAAb9icmMAY29mZhD/FDA=', 'base64').subarray(2, -2))
    expect(device.slot.subarray(0, 16)).toEqual(Buffer.alloc(16, 0xa5)) // what the MCUboot test reads back
    expect(device.slot.subarray(16, 32)).toEqual(Buffer.alloc(16, 0xff))
  })

  it('answers an upload whose payload is not CBOR (boot_serial_empty_img_msg.c sends "{}") with rc 3', async () => {
    const expected = line('start', 'ABADAAAGAAEAAb9icmMD/2pg') // 03 00 00 06 00 01 00 01 | bf "rc" 3 ff
    expect(await exchange(new McubootDevice(), line('start', 'AAwCAAACAAEAAXt9WJE='), expected.length)).toEqual(expected)
  })

  it("answers Zephyr's echo test vector byte for byte (tests/subsys/mgmt/mcumgr/os_mgmt_echo)", async () => {
    // command[] and expected_response[] from that test, framed for the console (CRC and base64 by Python)
    const device = new McubootDevice({ personality: 'zephyr' })
    const expected = line('start', 'ADgDAAAuAAABAL9hcngoc2hvcnQgTUNVTUdSIHRlc3QgYXBwbGljYXRpb24gbWVzc2FnZS4uLv9k0A==')
    expect(await exchange(device, line('start', 'ADgCAAAuAAABAL9hZHgoc2hvcnQgTUNVTUdSIHRlc3QgYXBwbGljYXRpb24gbWVzc2FnZS4uLv9Gug=='), expected.length)).toEqual(expected)
  })

  it('lists images as MCUboot does: {"images": [{"slot", "hash", "version"}]}, ".build" only when not 0', async () => {
    // boot_serial.c bs_list with IMG_GRP_HASH (Zephyr's default) and bs_list_img_ver; request {} with seq 0x42
    const cases: Array<[Buffer, string]> = [
      [IMAGE_A, 'AFIBAABIAAFCAL9maW1hZ2Vzn79kc2xvdABkaGFzaFggemoG6DnynKTTcuCJYPPWM3YwxLRSzdkQhZ1rLtz+cA1ndmVyc2lvbmUxLjIuM////8pK'], // "1.2.3"
      [IMAGE_B, 'AFQBAABKAAFCAL9maW1hZ2Vzn79kc2xvdABkaGFzaFggc9/M6yYN/n8KYFc+vzeA776zhAiwQ56Ad+B17kAkPVFndmVyc2lvbmcxLjIuMy40////TwM='] // "1.2.3.4"
    ]
    for (const [image, answer] of cases) {
      const device = new McubootDevice()
      device.slot.fill(0xff)
      image.copy(device.slot)
      const expected = line('start', answer)
      expect(await exchange(device, line('start', 'AAsAAAABAAFCAKD1Mw=='), expected.length)).toEqual(expected)
    }
  })

  it('lists a build-0 image as Zephyr img_mgmt does: "1.2.3", flags, splitStatus (two lines)', async () => {
    const device = new McubootDevice({ personality: 'zephyr' })
    device.slot.fill(0xff)
    IMAGE_A.copy(device.slot)
    const expected = Buffer.concat([
      line('start', 'AJABAACGAAFCAL9maW1hZ2Vzn79kc2xvdABndmVyc2lvbmUxLjIuM2RoYXNoWCB6agboOfKcpNNy4Ilg89YzdjDEtFLN2RCFnWsu3P5wDWhib290YWJsZfVncGVu'),
      line('more', 'ZGluZ/RpY29uZmlybWVk9WZhY3RpdmX1aXBlcm1hbmVudPT//2tzcGxpdFN0YXR1cwD/+0Y=')
    ])
    expect(await exchange(device, line('start', 'AAsAAAABAAFCAKD1Mw=='), expected.length)).toEqual(expected)
  })

  it('leaves out of the list, and refuses to boot, an image whose protected TLVs were altered', async () => {
    const device = new McubootDevice()
    device.slot.fill(0xff)
    IMAGE_C.copy(device.slot)
    device.slot[C_SEC_CNT_VALUE_AT] = 8
    // {"images": []} (01 00 00 0b 00 01 42 00 | bf "images" 9f ff ff): bs_list skips a slot that bootutil_img_validate refuses
    const expected = line('start', 'ABUBAAALAAFCAL9maW1hZ2Vzn///nvQ=')
    expect(await exchange(device, line('start', 'AAsAAAABAAFCAKD1Mw=='), expected.length)).toEqual(expected)
    expect(device.image).toBeNull()
  })
})

describe('our MCUboot flasher against the simulated serial recovery on a pty', () => {
  it('uploads, verifies the slot through the image list, resets, and the app banner shows the new version', async () => {
    const b = await board({ writeAlign: 32 }) // chunk tails that are not whole write units are asked for again
    try {
      const img = signed('2.0.0', 40_000)
      const r = await flashMcuboot(b.host, { path: img.path, size: img.data.length, name: 'app.signed.bin' }, {})
      expect(b.device.image?.equals(img.data)).toBe(true)
      expect(r).toMatchObject({ bytesWritten: img.data.length, verified: 'device', identity: { protocol: 'mcuboot', details: { version: '2.0.0', previousVersion: '1.0.0', hashChecked: true, mtu: 512 } } })
      expect(b.device.resets).toBe(1)
      expect(await probeVersion(b.host, { pattern: /version[: ]+(\S+)/, timeoutMs: 3000, alreadyReceived: r.bootLog })).toBe('2.0.0')
    } finally {
      await b.close()
    }
  })

  it('flashes an imgtool image with a 0x200-byte header and build 0: the device lists "1.2.3" and that is the file\'s version', async () => {
    const b = await board()
    try {
      const path = save('a-0x200.signed.bin', IMAGE_A)
      const r = await flashMcuboot(b.host, { path, size: IMAGE_A.length, name: 'a-0x200.signed.bin' }, {})
      expect(b.device.image).toEqual(IMAGE_A)
      expect(r.identity).toMatchObject({ protocol: 'mcuboot', details: { version: '1.2.3', hashChecked: true } })
      expect(await probeVersion(b.host, { pattern: /version[: ]+(\S+)/, timeoutMs: 3000, alreadyReceived: r.bootLog })).toBe('1.2.3')
    } finally {
      await b.close()
    }
  })

  it('flashes images with a build number and with protected TLVs to a Zephyr SMP server', async () => {
    const b = await board({ personality: 'zephyr' })
    try {
      for (const [name, data, version] of [['b.signed.bin', IMAGE_B, '1.2.3.4'], ['c.signed.bin', IMAGE_C, '2.0.0']] as const) {
        const path = save(name, data)
        const r = await flashMcuboot(b.host, { path, size: data.length, name }, {})
        expect(b.device.image).toEqual(data)
        expect(r.identity?.details).toMatchObject({ version, hashChecked: true })
      }
    } finally {
      await b.close()
    }
  })

  it('uses the larger buffer a Zephyr SMP server reports, and resends a chunk whose answer was lost', async () => {
    const big = await board({ personality: 'zephyr', receiveBuffer: 2048, dropUploads: [3] })
    try {
      const img = signed('3.1.0', 30_000, 2)
      const r = await flashMcuboot(big.host, { path: img.path, size: img.data.length, name: 'a.bin' }, { timeoutMs: 1000 })
      expect(r.identity?.details?.['mtu']).toBe(2048)
      expect(big.device.image?.equals(img.data)).toBe(true)
      const log = big.device.uploadLog
      // Every chunk but the file's last carries more data than a 512-byte packet could hold.
      expect(log.filter((u) => u.off + u.length < img.data.length).every((u) => u.length > 512)).toBe(true)
      // The third request was lost on the line; its chunk still reached the device in a request that was not.
      const lost = log[2]!
      expect(lost.dropped).toBe(true)
      expect(log.some((u) => u.off === lost.off && u.length > 0 && !u.dropped)).toBe(true)
    } finally {
      await big.close()
    }
  })

  it('resumes an interrupted upload where a Zephyr SMP server left off (same sha), instead of starting over', async () => {
    const b = await board({ personality: 'zephyr', receiveBuffer: 512 })
    try {
      const img = signed('6.0.0', 60_000, 6)
      const abort = new AbortController()
      await expect(
        flashMcuboot(b.host, { path: img.path, size: img.data.length, name: 'a.bin' }, { signal: abort.signal, onProgress: (p) => p.stage === 'write' && p.done > img.data.length / 2 && abort.abort() })
      ).rejects.toMatchObject({ kind: 'interrupted' })
      const leftOff = b.device.uploadState.off
      expect(leftOff).toBeGreaterThan(img.data.length / 2)
      expect(b.device.erases).toBe(1)
      const firstRun = b.device.uploadLog.length
      const r = await flashMcuboot(b.host, { path: img.path, size: img.data.length, name: 'a.bin' }, {})
      expect(r.bytesWritten).toBe(img.data.length)
      expect(b.device.image?.equals(img.data)).toBe(true)
      // The second run asks at offset 0 (with the sha), is told where the device stands, and goes on from there.
      expect(b.device.erases).toBe(1)
      const second = b.device.uploadLog.slice(firstRun)
      expect(second[0]!.off).toBe(0)
      expect(second.slice(1).every((u) => u.off >= leftOff)).toBe(true)
    } finally {
      await b.close()
    }
  })

  it('refuses an image larger than the slot with a clear device error and leaves the old image bootable', async () => {
    const b = await board({ slotSize: 16 * 1024 })
    try {
      const img = signed('9.0.0', 20_000, 3)
      await expect(flashMcuboot(b.host, { path: img.path, size: img.data.length, name: 'big.bin' }, {})).rejects.toMatchObject({ kind: 'device', code: 'image-too-large' })
      expect(b.device.image && parseMcubootImage(b.device.image)?.version).toBe('1.0.0')
    } finally {
      await b.close()
    }
  })

  it('refuses a file that is not an MCUboot image, or whose TLVs MCUboot would refuse, before talking to the device (integrity)', async () => {
    const b = await board()
    try {
      const path = save('raw.bin', makeFirmwareImage({ version: '2.0.0', size: 4000 }))
      await expect(flashMcuboot(b.host, { path, size: 4000, name: 'raw.bin' }, {})).rejects.toMatchObject({ kind: 'integrity', code: 'not-mcuboot-image', message: expect.stringMatching(/imgtool/) })
      const bad = Buffer.from(IMAGE_C)
      bad.writeUInt16LE(16, 10)
      const badPath = save('bad-prot.bin', bad)
      await expect(flashMcuboot(b.host, { path: badPath, size: bad.length, name: 'bad-prot.bin' }, {})).rejects.toMatchObject({ kind: 'integrity', code: 'mcuboot-tlv', message: expect.stringMatching(/protected TLV/) })
      expect(b.device.uploads).toBe(0)
    } finally {
      await b.close()
    }
  })

  it('explains a silent port instead of hanging (no SMP answer)', async () => {
    const pair = await ptyPair()
    const host = await SerialTransport.open({ path: pair.a, baudRate: 115200 })
    try {
      const img = signed('2.0.0', 1000)
      await expect(flashMcuboot(host, { path: img.path, size: img.data.length, name: 'a.bin' }, { timeoutMs: 300 })).rejects.toMatchObject({ kind: 'device', code: 'smp-no-answer', message: expect.stringMatching(/serial recovery/) })
    } finally {
      await host.close()
      await pair.close()
    }
  })
})

describe('flashline flash --protocol mcuboot', () => {
  it('flashes a signed image onto a pty board (falling back from a too-large --mtu) and probes the new version; exit 5 when it does not fit', async () => {
    const b = await board({ slotSize: 64 * 1024 })
    await b.host.close() // the CLI opens the host side itself
    try {
      const img = signed('4.2.0', 25_000, 4)
      const r = await runCli(['flash', '--port', b.pair.a, '--protocol', 'mcuboot', '--file', img.path, '--mtu', '1024', '--probe', 'version[: ]+(\\S+)', '--json'])
      expect(r.code, r.stderr + r.stdout).toBe(0)
      expect(b.device.image?.equals(img.data)).toBe(true)
      const done = jsonEvents(r.stdout).find((e) => e.type === 'flash-done')
      // MCUboot's 512-byte buffer silently drops bigger packets: the flasher notices and falls back
      expect(done).toMatchObject({ version: '4.2.0', identity: { details: { mtu: 512 } } })
      const big = signed('5.0.0', 70_000, 5)
      const r2 = await runCli(['flash', '--port', b.pair.a, '--protocol', 'mcuboot', '--file', big.path])
      expect(r2.code).toBe(5)
      expect(r2.stderr).toMatch(/do not fit/)
      const bad = await runCli(['flash', '--port', b.pair.a, '--protocol', 'mcuboot', '--file', img.path, '--mtu', '12'])
      expect(bad.code).toBe(2)
      expect(bad.stderr).toMatch(/--mtu/)
    } finally {
      await b.close()
    }
  })

  it('flashes an `imgtool sign --header-size 0x200` build-0 image and reports its version', async () => {
    const b = await board()
    await b.host.close()
    try {
      const path = save('cli-a-0x200.signed.bin', IMAGE_A)
      const r = await runCli(['flash', '--port', b.pair.a, '--protocol', 'mcuboot', '--file', path, '--probe', 'version[: ]+(\\S+)', '--json'])
      expect(r.code, r.stderr + r.stdout).toBe(0)
      expect(b.device.image).toEqual(IMAGE_A)
      const done = jsonEvents(r.stdout).find((e) => e.type === 'flash-done')
      expect(done).toMatchObject({ version: '1.2.3', identity: { protocol: 'mcuboot', details: { version: '1.2.3' } } })
    } finally {
      await b.close()
    }
  })
})
