/**
 * FogCloud and Wudun upgrades end to end on a plain mosquitto: the test plays the cloud with a plain
 * MQTT client, publishing the documented example payloads byte for byte; the real `flashline agent` flashes a
 * simulated YMODEM bootloader behind a pty and answers on the documented topics.
 */
import { createHash } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import mqtt, { type MqttClient } from 'mqtt'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { makeFirmwareImage } from '../main/engine/sim/firmware-image'
import { startPackageServer, type PackageServer } from '../main/engine/sim/package-server'
import { simTls } from '../main/engine/sim/tls'
import { YmodemDevice } from '../main/engine/sim/ymodem-device'
import { SerialTransport } from '../main/engine/transport/serial'
import { runCli, type CliRun } from './harness/cli'
import { startMosquitto, type Broker } from './harness/mosquitto'
import { ndjsonReader, once } from './harness/ndjson'
import { ptyPair } from './harness/pty'
import { tempDir } from './harness/tmp'

let broker: Broker
let server: PackageServer
let cloud: MqttClient
const work = tempDir()
const caFile = join(work.dir, 'ca.pem')
const seen: Array<{ topic: string; body: Record<string, unknown> }> = []

beforeAll(async () => {
  broker = await startMosquitto()
  server = await startPackageServer({ tls: true })
  writeFileSync(caFile, simTls().ca)
  cloud = await mqtt.connectAsync(broker.url, { clientId: 'test-cloud' })
  await cloud.subscribeAsync(['fogcloud/+/+/thing/up/ota', 'fogcloud/+/+/thing/down/ota', 'v1/+/+/+/ota/upgrade/result', 'v1/+/ota/upgrade/result'], { qos: 1 })
  cloud.on('message', (topic, payload) => seen.push({ topic, body: JSON.parse(payload.toString()) }))
})

afterAll(async () => {
  await cloud?.endAsync()
  await server?.close()
  await broker?.close()
  work.cleanup()
})

async function bench(version: string) {
  const pair = await ptyPair()
  const port = await SerialTransport.open({ path: pair.b, baudRate: 115200 })
  const device = new YmodemDevice({ personality: 'st-iap', version, requestIntervalMs: 300 })
  const served = device.attach(port)
  return {
    pair,
    device,
    close: async () => {
      await port.close()
      await served
      await pair.close()
    }
  }
}

function waitFor<T>(find: () => T | undefined, timeoutMs = 30_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const t0 = Date.now()
    const tick = () => {
      const v = find()
      if (v !== undefined) return resolve(v)
      if (Date.now() - t0 > timeoutMs) return reject(new Error(`timed out; seen: ${JSON.stringify(seen.slice(-5))}`))
      setTimeout(tick, 50)
    }
    tick()
  })
}

const explain = (r: CliRun) => `exit ${r.code}\n${r.stdout.slice(-3000)}\n${r.stderr.slice(-2000)}`

describe('FogCloud on mosquitto', () => {
  it('version.post on connect → firmware.post (MD5 + checksum) → flash → upgrade.post 100 and version.post', async () => {
    const pk = 'pk01'
    const dn = `dev${process.pid}`
    const b = await bench('1.0.0')
    try {
      const fw = makeFirmwareImage({ version: '1.0.1', size: 30_000, seed: 4 })
      // Digests of this image from other tools: `md5sum fw-1.0.1.bin` and
      // python3 -c "d=open('fw-1.0.1.bin','rb').read();print((sum(d)&0xffffffff).to_bytes(4,'little').hex())"
      const MD5 = '37bc2b3d362f15991463616207f435d4'
      const SUM32 = '36343a00'
      const { url } = server.addPackage(`fog/${dn}/fw.bin`, fw, {})
      const agent = runCli(
        ['agent', '--platform', 'fogcloud', '--broker', broker.url, '--product-key', pk, '--device-name', dn, '--device-secret', 's', '--module', 'mcu',
          '--port', b.pair.a, '--protocol', 'ymodem', '--current-version', '1.0.0', '--probe', 'version[: ]+(\\S+)', '--ca', caFile, '--data-dir', join(work.dir, 'fog'), '--once', '--json'],
        { timeoutMs: 60_000 }
      )
      const up = `fogcloud/${pk}/${dn}/thing/up/ota`
      const hello = await waitFor(() => seen.find((m) => m.topic === up && m.body['method'] === 'version.post'))
      expect(hello.body['params']).toEqual({ version: '1.0.0', module: 'mcu' })
      const post = { id: 123, version: '1.0', method: 'firmware.post', params: { size: fw.length, sign: MD5.toUpperCase(), version: '1.0.1', url, sign_method: 'MD5', checksum: SUM32.toUpperCase(), module: 'mcu', description: 'string', task_id: '123' } }
      await cloud.publishAsync(`fogcloud/${pk}/${dn}/thing/down/ota`, JSON.stringify(post), { qos: 1 })
      const r = await agent
      expect(r.code, explain(r)).toBe(0)
      const mine = seen.filter((m) => m.topic === up)
      const steps = mine.filter((m) => m.body['method'] === 'upgrade.post').map((m) => (m.body['params'] as { step: number; task_id: string }))
      expect(steps.at(-1)).toEqual({ step: 100, module: 'mcu', task_id: '123' })
      expect(steps.every((s) => s.task_id === '123')).toBe(true)
      const versions = mine.filter((m) => m.body['method'] === 'version.post').map((m) => (m.body['params'] as { version: string }).version)
      expect(versions.at(-1)).toBe('1.0.1')
      expect(b.device.image.equals(fw)).toBe(true)
    } finally {
      await b.close()
    }
  }, 90_000)

  it('a wrong additive checksum fails the job with step -1 and nothing is flashed (exit 4)', async () => {
    const pk = 'pk01'
    const dn = `bad${process.pid}`
    const b = await bench('1.0.0')
    try {
      const fw = makeFirmwareImage({ version: '1.0.2', size: 10_000, seed: 5 })
      const { url } = server.addPackage(`fog/${dn}/fw.bin`, fw, {})
      const agent = runCli(
        ['agent', '--platform', 'fogcloud', '--broker', broker.url, '--product-key', pk, '--device-name', dn, '--device-secret', 's',
          '--port', b.pair.a, '--protocol', 'ymodem', '--current-version', '1.0.0', '--ca', caFile, '--data-dir', join(work.dir, 'fog2'), '--once'],
        { timeoutMs: 60_000 }
      )
      const up = `fogcloud/${pk}/${dn}/thing/up/ota`
      await waitFor(() => seen.find((m) => m.topic === up && m.body['method'] === 'version.post'))
      const md5 = createHash('md5').update(fw).digest('hex')
      const post = { id: 7, version: '1.0', method: 'firmware.post', params: { size: fw.length, sign: md5, version: '1.0.2', url, sign_method: 'MD5', checksum: '00000000', module: 'default', task_id: '77' } }
      await cloud.publishAsync(`fogcloud/${pk}/${dn}/thing/down/ota`, JSON.stringify(post), { qos: 1 })
      const r = await agent
      expect(r.code, explain(r)).toBe(4)
      const last = seen.filter((m) => m.topic === up && m.body['method'] === 'upgrade.post').at(-1)!
      expect(last.body['params']).toMatchObject({ step: -1, task_id: '77', desc: expect.stringContaining('sum32') })
      expect(b.device.received).toHaveLength(0)
    } finally {
      await b.close()
    }
  }, 90_000)
})

describe('FogCloud refusals on mosquitto', () => {
  it('a malformed sign (the doc example "f8d8…****"): step -1 at once, nothing downloaded or flashed, exit 4 even with --allow-unverified', async () => {
    const pk = 'pk01'
    const dn = `sig${process.pid}`
    const b = await bench('1.0.0')
    try {
      const fw = makeFirmwareImage({ version: '1.0.3', size: 8_000, seed: 11 })
      const { url } = server.addPackage(`fog/${dn}/fw.bin`, fw, {})
      const agent = runCli(
        ['agent', '--platform', 'fogcloud', '--broker', broker.url, '--product-key', pk, '--device-name', dn, '--device-secret', 's', '--allow-unverified',
          '--port', b.pair.a, '--protocol', 'ymodem', '--current-version', '1.0.0', '--ca', caFile, '--data-dir', join(work.dir, 'fog3'), '--once'],
        { timeoutMs: 60_000 }
      )
      const up = `fogcloud/${pk}/${dn}/thing/up/ota`
      await waitFor(() => seen.find((m) => m.topic === up && m.body['method'] === 'version.post'))
      const post = { id: 8, version: '1.0', method: 'firmware.post', params: { size: fw.length, sign: 'f8d85b250d4d787a9f483d89a974****', version: '1.0.3', url, sign_method: 'MD5', module: 'default', task_id: '88' } }
      await cloud.publishAsync(`fogcloud/${pk}/${dn}/thing/down/ota`, JSON.stringify(post), { qos: 1 })
      const r = await agent
      expect(r.code, explain(r)).toBe(4)
      const mine = seen.filter((m) => m.topic === up && m.body['method'] !== 'version.post' && m.body['method'] !== 'firmware.get')
      expect(mine.map((m) => [m.body['method'], m.body['params']])).toEqual([
        ['upgrade.post', { step: -1, desc: expect.stringContaining('is not a MD5 digest'), module: 'default', task_id: '88' }]
      ])
      expect(server.requests.filter((q) => q.path.includes(`fog/${dn}/`))).toHaveLength(0)
      expect(b.device.received).toHaveLength(0)
    } finally {
      await b.close()
    }
  }, 90_000)
})

describe('Wudun on mosquitto', () => {
  it('the published command (trailing comma) → phase 1 status 2 → flash → phase 2 status 4', async () => {
    const uid = `ems${process.pid}`
    const b = await bench('0.9.0')
    try {
      const fw = makeFirmwareImage({ version: '0.9.1', size: 25_000, seed: 6 })
      const md5 = createHash('md5').update(fw).digest('hex')
      const { url } = server.addPackage(`wudun/${uid}/ems_II`, fw, {})
      const agent = runCli(
        ['agent', '--platform', 'wudun', '--broker', broker.url, '--device-uid', uid, '--topic-prefix', 'v1/wudun/PK1',
          '--port', b.pair.a, '--protocol', 'ymodem', '--current-version', '0.9.0', '--probe', 'version[: ]+(\\S+)', '--ca', caFile, '--data-dir', join(work.dir, 'wd'), '--once', '--json'],
        {
          timeoutMs: 60_000,
          // whole NDJSON lines only, and the command goes out once even if the event were seen twice
          onStdout: ndjsonReader(
            once(
              (e) => e.type === 'log' && String(e['message']).startsWith('connected to '),
              () => {
                const cmd = `{\n"trace_id": "577f5df0-65d6-432d-8aac-06hjkgfg2",\n"mid": "ee2e8f09-b280-4e4d-bcb9-1529b703cfed",\n"type": "ota_upgrade",\n"device_uid": "${uid}",\n"timestamp": 1697789021000,\n"data":{\n"source": "ems_II",\n"download_url": "${url}",\n"md5_code": "${md5}",\n}\n}`
                void cloud.publishAsync(`v1/wudun/PK1/${uid}/ota/upgrade/command`, cmd, { qos: 1 })
              }
            )
          )
        }
      )
      const r = await agent
      expect(r.code, explain(r)).toBe(0)
      const results = seen.filter((m) => m.topic === `v1/wudun/PK1/${uid}/ota/upgrade/result`).map((m) => m.body)
      expect(results.map((x) => (x['data'] as { status: number }).status)).toEqual([2, 4])
      expect(results[0]).toMatchObject({ trace_id: '577f5df0-65d6-432d-8aac-06hjkgfg2', type: 'ota_upgrade', device_uid: uid, data: { source: 'ems_II', version: '0.9.0' } })
      expect(results[1]!['data']).toMatchObject({ final_version: '0.9.1', status: 4 })
      expect(typeof results[1]!['timestamp']).toBe('number')
      expect(b.device.image.equals(fw)).toBe(true)
    } finally {
      await b.close()
    }
  }, 90_000)
})

describe('simulated FogCloud and Wudun clouds attached to mosquitto', () => {
  it('FogCloud: the simulated cloud pushes on version.post and closes its task from the version posted after the upgrade', async () => {
    const { FogcloudCloud } = await import('../main/engine/sim/fogcloud-cloud')
    const fog = await FogcloudCloud.start({ packageServer: server, brokerUrl: broker.url })
    const b = await bench('1.0.0')
    try {
      const dn = `sim${process.pid}`
      const fw = makeFirmwareImage({ version: '1.2.0', size: 15_000, seed: 8 })
      const t = fog.createTask({ productKey: 'pkS', deviceName: dn, targetVersion: '1.2.0', package: fw, module: 'default' })
      const r = await runCli(
        ['agent', '--platform', 'fogcloud', '--broker', broker.url, '--product-key', 'pkS', '--device-name', dn, '--device-secret', 'x',
          '--port', b.pair.a, '--protocol', 'ymodem', '--current-version', '1.0.0', '--ca', caFile, '--data-dir', join(work.dir, 'fogsim'), '--once'],
        { timeoutMs: 60_000 }
      )
      expect(r.code, explain(r)).toBe(0)
      const closed = await fog.waitForTask(t.id, 10_000)
      expect(closed.status, closed.detail).toBe('succeeded')
      expect(closed.steps.at(-1)).toBe(100)
      expect(b.device.image.equals(fw)).toBe(true)
      // the simulated cloud computed the digests itself; these come from md5sum and python3
      // (sum(data) & 0xffffffff, 4 bytes little-endian) over the same image
      const pushed = seen.find((m) => m.topic === `fogcloud/pkS/${dn}/thing/down/ota` && m.body['method'] === 'firmware.post')!
      expect(pushed.body['params']).toMatchObject({ size: 15_000, sign: '4368d691fccdf1aaa2f15c3cc21cb03b', sign_method: 'MD5', checksum: '1e021d00', task_id: t.id })
    } finally {
      await b.close()
      await fog.close()
    }
  }, 90_000)

  it('FogCloud gateway child: the simulated cloud pushes sub.firmware.post after sub.version.post and closes from the child version', async () => {
    const { FogcloudCloud } = await import('../main/engine/sim/fogcloud-cloud')
    const fog = await FogcloudCloud.start({ packageServer: server, brokerUrl: broker.url })
    const gw = await bench('1.0.0')
    const kid = await bench('3.0.0')
    try {
      const dn = `gws${process.pid}`
      const fw = makeFirmwareImage({ version: '3.1.0', size: 9_000, seed: 10 })
      const t = fog.createTask({ productKey: 'pkC', deviceName: 'kid1', gateway: { productKey: 'pkG', deviceName: dn }, targetVersion: '3.1.0', package: fw })
      const r = await runCli(
        ['agent', '--platform', 'fogcloud', '--broker', broker.url, '--product-key', 'pkG', '--device-name', dn, '--device-secret', 'x', '--child', `pkC/kid1,${kid.pair.a},3.0.0`,
          '--port', gw.pair.a, '--protocol', 'ymodem', '--current-version', '1.0.0', '--ca', caFile, '--data-dir', join(work.dir, 'fogkid'), '--once'],
        { timeoutMs: 60_000 }
      )
      expect(r.code, explain(r)).toBe(0)
      const closed = await fog.waitForTask(t.id, 10_000)
      expect(closed.status, closed.detail).toBe('succeeded')
      expect(kid.device.image.equals(fw)).toBe(true)
      expect(gw.device.received).toHaveLength(0)
    } finally {
      await gw.close()
      await kid.close()
      await fog.close()
    }
  }, 90_000)

  it('Wudun: a level-2 EMS flashes the level-1 device named by sub_device_uid; both phases reach the simulated cloud', async () => {
    const { WudunCloud } = await import('../main/engine/sim/wudun-cloud')
    const wd = await WudunCloud.start({ packageServer: server, brokerUrl: broker.url, topicPrefix: 'v1/user/T1', repeatMs: 500 })
    const own = await bench('1.0.0')
    const level1 = await bench('0.5.0')
    try {
      const uid = `l2_${process.pid}`
      const fw = makeFirmwareImage({ version: '0.6.0', size: 12_000, seed: 9 })
      const t = wd.createTask({ deviceUid: uid, subDeviceUid: 'l1dev', source: 'ems_I', package: fw })
      const r = await runCli(
        ['agent', '--platform', 'wudun', '--broker', broker.url, '--device-uid', uid, '--topic-prefix', 'v1/user/T1', '--child', `l1dev,${level1.pair.a},0.5.0`,
          '--port', own.pair.a, '--protocol', 'ymodem', '--current-version', '1.0.0', '--probe', 'version[: ]+(\\S+)', '--ca', caFile, '--data-dir', join(work.dir, 'wdsim'), '--once'],
        { timeoutMs: 60_000 }
      )
      expect(r.code, explain(r)).toBe(0)
      const closed = await wd.waitForTask(t.mid, 10_000)
      expect(closed.status, closed.detail).toBe('succeeded')
      expect(closed.results.map((m) => (m['data'] as { status: number }).status)).toEqual([2, 4])
      expect(closed.results.every((m) => m['sub_device_uid'] === 'l1dev' && m['device_uid'] === uid)).toBe(true)
      expect((closed.results[1]!['data'] as { final_version: string }).final_version).toBe('0.6.0')
      expect(level1.device.image.equals(fw)).toBe(true)
      expect(own.device.received).toHaveLength(0)
    } finally {
      await own.close()
      await level1.close()
      await wd.close()
    }
  }, 90_000)
})

describe('flashline demo', () => {
  it('runs one complete upgrade per platform against the built-in simulators and exits 0', async () => {
    const r = await runCli(['demo', '--json'], { timeoutMs: 90_000 })
    expect(r.code, explain(r)).toBe(0)
    const result = r.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l)).find((e) => e.type === 'demo-result')
    expect(result.results).toEqual([
      { platform: 'iotda', ok: true },
      { platform: 'fogcloud', ok: true },
      { platform: 'wudun', ok: true }
    ])
  }, 120_000)
})
