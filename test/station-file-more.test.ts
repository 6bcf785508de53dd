/**
 * The station file beyond one IoTDA connection: several connections in one file (README "Station
 * file"), the FogCloud and Wudun sections, secrets by file or environment variable, X.509 files,
 * paths relative to the file, the per-device flashing fields, and one real run of a two-connection
 * station (IoTDA + Wudun on one mosquitto, each flashing a YMODEM board behind a pty).
 */
import { spawn } from 'node:child_process'
import { createHmac } from 'node:crypto'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import type { ConnectionConfig } from '../main/engine/config/connection'
import { readStationFile } from '../main/engine/config/station-file'
import { createAdapter } from '../main/engine/platforms'
import type { AdapterContext } from '../main/engine/platforms/adapter'
import { makeFirmwareImage } from '../main/engine/sim/firmware-image'
import { IotdaCloud } from '../main/engine/sim/iotda-cloud'
import { startPackageServer } from '../main/engine/sim/package-server'
import { simTls } from '../main/engine/sim/tls'
import { WudunCloud } from '../main/engine/sim/wudun-cloud'
import { YmodemDevice } from '../main/engine/sim/ymodem-device'
import { SerialTransport } from '../main/engine/transport/serial'
import { startMosquitto } from './harness/mosquitto'
import { ptyPair } from './harness/pty'
import { followCli, runCli } from './harness/cli'
import { tempDir } from './harness/tmp'

const work = tempDir()
afterAll(() => work.cleanup())

/** A folder holding a station file and the files it names; the tests load it from elsewhere. */
function stationDir(name: string, files: Record<string, string> = {}): { dir: string; write: (content: unknown) => string } {
  const dir = join(work.dir, name)
  mkdirSync(dir, { recursive: true })
  for (const [f, text] of Object.entries(files)) writeFileSync(join(dir, f), text, { mode: 0o600 })
  let n = 0
  return {
    dir,
    write: (content) => {
      const file = join(dir, `station-${++n}.json`)
      writeFileSync(file, JSON.stringify(content, null, 2))
      return file
    }
  }
}

/** A connection with the adapter the engine makes from it, and its devices under the names these tests use. */
const withAdapter = (c: ConnectionConfig) => ({ ...c, brokerUrl: c.broker, adapter: createAdapter(c), slots: c.devices.map((d) => ({ ...d, protocolOptions: d.options })) })
const load = (file: string) => readStationFile(file).connections.map(withAdapter)
const ctx = (versions: Record<string, string>): AdapterContext => ({ now: () => new Date(Date.UTC(2025, 4, 6, 7, 8, 9)), currentVersion: (id: string) => versions[id] }) as unknown as AdapterContext

/** Huawei IoTDA, "Device connection authentication" (MQTT CONNECT): HMAC-SHA256 keyed by the yyyyMMddHH timestamp, over the secret. */
const iotdaPassword = (secret: string, stamp: string) => createHmac('sha256', stamp).update(secret).digest('hex')

/** The README "Station file" example, with its relative files next to it. */
function readmeExample(env: string) {
  return {
    version: 1,
    connections: [
      {
        platform: 'iotda',
        broker: 'mqtts://xxxx.st1.iotda-device.cn-north-4.myhuaweicloud.com:8883',
        ca: 'huawei-roots.pem',
        iotda: { deviceId: 'gw01', secretFile: 'gw01.secret', checkTimestamp: false },
        devices: [
          { id: 'gw01', port: '/dev/ttyUSB0', protocol: 'ymodem', baud: 115200, currentVersion: '1.0.0', menuCommand: '1\r', probe: { pattern: 'version[: ]+(\\S+)', timeoutSeconds: 15 } },
          { id: 'child_a', port: '/dev/ttyUSB1', protocol: 'ymodem', currentVersion: '0.9.0' }
        ]
      },
      {
        platform: 'fogcloud',
        broker: 'mqtts://app.mqtt.fogcloud.io:8883',
        fogcloud: { productKey: 'PK', deviceName: 'gw', deviceSecretEnv: env, module: 'mcu' },
        devices: [{ id: 'PK/child1', port: 'COM7', protocol: 'ymodem', currentVersion: '1.0.0' }]
      },
      {
        platform: 'wudun',
        broker: 'mqtts://broker.customer.example:8883',
        username: 'ems01',
        passwordFile: 'ems01.password',
        wudun: { deviceUid: 'ems01', topicPrefix: 'v1/wudun/PRODUCT_KEY', source: 'ems_II' },
        devices: [{ id: 'ems01', port: '/dev/ttyACM0', protocol: 'ymodem', currentVersion: '0.9.0' }]
      }
    ]
  }
}

describe('a station file with three connections (the README example)', () => {
  it('reads one agent configuration per connection, with files resolved against the station file’s folder from another cwd', () => {
    const s = stationDir('readme', { 'huawei-roots.pem': simTls().ca, 'gw01.secret': 'gw-secret\n', 'ems01.password': 'ems-pass\n' })
    const file = s.write(readmeExample('FL_TEST_FOG_SECRET_README'))
    const elsewhere = join(work.dir, 'elsewhere')
    mkdirSync(elsewhere, { recursive: true })
    process.env['FL_TEST_FOG_SECRET_README'] = 'fog-secret'
    const cwd = process.cwd()
    let configs
    try {
      process.chdir(elsewhere)
      configs = readStationFile(join('..', 'readme', 'station-1.json')).connections.map(withAdapter)
    } finally {
      process.chdir(cwd)
      delete process.env['FL_TEST_FOG_SECRET_README']
    }
    expect(file).toBe(join(s.dir, 'station-1.json'))
    const [iotda, fog, wudun] = configs
    expect(configs.map((c) => [c.identity, c.brokerUrl, c.allowHttp, c.allowUnverified, c.connectTimeoutMs])).toEqual([
      ['iotda-gw01', 'mqtts://xxxx.st1.iotda-device.cn-north-4.myhuaweicloud.com:8883', false, false, 30_000],
      ['fogcloud-PK/gw', 'mqtts://app.mqtt.fogcloud.io:8883', false, false, 30_000],
      ['wudun-ems01', 'mqtts://broker.customer.example:8883', false, false, 30_000]
    ])

    // IoTDA: the CA and the secret come from the files beside the station file
    expect(iotda!.ca).toBe(simTls().ca)
    const at = new Date(Date.UTC(2025, 4, 6, 7, 30))
    expect(iotda!.adapter.login(at)).toMatchObject({ clientId: 'gw01_0_0_2025050607', username: 'gw01', password: iotdaPassword('gw-secret', '2025050607') })
    expect(iotda!.slots.map((x) => x.deviceId)).toEqual(['gw01', 'child_a'])
    expect(iotda!.slots[0]).toMatchObject({ baud: 115200, probe: { pattern: 'version[: ]+(\\S+)', timeoutMs: 15_000 }, protocolOptions: { menuCommand: '1\r' } })

    // FogCloud: the secret from the environment; children are PRODUCT_KEY/DEVICE_NAME
    expect(fog!.ca).toBeUndefined()
    // Alibaba-style device sign (FogCloud follows it): HMAC-SHA1 keyed by the device secret over
    // "clientId{pk}&{dn}deviceName{dn}productKey{pk}"; user name "{dn}&{pk}".
    const fogSign = createHmac('sha1', 'fog-secret').update('clientIdPK&gwdeviceNamegwproductKeyPK').digest('hex')
    expect(fog!.adapter.login(at)).toEqual({ clientId: 'PK&gw|signmethod=hmacsha1,authType=1|', username: 'gw&PK', password: fogSign })
    expect(fog!.adapter.subscriptions()).toEqual(['fogcloud/PK/gw/thing/down/ota'])
    const hello = fog!.adapter.onConnected(ctx({ 'PK/child1': '1.0.0' })).map((m) => JSON.parse(String(m.payload)))
    expect(hello.find((m) => m.method === 'sub.version.post')?.params).toEqual([{ identity: { product_key: 'PK', device_name: 'child1' }, version: '1.0.0', module: 'mcu' }])
    expect(fog!.slots.map((x) => [x.deviceId, x.port])).toEqual([['PK/child1', 'COM7']])

    // Wudun: user name on the connection, password from the file (trimmed), the topic prefix given
    expect(wudun!.adapter.login(at)).toMatchObject({ username: 'ems01', password: 'ems-pass' })
    expect(wudun!.adapter.subscriptions()).toEqual(['v1/wudun/PRODUCT_KEY/ems01/ota/upgrade/command'])
  })

  it('the CLI refuses it with the path of the one bad field, naming the missing variable', async () => {
    const s = stationDir('readme-cli', { 'huawei-roots.pem': simTls().ca, 'gw01.secret': 'x', 'ems01.password': 'y' })
    const file = s.write(readmeExample('FL_TEST_FOG_SECRET_NEVER_SET'))
    const r = await runCli(['agent', '--config', file, '--data-dir', join(work.dir, 'cli-data')], { timeoutMs: 30_000 })
    expect(r.code).toBe(2)
    expect(r.stderr.trim().split('\n')).toEqual([`flashline agent: ${file}: connections[1].fogcloud.deviceSecretEnv: environment variable FL_TEST_FOG_SECRET_NEVER_SET is not set`])
  })
})

describe('FogCloud and Wudun sections', () => {
  const s = stationDir('sections', { 'fog.secret': 'fs\n', 'wd.password': 'wp\n' })
  const fogConnection = (fogcloud: Record<string, unknown>, devices: unknown[] = [{ id: 'PK9/kid', port: '/dev/ttyUSB4', protocol: 'ymodem', currentVersion: '1' }]) => ({
    version: 1,
    connections: [{ platform: 'fogcloud', broker: 'mqtt://127.0.0.1:1883', fogcloud, devices }]
  })
  const wudunConnection = (wudun: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
    version: 1,
    connections: [{ platform: 'wudun', broker: 'mqtt://127.0.0.1:1883', wudun, ...extra, devices: [{ id: 'ems9', port: '/dev/ttyUSB5', protocol: 'ymodem', currentVersion: '1' }] }]
  })

  it('Wudun: topicPrefix defaults to v1, source is optional; the gateway’s own device is not a child', () => {
    const [c] = load(s.write(wudunConnection({ deviceUid: 'ems9' })))
    expect(c!.identity).toBe('wudun-ems9')
    expect(c!.adapter.subscriptions()).toEqual(['v1/ems9/ota/upgrade/command'])
    expect(c!.adapter.login(new Date())).toEqual({ clientId: 'flashline-ems9', username: undefined, password: undefined })
  })

  it('Wudun: username with passwordEnv; a password without a username, and an inline password, are refused', () => {
    process.env['FL_TEST_WD_PASS'] = 'from-env'
    try {
      const [c] = load(s.write(wudunConnection({ deviceUid: 'ems9', topicPrefix: 'v1/user/T7' }, { username: 'u9', passwordEnv: 'FL_TEST_WD_PASS' })))
      expect(c!.adapter.login(new Date())).toMatchObject({ username: 'u9', password: 'from-env' })
      expect(c!.adapter.subscriptions()).toEqual(['v1/user/T7/ems9/ota/upgrade/command'])
      expect(() => load(s.write(wudunConnection({ deviceUid: 'ems9' }, { passwordEnv: 'FL_TEST_WD_PASS' })))).toThrow(/connections\[0\]\.username: is required when a password is given/)
    } finally {
      delete process.env['FL_TEST_WD_PASS']
    }
    expect(() => load(s.write(wudunConnection({ deviceUid: 'ems9' }, { username: 'u9', password: 'plain' })))).toThrow(/connections\[0\]\.password: secrets are not kept in the station file; use passwordFile .* or passwordEnv/)
    expect(() => load(s.write(wudunConnection({ topicPrefix: 'v1' })))).toThrow(/connections\[0\]\.wudun\.deviceUid: is required/)
    expect(() => load(s.write(wudunConnection({ deviceUid: 'ems9', prefix: 'v1' })))).toThrow(/connections\[0\]\.wudun\.prefix: unknown field \(expected one of: deviceUid, topicPrefix, source\)/)
  })

  it('FogCloud: deviceSecretFile, module default, children named PRODUCT_KEY/DEVICE_NAME', () => {
    const [c] = load(s.write(fogConnection({ productKey: 'PK9', deviceName: 'gw9', deviceSecretFile: 'fog.secret' })))
    expect(c!.identity).toBe('fogcloud-PK9/gw9')
    expect(c!.adapter.login(new Date()).password).toBe(createHmac('sha1', 'fs').update('clientIdPK9&gw9deviceNamegw9productKeyPK9').digest('hex'))
    const kids = c!.adapter.onConnected(ctx({ 'PK9/kid': '1' })).map((m) => JSON.parse(String(m.payload)))
    expect(kids.find((m) => m.method === 'sub.version.post')?.params).toEqual([{ identity: { product_key: 'PK9', device_name: 'kid' }, version: '1', module: 'default' }])
    expect(() => load(s.write(fogConnection({ productKey: 'PK9', deviceName: 'gw9', deviceSecretFile: 'fog.secret' }, [{ id: 'kid', port: '/dev/ttyUSB4', protocol: 'ymodem', currentVersion: '1' }])))).toThrow(
      /connections\[0\]\.devices\[0\]\.id: FogCloud children are named PRODUCT_KEY\/DEVICE_NAME, got "kid"/
    )
    expect(() => load(s.write(fogConnection({ productKey: 'PK9', deviceName: 'gw9' })))).toThrow(/connections\[0\]\.fogcloud: needs deviceSecretFile or deviceSecretEnv/)
    expect(() => load(s.write(fogConnection({ deviceName: 'gw9', deviceSecretFile: 'fog.secret' })))).toThrow(/connections\[0\]\.fogcloud\.productKey: is required/)
  })

  it('a section that belongs to another platform is refused', () => {
    const v = wudunConnection({ deviceUid: 'ems9' }) as { connections: Array<Record<string, unknown>> }
    v.connections[0]!['fogcloud'] = { productKey: 'x', deviceName: 'y' }
    expect(() => load(s.write(v))).toThrow(/connections\[0\]\.fogcloud: does not belong to a wudun connection/)
  })
})

describe('secrets by file or environment variable', () => {
  const s = stationDir('secrets', { 'dev.secret': '  padded-secret \n' })
  const iotda = (section: Record<string, unknown>) => ({
    version: 1,
    connections: [{ platform: 'iotda', broker: 'mqtt://127.0.0.1:1883', iotda: { deviceId: 'd1', ...section }, devices: [{ id: 'd1', port: '/dev/ttyUSB6', protocol: 'ymodem', currentVersion: '1' }] }]
  })
  const at = new Date(Date.UTC(2025, 0, 2, 3, 4))

  it('secretFile is read relative to the station file and trimmed', () => {
    const [c] = load(s.write(iotda({ secretFile: 'dev.secret' })))
    expect(c!.adapter.login(at).password).toBe(iotdaPassword('padded-secret', '2025010203'))
  })

  it('secretEnv reads the variable; unset or empty, the error names the variable', () => {
    process.env['FL_TEST_IOTDA_SECRET'] = 'env-secret'
    try {
      const [c] = load(s.write(iotda({ secretEnv: 'FL_TEST_IOTDA_SECRET' })))
      expect(c!.adapter.login(at).password).toBe(iotdaPassword('env-secret', '2025010203'))
      process.env['FL_TEST_IOTDA_SECRET'] = ''
      expect(() => load(s.write(iotda({ secretEnv: 'FL_TEST_IOTDA_SECRET' })))).toThrow(/connections\[0\]\.iotda\.secretEnv: environment variable FL_TEST_IOTDA_SECRET is not set/)
    } finally {
      delete process.env['FL_TEST_IOTDA_SECRET']
    }
    expect(() => load(s.write(iotda({ secretEnv: 'FL_TEST_IOTDA_SECRET' })))).toThrow(/environment variable FL_TEST_IOTDA_SECRET is not set/)
  })

  it('both secretFile and secretEnv, a missing file, and neither are refused', () => {
    process.env['FL_TEST_IOTDA_SECRET2'] = 'x'
    try {
      expect(() => load(s.write(iotda({ secretFile: 'dev.secret', secretEnv: 'FL_TEST_IOTDA_SECRET2' })))).toThrow(/connections\[0\]\.iotda\.secretEnv: give either secretFile or secretEnv, not both/)
    } finally {
      delete process.env['FL_TEST_IOTDA_SECRET2']
    }
    const missing = join(s.dir, 'nope.secret')
    expect(() => load(s.write(iotda({ secretFile: 'nope.secret' })))).toThrow(`connections[0].iotda.secretFile: cannot read ${missing}: no such file`)
    expect(() => load(s.write(iotda({})))).toThrow(/connections\[0\]\.iotda: needs secretFile or secretEnv \(or certFile and keyFile\)/)
  })

  it('certFile and keyFile: both are read (X.509 login, no password); one without the other is refused', () => {
    const tls = simTls()
    writeFileSync(join(s.dir, 'client.pem'), tls.cert)
    writeFileSync(join(s.dir, 'client.key'), tls.key, { mode: 0o600 })
    const [c] = load(s.write(iotda({ certFile: 'client.pem', keyFile: 'client.key' })))
    const login = c!.adapter.login(at)
    expect(login).toMatchObject({ clientId: 'd1_0_0_2025010203', username: 'd1', cert: tls.cert, key: tls.key })
    expect(login.password).toBeUndefined()
    expect(() => load(s.write(iotda({ certFile: 'client.pem' })))).toThrow(/connections\[0\]\.iotda\.keyFile: certFile and keyFile go together/)
    expect(() => load(s.write(iotda({ keyFile: 'client.key' })))).toThrow(/connections\[0\]\.iotda\.certFile: certFile and keyFile go together/)
    expect(() => load(s.write(iotda({ certFile: 'gone.pem', keyFile: 'client.key' })))).toThrow(`connections[0].iotda.certFile: cannot read ${join(s.dir, 'gone.pem')}: no such file`)
  })

  it('checkTimestamp true asks for the _0_1_ client id', () => {
    const [c] = load(s.write(iotda({ secretFile: 'dev.secret', checkTimestamp: true })))
    expect(c!.adapter.login(at).clientId).toBe('d1_0_1_2025010203')
    expect(() => load(s.write(iotda({ secretFile: 'dev.secret', checkTimestamp: 'yes' })))).toThrow(/connections\[0\]\.iotda\.checkTimestamp: expected true or false, got "yes"/)
  })

  it('a relative ca is read from the station file’s folder, not the working directory', () => {
    writeFileSync(join(s.dir, 'my-ca.pem'), simTls().ca)
    const v = iotda({ secretFile: 'dev.secret' }) as { connections: Array<Record<string, unknown>> }
    v.connections[0]!['ca'] = 'my-ca.pem'
    const [c] = load(s.write(v))
    expect(c!.ca).toBe(simTls().ca)
    v.connections[0]!['ca'] = 'no-ca.pem'
    expect(() => load(s.write(v))).toThrow(`connections[0].ca: cannot read ${join(s.dir, 'no-ca.pem')}: no such file`)
  })
})

describe('device fields for flashing', () => {
  const s = stationDir('devices', { 'd.secret': 's' })
  const withDevice = (extra: Record<string, unknown>) => ({
    version: 1,
    connections: [{ platform: 'iotda', broker: 'mqtt://127.0.0.1:1883', iotda: { deviceId: 'd2', secretFile: 'd.secret' }, devices: [{ id: 'd2', port: '/dev/ttyUSB7', protocol: 'stm32', currentVersion: '1', ...extra }] }]
  })
  const options = (extra: Record<string, unknown>) => load(s.write(withDevice(extra)))[0]!.slots[0]!.protocolOptions

  it('entry, verify, protect/unprotect and a hex address reach the flasher options', () => {
    expect(options({ entry: '-rts&dtr,,rts,:-dtr,rts,-rts', verify: 'crc', unprotect: true, protect: true, address: '0x08004000', parity: 'none' })).toEqual({
      entry: '-rts&dtr,,rts,:-dtr,rts,-rts',
      verify: 'crc',
      unprotect: true,
      protect: true,
      address: 0x08004000
    })
    for (const verify of ['auto', 'readback', 'none']) expect(options({ verify })).toEqual({ verify })
    expect(options({ protect: false, unprotect: false })).toEqual({})
    expect(options({ address: 134234112 })).toEqual({ address: 0x08004000 })
  })

  const bad: Array<[string, Record<string, unknown>, RegExp]> = [
    ['an entry sequence it cannot read', { entry: 'dtr,xyz' }, /connections\[0\]\.devices\[0\]\.entry: "dtr,xyz": cannot read "xyz"; use dtr, -dtr, rts, -rts/],
    ['an entry with two exits', { entry: 'dtr:rts:dtr' }, /connections\[0\]\.devices\[0\]\.entry: "dtr:rts:dtr" has more than one ':'/],
    ['an entry that is not a string', { entry: 5 }, /connections\[0\]\.devices\[0\]\.entry: expected a non-empty string, got number 5/],
    ['an unknown verify mode', { verify: 'md5' }, /connections\[0\]\.devices\[0\]\.verify: expected one of auto, readback, crc, none, got "md5"/],
    ['protect as a string', { protect: 'yes' }, /connections\[0\]\.devices\[0\]\.protect: expected true or false, got "yes"/],
    ['unprotect as a number', { unprotect: 1 }, /connections\[0\]\.devices\[0\]\.unprotect: expected true or false, got number 1/],
    ['an address that is not a number', { address: '8000000h' }, /connections\[0\]\.devices\[0\]\.address: expected a whole number from 0 to 4294967295, got "8000000h"/],
    ['an option of another protocol', { image: 1 }, /connections\[0\]\.devices\[0\]\.image: applies to mcuboot devices only, not to protocol stm32/],
    ['an image number out of range', { image: 16, protocol: 'mcuboot' }, /connections\[0\]\.devices\[0\]\.image: expected a whole number from 0 to 15, got number 16/],
    ['parity mark', { parity: 'mark' }, /connections\[0\]\.devices\[0\]\.parity: expected one of none, even, odd, got "mark"/]
  ]
  for (const [what, extra, message] of bad) {
    it(`refuses ${what}, naming the field`, () => {
      expect(() => load(s.write(withDevice(extra)))).toThrow(message)
    })
  }
})

describe('a two-connection station end to end (IoTDA + Wudun on one mosquitto)', () => {
  it('both simulated clouds get their task closed by one agent process; each board holds its own package', async () => {
    const broker = await startMosquitto()
    const server = await startPackageServer({ tls: true })
    const s = stationDir('e2e', { 'ca.pem': simTls().ca })
    const iotda = await IotdaCloud.start({ packageServer: server, brokerUrl: broker.url, queryIntervalMs: 500 })
    const wudun = await WudunCloud.start({ packageServer: server, brokerUrl: broker.url, repeatMs: 500 })
    const benches = await Promise.all(
      ['1.0.0', '0.9.0'].map(async (version) => {
        const pair = await ptyPair()
        const port = await SerialTransport.open({ path: pair.b, baudRate: 115200 })
        const device = new YmodemDevice({ personality: 'st-iap', version, requestIntervalMs: 300 })
        const served = device.attach(port)
        return { pair, device, close: async () => (await port.close(), await served, await pair.close()) }
      })
    )
    const [iotdaBench, wudunBench] = benches as [(typeof benches)[0], (typeof benches)[0]]
    const iotdaId = `st_iotda_${process.pid}`
    const wudunUid = `st_ems_${process.pid}`
    process.env['FL_TEST_E2E_SECRET'] = 'not-checked-by-mosquitto'
    const probe = { pattern: 'version[: ]+(\\S+)', timeoutSeconds: 10 }
    const file = s.write({
      version: 1,
      connections: [
        { platform: 'iotda', broker: broker.url, ca: 'ca.pem', iotda: { deviceId: iotdaId, secretEnv: 'FL_TEST_E2E_SECRET' }, devices: [{ id: iotdaId, port: iotdaBench.pair.a, protocol: 'ymodem', currentVersion: '1.0.0', probe }] },
        { platform: 'wudun', broker: broker.url, ca: 'ca.pem', wudun: { deviceUid: wudunUid, source: 'ems_II' }, devices: [{ id: wudunUid, port: wudunBench.pair.a, protocol: 'ymodem', currentVersion: '0.9.0', probe }] }
      ]
    })
    const fwIotda = makeFirmwareImage({ version: '2.0.0', size: 30_000, seed: 41 })
    const fwWudun = makeFirmwareImage({ version: '0.9.5', size: 20_000, seed: 42 })
    // --once would end at the first closed job; this run is stopped with SIGINT once both have closed
    const child = spawn(process.execPath, [join(__dirname, '..', 'bin', 'flashline.js'), 'agent', '--config', file, '--data-dir', join(work.dir, 'e2e-data'), '--json'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: process.env
    })
    delete process.env['FL_TEST_E2E_SECRET']
    const { events, closed, until, kill } = followCli(child)
    try {
      await until('both connections up', () => events.filter((e) => e['type'] === 'log' && String(e['message']).startsWith('connected to')).length === 2, 45_000)
      const iotdaTask = iotda.createTask({ deviceId: iotdaId, targetVersion: '2.0.0', package: fwIotda })
      const wudunTask = wudun.createTask({ deviceUid: wudunUid, source: 'ems_II', package: fwWudun })
      const [doneIotda, doneWudun] = await Promise.all([iotda.waitForTask(iotdaTask.id, 60_000), wudun.waitForTask(wudunTask.mid, 60_000)])
      expect(doneIotda.status, doneIotda.detail).toBe('succeeded')
      expect(doneIotda.progress.at(-1)).toMatchObject({ resultCode: 0, progress: 100, version: '2.0.0' })
      expect(doneWudun.status, doneWudun.detail).toBe('succeeded')
      expect(doneWudun.results.map((m) => (m['data'] as { status: number }).status)).toEqual([2, 4])
      expect((doneWudun.results[1]!['data'] as { final_version: string }).final_version).toBe('0.9.5')
      await until('both jobs closed', () => events.filter((e) => e['type'] === 'job-closed').length === 2, 45_000)
      const jobs = events.filter((e) => e['type'] === 'job-closed').map((e) => [e['device'], e['result']])
      expect(jobs.sort()).toEqual([
        [iotdaId, 'succeeded'],
        [wudunUid, 'succeeded']
      ].sort())
      expect(iotdaBench.device.image.equals(fwIotda)).toBe(true)
      expect(wudunBench.device.image.equals(fwWudun)).toBe(true)
      child.kill('SIGINT')
      const end = await Promise.race([closed, new Promise<null>((r) => setTimeout(() => r(null), 15_000))])
      expect(end, 'the agent did not stop within 15 s of SIGINT').toEqual({ code: 130, signal: null })
    } finally {
      await kill()
      for (const b of benches) await b.close()
      await iotda.close()
      await wudun.close()
      await server.close()
      await broker.close()
    }
  }, 120_000)
})
