import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { readConnection } from '../../engine'
import { EmbeddedBroker } from '../../engine/sim/embedded-broker'
import { makeFirmwareImage } from '../../engine/sim/firmware-image'
import { FogcloudCloud } from '../../engine/sim/fogcloud-cloud'
import { IotdaCloud } from '../../engine/sim/iotda-cloud'
import { startPackageServer } from '../../engine/sim/package-server'
import { memoryBoard, registerBuiltinSimPorts, registerSimBoard } from '../../engine/sim/sim-ports'
import { simTls } from '../../engine/sim/tls'
import { WudunCloud } from '../../engine/sim/wudun-cloud'
import { YmodemDevice } from '../../engine/sim/ymodem-device'
import { parseFlags } from '../args'
import type { Output } from '../output'
import { runAgent } from './agent'

/** A simulated YMODEM bootloader reachable as `sim:<name>`, kept for the whole demo. */
function simBoard(name: string, version: string): YmodemDevice {
  const device = new YmodemDevice({ personality: 'st-iap', version })
  registerBuiltinSimPorts()
  registerSimBoard(name, async () => memoryBoard(name, device))
  return device
}

/**
 * One complete upgrade per platform with nothing but this process: simulated clouds for Huawei
 * IoTDA, MXCHIP FogCloud and Wudun EMS on one embedded MQTT broker (checking each platform's login),
 * an HTTPS package server, Flashline as the device, and simulated YMODEM bootloaders on the bench.
 * Prints what happened; exit 0 only if every cloud closed its task as succeeded.
 */
export async function demoCommand(argv: string[], makeOutput: (json: boolean) => Output, signal: AbortSignal): Promise<number> {
  const flags = parseFlags(argv, { json: { type: 'boolean' } }, 'demo')
  const out = makeOutput(Boolean(flags['json']))
  const dataDir = mkdtempSync(join(tmpdir(), 'flashline-demo-'))
  const tls = simTls()
  const broker = await new EmbeddedBroker().start()
  const server = await startPackageServer({ tls: true })
  const results: Array<{ platform: string; ok: boolean }> = []

  const caFile = join(dataDir, 'demo-ca.pem')
  writeFileSync(caFile, tls.ca)
  /** One platform connection, checked with the same schema as a station file, run until its first job ends. */
  const run = async (connection: Record<string, unknown>, deviceId: string, port: string, currentVersion: string): Promise<number> => {
    const config = readConnection(
      { ...connection, broker: broker.url, ca: caFile, devices: [{ id: deviceId, port, protocol: 'ymodem', currentVersion, probe: { timeoutSeconds: 5 } }] },
      { baseDir: dataDir, env: {}, inlineSecrets: true }
    )
    return runAgent({ dataDir, connections: [config] }, out, signal, { once: true, reportTimeoutMs: 30_000 })
  }

  try {
    out.info(`Flashline demo: simulated clouds on ${broker.url}, packages on ${server.url} (HTTPS), simulated YMODEM bootloaders`)

    // 1. Huawei IoTDA: HMAC login, version_query, firmware_upgrade with a bearer token.
    {
      const deviceId = 'demo_device_001'
      const secret = randomBytes(12).toString('hex')
      const cloud = await IotdaCloud.start({ packageServer: server, embedded: broker, devices: [{ deviceId, secret }], queryIntervalMs: 1000 })
      const board = simBoard('demo-iotda', '1.0.0')
      out.info(`\n[IoTDA] device ${deviceId} runs 1.0.0; the cloud orders firmware 2.0.0 (64 KiB)`)
      const task = cloud.createTask({ deviceId, targetVersion: '2.0.0', package: makeFirmwareImage({ version: '2.0.0', size: 64 * 1024, seed: 2 }), fileName: 'demo-2.0.0.bin' })
      cloud.on('progress', (_t, p: { resultCode: number; progress?: number; version?: string }) =>
        out.info(`  cloud ← upgrade_progress_report result_code ${p.resultCode} progress ${p.progress ?? '-'} version ${p.version}`)
      )
      const code = await run({ platform: 'iotda', iotda: { deviceId, secret } }, deviceId, 'sim:demo-iotda', '1.0.0')
      const closed = await cloud.waitForTask(task.id, 10_000).catch(() => task)
      out.info(`[IoTDA] cloud task ${closed.status}: ${closed.detail ?? 'still open'}; bench device prints "version: ${board.version}"`)
      results.push({ platform: 'iotda', ok: code === 0 && closed.status === 'succeeded' })
      await cloud.close()
    }

    // 2. MXCHIP FogCloud: HMAC-SHA1 login, version.post, firmware.post with MD5 + additive checksum.
    {
      const productKey = 'demo_pk'
      const deviceName = 'demo_dev_002'
      const deviceSecret = randomBytes(12).toString('hex')
      const cloud = await FogcloudCloud.start({ packageServer: server, embedded: broker, devices: [{ productKey, deviceName, deviceSecret }] })
      const board = simBoard('demo-fog', '1.0.0')
      out.info(`\n[FogCloud] device ${productKey}/${deviceName} runs 1.0.0; the cloud pushes firmware 1.1.0`)
      const task = cloud.createTask({ productKey, deviceName, targetVersion: '1.1.0', package: makeFirmwareImage({ version: '1.1.0', size: 48 * 1024, seed: 3 }), module: 'mcu' })
      cloud.on('uplink', (_t, m: { method?: string; params?: Record<string, unknown> }) => out.info(`  cloud ← ${m.method} ${JSON.stringify(m.params)}`))
      const code = await run({ platform: 'fogcloud', fogcloud: { productKey, deviceName, deviceSecret, module: 'mcu' } }, `${productKey}/${deviceName}`, 'sim:demo-fog', '1.0.0')
      const closed = await cloud.waitForTask(task.id, 10_000).catch(() => task)
      out.info(`[FogCloud] cloud task ${closed.status}: ${closed.detail ?? 'still open'}; bench device prints "version: ${board.version}"`)
      results.push({ platform: 'fogcloud', ok: code === 0 && closed.status === 'succeeded' })
      await cloud.close()
    }

    // 3. Wudun EMS: the customer's broker account, a command with MD5, two-phase results.
    {
      const deviceUid = 'demo_ems_003'
      const password = randomBytes(12).toString('hex')
      const cloud = await WudunCloud.start({ packageServer: server, embedded: broker, topicPrefix: 'v1', accounts: [{ username: deviceUid, password }], repeatMs: 1000 })
      const board = simBoard('demo-wudun', '0.9.0')
      out.info(`\n[Wudun] EMS ${deviceUid} runs 0.9.0; the customer orders an ems_II update`)
      const task = cloud.createTask({ deviceUid, source: 'ems_II', package: makeFirmwareImage({ version: '0.9.1', size: 40 * 1024, seed: 4 }) })
      cloud.on('result', (_t, m: { data?: { status?: number } }) => out.info(`  cloud ← ota_upgrade result status ${m.data?.status}`))
      const code = await run({ platform: 'wudun', username: deviceUid, password, wudun: { deviceUid, topicPrefix: 'v1' } }, deviceUid, 'sim:demo-wudun', '0.9.0')
      const closed = await cloud.waitForTask(task.mid, 10_000).catch(() => task)
      out.info(`[Wudun] task ${closed.status}: ${closed.detail ?? 'still open'}; bench device prints "version: ${board.version}"`)
      results.push({ platform: 'wudun', ok: code === 0 && closed.status === 'succeeded' })
      await cloud.close()
    }

    out.event('demo-result', { results })
    out.info(`\n${results.map((r) => `${r.platform}: ${r.ok ? 'succeeded' : 'FAILED'}`).join('   ')}`)
    return results.every((r) => r.ok) ? 0 : 6
  } finally {
    await server.close()
    await broker.close()
    rmSync(dataDir, { recursive: true, force: true })
  }
}
