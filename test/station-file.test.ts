import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { chmodSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import mqtt from 'mqtt'
import { afterAll, describe, expect, it } from 'vitest'
import { readStationFile } from '../main/engine/config/station-file'
import { hashBuffer } from '../main/engine/download/hashers'
import { makeFirmwareImage } from '../main/engine/sim/firmware-image'
import { startPackageServer } from '../main/engine/sim/package-server'
import { simTls } from '../main/engine/sim/tls'
import { YmodemDevice } from '../main/engine/sim/ymodem-device'
import { SerialTransport } from '../main/engine/transport/serial'
import { runCli } from './harness/cli'
import { startMosquitto } from './harness/mosquitto'
import { ptyPair } from './harness/pty'
import { tempDir } from './harness/tmp'

const work = tempDir()
afterAll(() => work.cleanup())
let n = 0

function station(content: unknown): string {
  const file = join(work.dir, `station-${++n}.json`)
  writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content, null, 2))
  return file
}

const secretFile = join(work.dir, 'gw.secret')
writeFileSync(secretFile, 's3cret\n', { mode: 0o600 })

const VALID = {
  version: 1,
  connections: [
    {
      platform: 'iotda',
      broker: 'mqtts://example.iotda-device.cn-north-4.myhuaweicloud.com:8883',
      iotda: { deviceId: 'gw01', secretFile },
      devices: [
        { id: 'gw01', port: '/dev/ttyUSB0', protocol: 'ymodem', baud: 115200, currentVersion: '1.0.0', menuCommand: '1\r', probe: { pattern: 'version: (\\S+)', timeoutSeconds: 20 } },
        { id: 'child_a', port: '/dev/ttyUSB1', protocol: 'ymodem', currentVersion: '0.9.0' },
        { id: 'child_b', port: '/dev/ttyACM0', protocol: 'mcuboot', currentVersion: '1.0.0.0', image: 1, mtu: 1024 }
      ]
    }
  ]
}

describe('station file validation', () => {
  it('reads a valid file into agent configurations (children = every device but the gateway)', () => {
    const [c] = readStationFile(station(VALID)).connections
    expect(c!.identity).toBe('iotda-gw01')
    expect(c!.devices.map((s) => [s.deviceId, s.port, s.currentVersion])).toEqual([
      ['gw01', '/dev/ttyUSB0', '1.0.0'],
      ['child_a', '/dev/ttyUSB1', '0.9.0'],
      ['child_b', '/dev/ttyACM0', '1.0.0.0']
    ])
    expect(c!.devices[2]!.options).toEqual({ image: 1, mtu: 1024 })
    expect(c!.devices[0]!.probe).toEqual({ pattern: 'version: (\\S+)', baud: undefined, timeoutMs: 20_000 })
    expect(c!.devices[0]!.options).toEqual({ menuCommand: '1\r' })
    expect(c!.iotda).toEqual({ deviceId: 'gw01', secret: 's3cret', cert: undefined, key: undefined, checkTimestamp: false })
  })

  const bad: Array<[string, (v: typeof VALID & Record<string, unknown>) => unknown, RegExp]> = [
    ['not JSON', () => '{"version": 1,', /not valid JSON/],
    ['missing version', (v) => ({ ...v, version: undefined }), /version: is required: 1/],
    ['unknown top-level field', (v) => ({ ...v, conections: [] }), /: conections: unknown field/],
    ['bad baud', (v) => (v.connections[0]!.devices[1] = { ...v.connections[0]!.devices[1]!, baud: 'fast' } as never, v), /connections\[0\]\.devices\[1\]\.baud: expected a whole number from 300 to 16000000, got "fast"/],
    ['bad protocol', (v) => ((v.connections[0]!.devices[0] as Record<string, unknown>)['protocol'] = 'xmodem', v), /connections\[0\]\.devices\[0\]\.protocol: expected one of ymodem, stm32, esp, mcuboot, got "xmodem"/],
    ['inline secret', (v) => ((v.connections[0]!.iotda as Record<string, unknown>)['secret'] = 'plain', v), /connections\[0\]\.iotda\.secret: secrets are not kept in the station file; use secretFile/],
    ['missing secret file', (v) => ((v.connections[0]!.iotda as Record<string, unknown>)['secretFile'] = 'nope.secret', v), /connections\[0\]\.iotda\.secretFile: cannot read .*nope\.secret: no such file/],
    ['duplicate device', (v) => (v.connections[0]!.devices[1]!.id = 'gw01', v), /connections\[0\]\.devices\[1\]\.id: device "gw01" is listed twice/],
    ['same port twice', (v) => (v.connections[0]!.devices[1]!.port = '/dev/ttyUSB0', v), /connections\[0\]\.devices\[1\]\.port: \/dev\/ttyUSB0 is already used by connections\[0\]\.devices\[0\]/],
    ['bad broker', (v) => (v.connections[0]!.broker = 'http://x', v), /connections\[0\]\.broker: must start with mqtt:\/\/ or mqtts:\/\//],
    ['missing platform section', (v) => ((v.connections[0] as Record<string, unknown>)['iotda'] = undefined, v), /connections\[0\]\.iotda: is required for platform iotda/],
    ['bad probe regex', (v) => (v.connections[0]!.devices[0]!.probe!.pattern = '(', v), /connections\[0\]\.devices\[0\]\.probe\.pattern: not a valid regular expression/],
    ['too small mtu', (v) => ((v.connections[0]!.devices[2] as Record<string, unknown>)['mtu'] = 64, v), /connections\[0\]\.devices\[2\]\.mtu: expected a whole number from 128 to 65535, got number 64/],
    ['empty devices', (v) => (v.connections[0]!.devices = [], v), /connections\[0\]\.devices: expected a non-empty array/],
    ['credentials in the broker URL', (v) => (v.connections[0]!.broker = 'mqtts://bob:hunter2@example.com:8883', v), /connections\[0\]\.broker: holds a user name or password; secrets are not kept in the station file/],
    [
      'two connections as the same device',
      (v) => (v.connections.push({ ...structuredClone(v.connections[0]!), devices: [{ id: 'gw01', port: '/dev/ttyUSB9', protocol: 'ymodem', currentVersion: '1' }] } as never), v),
      /connections\[1\]: connects as the same device as connections\[0\] \(iotda-gw01\); two connections with one identity would share a client id, a journal and an outbox/
    ],
    ['a CA file with no certificate', (v) => ((v.connections[0] as Record<string, unknown>)['ca'] = secretFile, v), /connections\[0\]\.ca: .*gw\.secret holds no PEM certificate/]
  ]
  for (const [what, mutate, message] of bad) {
    it(`rejects ${what} with the path of the field`, () => {
      const v = mutate(structuredClone(VALID) as typeof VALID & Record<string, unknown>)
      expect(() => readStationFile(station(v))).toThrow(message)
    })
  }

  it('refuses a dataDir that contradicts --data-dir, and warns about a secret file others can read', async () => {
    const v = { ...structuredClone(VALID), dataDir: '/var/lib/flashline' }
    const r = await runCli(['agent', '--config', station(v), '--data-dir', '/srv/other'])
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/dataDir: is \/var\/lib\/flashline, but --data-dir gives \/srv\/other; give it in one place/)
    expect(readStationFile(station(v)).dataDir).toBe('/var/lib/flashline')
    const warnings: string[] = []
    chmodSync(secretFile, 0o644)
    try {
      readStationFile(station(VALID), { warn: (m) => warnings.push(m) })
    } finally {
      chmodSync(secretFile, 0o600)
    }
    expect(warnings).toEqual([expect.stringMatching(/connections\[0\]\.iotda\.secretFile: .*gw\.secret can be read by other users \(mode 644\); restrict it with: chmod 600/)])
    warnings.length = 0
    readStationFile(station(VALID), { warn: (m) => warnings.push(m) })
    expect(warnings).toEqual([])
  })

  it('the CLI exits 2 with one line naming the field, and refuses mixing --config with device flags', async () => {
    const v = structuredClone(VALID)
    ;(v.connections[0]!.devices[1] as Record<string, unknown>)['baud'] = -5
    const r = await runCli(['agent', '--config', station(v)])
    expect(r.code).toBe(2)
    expect(r.stderr.trim().split('\n')).toHaveLength(1)
    expect(r.stderr).toMatch(/devices\[1\]\.baud/)
    const mixed = await runCli(['agent', '--config', station(VALID), '--port', '/dev/ttyUSB3'])
    expect(mixed.code).toBe(2)
    expect(mixed.stderr).toMatch(/--port cannot be combined with --config/)
  })
})

describe('station file end to end: a FogCloud gateway with three children on three ptys', () => {
  it('one sub.firmware.post batch → one download → three flashes → three sub.upgrade.post 100 and sub.version.post', async () => {
    const broker = await startMosquitto()
    const server = await startPackageServer({ tls: true })
    const caFile = join(work.dir, 'ca.pem')
    writeFileSync(caFile, simTls().ca)
    const benches = await Promise.all(
      [0, 1, 2].map(async (i) => {
        const pair = await ptyPair()
        const port = await SerialTransport.open({ path: pair.b, baudRate: 115200 })
        const device = new YmodemDevice({ personality: 'st-iap', version: '1.0.0', requestIntervalMs: 300 })
        const served = device.attach(port)
        return { id: `pk9/child${i}`, pair, device, close: async () => (await port.close(), await served, await pair.close()) }
      })
    )
    const cloud = await mqtt.connectAsync(broker.url, { clientId: 'cloud' })
    const seen: Array<{ method: string; params: unknown }> = []
    await cloud.subscribeAsync('fogcloud/pk9/gw/thing/up/ota', { qos: 1 })
    cloud.on('message', (_t, p) => seen.push(JSON.parse(p.toString())))
    process.env['FL_TEST_FOG_SECRET'] = 'sekret'
    const file = station({
      version: 1,
      connections: [
        {
          platform: 'fogcloud',
          broker: broker.url,
          ca: caFile,
          fogcloud: { productKey: 'pk9', deviceName: 'gw', deviceSecretEnv: 'FL_TEST_FOG_SECRET', module: 'mcu' },
          devices: benches.map((b) => ({ id: b.id, port: b.pair.a, protocol: 'ymodem', currentVersion: '1.0.0', probe: { pattern: 'version[: ]+(\\S+)' } }))
        }
      ]
    })
    const child = spawn(process.execPath, [join(__dirname, '..', 'bin', 'flashline.js'), 'agent', '--config', file, '--data-dir', join(work.dir, 'station-data'), '--json'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: process.env
    })
    let out = ''
    child.stdout.on('data', (d) => (out += d))
    child.stderr.on('data', (d) => (out += d))
    try {
      const until = async (ok: () => boolean, ms = 35_000) => {
        const t0 = Date.now()
        while (!ok()) {
          if (Date.now() - t0 > ms) throw new Error(`timed out; agent said:\n${out.slice(-3000)}\ncloud saw: ${JSON.stringify(seen).slice(-2000)}`)
          await new Promise((r) => setTimeout(r, 50))
        }
      }
      await until(() => seen.some((m) => m.method === 'sub.version.post'))
      expect((seen.find((m) => m.method === 'sub.version.post')!.params as unknown[]).length).toBe(3)
      const fw = makeFirmwareImage({ version: '2.0.0', size: 20_000, seed: 12 })
      const d = hashBuffer(fw)
      const { url } = server.addPackage('gw/fw-2.0.0.bin', fw, {})
      const batch = {
        id: 99,
        version: '1.0',
        method: 'sub.firmware.post',
        params: [0, 1, 2].map((i) => ({ identity: { product_key: 'pk9', device_name: `child${i}` }, size: fw.length, sign: d.md5, version: '2.0.0', url, sign_method: 'MD5', checksum: d.sum32, module: 'mcu', desc: 'string', task_id: '555' }))
      }
      await cloud.publishAsync('fogcloud/pk9/gw/thing/down/ota', JSON.stringify(batch), { qos: 1 })
      const done = () => seen.filter((m) => m.method === 'sub.version.post' && JSON.stringify(m.params).includes('2.0.0'))
      await until(() => done().length === 3)
      for (const b of benches) expect(b.device.image.equals(fw), b.id).toBe(true)
      const finals = seen.filter((m) => m.method === 'sub.upgrade.post').flatMap((m) => m.params as Array<{ identity: { device_name: string }; step: number; task_id: string }>).filter((p) => p.step === 100)
      expect(finals.map((p) => p.identity.device_name).sort()).toEqual(['child0', 'child1', 'child2'])
      expect(finals.every((p) => p.task_id === '555')).toBe(true)
      expect(server.requests.filter((r) => r.path.endsWith('fw-2.0.0.bin'))).toHaveLength(1)
      expect(createHash('md5').update(benches[0]!.device.image).digest('hex')).toBe(d.md5)
    } finally {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r))
        child.kill('SIGINT')
        const t = setTimeout(() => child.kill('SIGKILL'), 5000)
        await exited
        clearTimeout(t)
      }
      await cloud.endAsync()
      for (const b of benches) await b.close()
      await server.close()
      await broker.close()
    }
  }, 90_000)
})
