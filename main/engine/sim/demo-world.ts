import { randomBytes } from 'node:crypto'
import { EmbeddedBroker } from './embedded-broker'
import { makeFirmwareImage } from './firmware-image'
import { FogcloudCloud } from './fogcloud-cloud'
import { IotdaCloud } from './iotda-cloud'
import { startPackageServer, type PackageServer } from './package-server'
import { memoryBoard, registerBuiltinSimPorts, registerSimBoard } from './sim-ports'
import { simTls } from './tls'
import { WudunCloud } from './wudun-cloud'
import { YmodemDevice } from './ymodem-device'

/**
 * The demo's world, in this process: simulated clouds for Huawei IoTDA, MXCHIP FogCloud and Wudun
 * EMS on one embedded MQTT broker (TLS, each cloud checking its devices' logins), an HTTPS package
 * server, and one simulated YMODEM bootloader per platform reachable as a `sim:` port. Used by
 * `flashline demo` and by the app's demo mode (`flashline ui --demo`, first launch).
 */

export type DemoPlatformName = 'iotda' | 'fogcloud' | 'wudun'

export interface DemoOrder {
  /** The cloud's own task id. */
  taskId: string
  targetVersion: string
  /** Settles when the cloud closes the task (or with its state at the deadline). */
  closed(timeoutMs: number): Promise<{ status: string; detail?: string }>
}

export interface DemoPlatform {
  platform: DemoPlatformName
  /** The connection as a station file writes it, secrets inline, without devices. */
  connection: Record<string, unknown>
  /** The platform's id of the device on the bench. */
  deviceId: string
  /** Its simulated board: the port `sim:<board>`. */
  board: string
  /** The version the board runs now. */
  version(): string
  /** The version the board ran when the world started. */
  startVersion: string
  /** The cloud orders the next upgrade of the device (each order a newer version). */
  order(): DemoOrder
}

export interface DemoWorldOptions {
  /** What the clouds see (uplinks, progress reports), one readable line each. */
  log?: (platform: DemoPlatformName, line: string) => void
  /** Time each simulated board takes to program a YMODEM block (default 0: as fast as the link goes). */
  programDelayMs?: number
}

function board(name: string, version: string, programDelayMs = 0): YmodemDevice {
  const device = new YmodemDevice({ personality: 'st-iap', version, programDelayMs })
  registerBuiltinSimPorts()
  registerSimBoard(name, async () => memoryBoard(name, device))
  return device
}

export class DemoWorld {
  readonly platforms: DemoPlatform[] = []
  /** PEM of the CA that signed the simulated broker's and package server's certificates. */
  readonly ca: string
  private readonly closers: Array<() => Promise<void>> = []

  private constructor(
    readonly broker: EmbeddedBroker,
    readonly server: PackageServer
  ) {
    this.ca = simTls().ca
  }

  get brokerUrl(): string {
    return this.broker.url
  }

  static async start(options: DemoWorldOptions = {}): Promise<DemoWorld> {
    const log = options.log ?? (() => undefined)
    const broker = await new EmbeddedBroker().start()
    const server = await startPackageServer({ tls: true }).catch(async (e) => {
      await broker.close()
      throw e
    })
    const world = new DemoWorld(broker, server)
    try {
      await world.addIotda(log, options.programDelayMs)
      await world.addFogcloud(log, options.programDelayMs)
      await world.addWudun(log, options.programDelayMs)
    } catch (e) {
      await world.close()
      throw e
    }
    return world
  }

  /** Huawei IoTDA: HMAC login, version_query, firmware_upgrade with a bearer token. */
  private async addIotda(log: NonNullable<DemoWorldOptions['log']>, programDelayMs?: number): Promise<void> {
    const deviceId = 'demo_device_001'
    const secret = randomBytes(12).toString('hex')
    const cloud = await IotdaCloud.start({ packageServer: this.server, embedded: this.broker, devices: [{ deviceId, secret }], queryIntervalMs: 1000 })
    this.closers.push(() => cloud.close())
    cloud.on('progress', (_t, p: { resultCode: number; progress?: number; version?: string }) => log('iotda', `upgrade_progress_report result_code ${p.resultCode} progress ${p.progress ?? '-'} version ${p.version}`))
    const device = board('demo-iotda', '1.0.0', programDelayMs)
    let n = 0
    this.platforms.push({
      platform: 'iotda',
      connection: { platform: 'iotda', broker: this.broker.url, iotda: { deviceId, secret } },
      deviceId,
      board: 'demo-iotda',
      startVersion: '1.0.0',
      version: () => device.version,
      order: () => {
        const targetVersion = `2.0.${n++}`
        const task = cloud.createTask({ deviceId, targetVersion, package: makeFirmwareImage({ version: targetVersion, size: 64 * 1024, seed: 2 }), fileName: `demo-${targetVersion}.bin` })
        return { taskId: task.id, targetVersion, closed: (ms) => cloud.waitForTask(task.id, ms).catch(() => task) }
      }
    })
  }

  /** MXCHIP FogCloud: HMAC-SHA1 login, version.post, firmware.post with MD5 and an additive checksum. */
  private async addFogcloud(log: NonNullable<DemoWorldOptions['log']>, programDelayMs?: number): Promise<void> {
    const productKey = 'demo_pk'
    const deviceName = 'demo_dev_002'
    const deviceSecret = randomBytes(12).toString('hex')
    const cloud = await FogcloudCloud.start({ packageServer: this.server, embedded: this.broker, devices: [{ productKey, deviceName, deviceSecret }] })
    this.closers.push(() => cloud.close())
    cloud.on('uplink', (_t, m: { method?: string; params?: Record<string, unknown> }) => log('fogcloud', `${m.method} ${JSON.stringify(m.params)}`))
    const device = board('demo-fog', '1.0.0', programDelayMs)
    let n = 0
    this.platforms.push({
      platform: 'fogcloud',
      connection: { platform: 'fogcloud', broker: this.broker.url, fogcloud: { productKey, deviceName, deviceSecret, module: 'mcu' } },
      deviceId: `${productKey}/${deviceName}`,
      board: 'demo-fog',
      startVersion: '1.0.0',
      version: () => device.version,
      order: () => {
        const targetVersion = `1.1.${n++}`
        const task = cloud.createTask({ productKey, deviceName, targetVersion, package: makeFirmwareImage({ version: targetVersion, size: 48 * 1024, seed: 3 }), module: 'mcu' })
        return { taskId: task.id, targetVersion, closed: (ms) => cloud.waitForTask(task.id, ms).catch(() => task) }
      }
    })
  }

  /** Wudun EMS: the customer's broker account, a command with MD5, two-phase results. */
  private async addWudun(log: NonNullable<DemoWorldOptions['log']>, programDelayMs?: number): Promise<void> {
    const deviceUid = 'demo_ems_003'
    const password = randomBytes(12).toString('hex')
    const cloud = await WudunCloud.start({ packageServer: this.server, embedded: this.broker, topicPrefix: 'v1', accounts: [{ username: deviceUid, password }], repeatMs: 1000 })
    this.closers.push(() => cloud.close())
    cloud.on('result', (_t, m: { data?: { status?: number } }) => log('wudun', `ota_upgrade result status ${m.data?.status}`))
    const device = board('demo-wudun', '0.9.0', programDelayMs)
    let n = 1
    this.platforms.push({
      platform: 'wudun',
      connection: { platform: 'wudun', broker: this.broker.url, username: deviceUid, password, wudun: { deviceUid, topicPrefix: 'v1' } },
      deviceId: deviceUid,
      board: 'demo-wudun',
      startVersion: '0.9.0',
      version: () => device.version,
      order: () => {
        const targetVersion = `0.9.${n++}`
        const task = cloud.createTask({ deviceUid, source: 'ems_II', package: makeFirmwareImage({ version: targetVersion, size: 40 * 1024, seed: 4 }) })
        return { taskId: task.mid, targetVersion, closed: (ms) => cloud.waitForTask(task.mid, ms).catch(() => task) }
      }
    })
  }

  platform(name: DemoPlatformName): DemoPlatform {
    return this.platforms.find((p) => p.platform === name)!
  }

  async close(): Promise<void> {
    for (const close of this.closers.splice(0).reverse()) await close().catch(() => undefined)
    await this.server.close().catch(() => undefined)
    await this.broker.close().catch(() => undefined)
  }
}
