import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createIotdaAdapter } from '../../engine/platforms/iotda'
import { IotdaCloud } from '../../engine/sim/iotda-cloud'
import { makeFirmwareImage } from '../../engine/sim/firmware-image'
import { startPackageServer } from '../../engine/sim/package-server'
import { registerBuiltinSimPorts, registerSimBoard } from '../../engine/sim/sim-ports'
import { simTls } from '../../engine/sim/tls'
import { YmodemDevice } from '../../engine/sim/ymodem-device'
import { memoryPair } from '../../engine/transport/memory'
import { parseFlags } from '../args'
import type { Output } from '../output'
import { runAgent } from './agent'

/**
 * A complete IoTDA upgrade with nothing but this process: a simulated cloud (embedded broker with
 * the HMAC login, HTTPS package server with a bearer token), Flashline as the device, and a simulated
 * YMODEM bootloader on the bench. Prints what happened; exit 0 only if the cloud closed its task.
 */
export async function demoCommand(argv: string[], makeOutput: (json: boolean) => Output, signal: AbortSignal): Promise<number> {
  const flags = parseFlags(argv, { json: { type: 'boolean' } }, 'demo')
  const out = makeOutput(Boolean(flags['json']))
  const dataDir = mkdtempSync(join(tmpdir(), 'flashline-demo-'))
  const deviceId = 'demo_device_001'
  const secret = randomBytes(12).toString('hex')
  const tls = simTls()
  const server = await startPackageServer({ tls: true })
  const cloud = await IotdaCloud.start({ packageServer: server, devices: [{ deviceId, secret }], queryIntervalMs: 1000 })

  const device = new YmodemDevice({ personality: 'st-iap', version: '1.0.0' })
  registerBuiltinSimPorts()
  registerSimBoard('demo', async () => ({
    async open() {
      const [host, dev] = memoryPair('sim:demo', 'sim:demo#device')
      host.onClose(() => void dev.close())
      void device.attach(dev)
      return host
    }
  }))

  try {
    out.info('Flashline demo: simulated Huawei IoTDA cloud + simulated YMODEM bootloader on the bench')
    out.info(`  broker ${cloud.brokerUrl} (HMAC-SHA256 login)   packages ${server.url} (HTTPS, bearer token)`)
    out.info(`  device ${deviceId} runs 1.0.0; the cloud orders firmware 2.0.0 (64 KiB)`)
    const task = cloud.createTask({ deviceId, targetVersion: '2.0.0', package: makeFirmwareImage({ version: '2.0.0', size: 64 * 1024, seed: 2 }), fileName: 'demo-2.0.0.bin' })
    cloud.on('progress', (_t, p: { resultCode: number; progress?: number; version?: string }) =>
      out.info(`  cloud ← upgrade_progress_report result_code ${p.resultCode} progress ${p.progress ?? '-'} version ${p.version}`)
    )
    const code = await runAgent(
      {
        adapter: createIotdaAdapter({ deviceId, secret }),
        brokerUrl: cloud.brokerUrl,
        ca: tls.ca,
        dataDir,
        identity: `iotda-${deviceId}`,
        slots: [{ deviceId, port: 'sim:demo', protocol: 'ymodem', currentVersion: '1.0.0', probe: { timeoutMs: 5000 } }]
      },
      out,
      signal,
      { once: true, reportTimeoutMs: 30_000 }
    )
    const closed = await cloud.waitForTask(task.id, 10_000).catch(() => task)
    out.event('demo-result', { task: closed.status, detail: closed.detail, deviceVersion: device.version, exitCode: code })
    out.info(`cloud task ${closed.status}: ${closed.detail ?? 'still open'}`)
    out.info(`bench device now prints "version: ${device.version}"`)
    if (code === 0 && closed.status !== 'succeeded') return 6
    return code
  } finally {
    await cloud.close()
    await server.close()
    rmSync(dataDir, { recursive: true, force: true })
  }
}
