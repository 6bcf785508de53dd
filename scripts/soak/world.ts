/**
 * The soak's outside world: the simulated clouds (Huawei IoTDA, MXCHIP FogCloud, Wudun EMS) on one
 * embedded MQTT broker that checks each platform's login, an HTTPS package server with per-package
 * faults, and a record of which orders the broker saw the engine acknowledge.
 */
import { createHash, randomBytes } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { EmbeddedBroker } from '../../main/engine/sim/embedded-broker'
import { FogcloudCloud, type FogTask } from '../../main/engine/sim/fogcloud-cloud'
import { IotdaCloud, type IotdaTask } from '../../main/engine/sim/iotda-cloud'
import { startPackageServer, type PackageFaults, type PackageServer } from '../../main/engine/sim/package-server'
import { simTls } from '../../main/engine/sim/tls'
import { WudunCloud, type WudunTask } from '../../main/engine/sim/wudun-cloud'
import type { Platform } from './plan'

/** A platform device the soak may use: its identity on its platform and its login. */
export interface PlatformDevice {
  platform: Platform
  /** IoTDA device id, FogCloud device name, Wudun device uid. */
  name: string
  secret: string
}

export const FOG_PRODUCT = 'soakpk'

/** One order a simulated cloud sent (or is about to send) and how its task stands. */
export interface Order {
  platform: Platform
  /** What the engine calls the order: IoTDA task_id, FogCloud task_id, Wudun mid. */
  orderId: string
  /** The cloud's view of the task: open, closed as succeeded / failed, or given up by the soak. */
  state(): 'open' | 'succeeded' | 'failed' | 'abandoned'
  /** The cloud has published the order (IoTDA after negotiating, FogCloud after the version post). */
  sent(): boolean
  detail(): string
  /**
   * Gives the task up on the platform side (its order never reached the engine): the task takes a
   * status the cloud never acts on again (a failed FogCloud task would be pushed again on firmware.get).
   */
  abandon(why: string): void
}

export class World {
  readonly broker: EmbeddedBroker
  readonly server: PackageServer
  readonly caFile: string
  readonly iotda: IotdaCloud
  readonly fog: FogcloudCloud
  readonly wudun: WudunCloud
  /** Orders whose delivery the engine's MQTT client acknowledged, as `platform:orderId`. */
  readonly delivered = new Set<string>()
  private readonly devices = new Map<string, PlatformDevice>()
  private restarting: Promise<void> | null = null
  private holds = 0
  private holdWaiters: Array<() => void> = []
  /** Broker outages while at least one platform job was unfinished. */
  drops = 0

  private constructor(parts: { broker: EmbeddedBroker; server: PackageServer; caFile: string; iotda: IotdaCloud; fog: FogcloudCloud; wudun: WudunCloud; devices: PlatformDevice[] }) {
    this.broker = parts.broker
    this.server = parts.server
    this.caFile = parts.caFile
    this.iotda = parts.iotda
    this.fog = parts.fog
    this.wudun = parts.wudun
    for (const d of parts.devices) this.devices.set(`${d.platform}:${d.name}`, d)
    this.broker.onDelivered((topic, payload) => {
      const id = orderIdOf(topic, payload)
      if (id) this.delivered.add(id)
    })
  }

  static async start(dir: string, devices: PlatformDevice[]): Promise<World> {
    const tls = simTls()
    const caFile = join(dir, 'ca.pem')
    writeFileSync(caFile, tls.ca)
    const broker = await new EmbeddedBroker().start()
    const server = await startPackageServer({ tls: true })
    const of = (p: Platform) => devices.filter((d) => d.platform === p)
    const iotda = await IotdaCloud.start({ packageServer: server, embedded: broker, devices: of('iotda').map((d) => ({ deviceId: d.name, secret: d.secret })), queryIntervalMs: 300 })
    const fog = await FogcloudCloud.start({ packageServer: server, embedded: broker, devices: of('fogcloud').map((d) => ({ productKey: FOG_PRODUCT, deviceName: d.name, deviceSecret: d.secret })) })
    const wudun = await WudunCloud.start({ packageServer: server, embedded: broker, accounts: of('wudun').map((d) => ({ username: d.name, password: d.secret })), repeatMs: 500 })
    return new World({ broker, server, caFile, iotda, fog, wudun, devices })
  }

  static device(platform: Platform, name: string): PlatformDevice {
    return { platform, name, secret: randomBytes(8).toString('hex') }
  }

  /**
   * The connection configuration (the station file's shape, inline secrets) of one platform device
   * on one slot; `slot` holds the slot settings (port, protocol, options, probe).
   */
  connection(platform: Platform, name: string, slot: Record<string, unknown>): Record<string, unknown> {
    const d = this.devices.get(`${platform}:${name}`)
    if (!d) throw new Error(`the soak has no ${platform} device ${name}`)
    const device = { ...slot, currentVersion: '1.0.0' }
    const common = { broker: this.broker.url, ca: this.caFile, connectTimeoutSeconds: 60 }
    if (platform === 'iotda') return { ...common, platform, iotda: { deviceId: name, secret: d.secret }, devices: [{ id: name, ...device }] }
    if (platform === 'fogcloud') return { ...common, platform, fogcloud: { productKey: FOG_PRODUCT, deviceName: name, deviceSecret: d.secret }, devices: [{ id: `${FOG_PRODUCT}/${name}`, ...device }] }
    return { ...common, platform, username: name, password: d.secret, wudun: { deviceUid: name, topicPrefix: 'v1' }, devices: [{ id: name, ...device }] }
  }

  /**
   * Creates the cloud's task for one upgrade of `name` to `version` with package `pkg`, and gives its
   * download the faults `http`. A hash mismatch: the order names the digest of other bytes.
   */
  order(platform: Platform, name: string, o: { version: string; pkg: Buffer; http?: PackageFaults; hashMismatch?: boolean; presigned?: boolean }): Order {
    const other = Buffer.concat([o.pkg, Buffer.from('not the package')])
    if (platform === 'iotda') {
      const task = this.iotda.createTask({
        deviceId: name,
        targetVersion: o.version,
        package: o.pkg,
        fileName: `fw-${o.version}.bin`,
        mode: o.presigned ? 'presigned' : 'token',
        sign: o.hashMismatch ? createHash('sha256').update(other).digest('hex') : undefined
      })
      if (o.http) Object.assign(this.server.faultsFor(`${task.id}/`), o.http)
      return iotdaOrder(task)
    }
    if (platform === 'fogcloud') {
      if (o.hashMismatch) throw new Error('the simulated FogCloud always signs the real package')
      const task = this.fog.createTask({ productKey: FOG_PRODUCT, deviceName: name, targetVersion: o.version, package: o.pkg })
      if (o.http) Object.assign(this.server.faultsFor(`fog/${task.id}/`), o.http)
      return fogOrder(task)
    }
    // the command goes out at once: its package's faults are set before anything can fetch it
    const task = this.wudun.createTask({ deviceUid: name, source: 'ems_II', package: o.pkg, md5: o.hashMismatch ? createHash('md5').update(other).digest('hex') : undefined })
    if (o.http) Object.assign(this.server.faultsFor(`wudun/${task.mid}/`), o.http)
    return wudunOrder(task)
  }

  /**
   * Keeps broker outages back until the returned function is called: a kill episode's orders must reach
   * its first process (the engine's session is clean, so an order sent during an outage is gone, and
   * the episode would have nothing to kill).
   */
  hold(): () => void {
    this.holds++
    let released = false
    return () => {
      if (released) return
      released = true
      if (--this.holds === 0) for (const w of this.holdWaiters.splice(0)) w()
    }
  }

  /** A broker outage of `downMs` (one at a time, after any hold); counted when `during` says a platform job was unfinished. */
  async dropBroker(downMs: number, during: () => boolean): Promise<boolean> {
    while (this.holds > 0) await new Promise<void>((r) => this.holdWaiters.push(r))
    if (this.restarting) return false
    const counted = during()
    if (counted) this.drops++
    this.restarting = this.broker.restart(downMs).finally(() => (this.restarting = null))
    await this.restarting
    return counted
  }

  get brokerUp(): boolean {
    return this.restarting === null
  }

  async close(): Promise<void> {
    await this.iotda.close()
    await this.fog.close()
    await this.wudun.close()
    await this.server.close()
    await this.broker.close()
  }
}

/** A task status none of the simulated clouds knows: an abandoned task is never looked at again. */
const ABANDONED = 'abandoned by the soak' as never

function stateOf(status: string): ReturnType<Order['state']> {
  if (status === 'succeeded' || status === 'failed') return status
  return status === ABANDONED ? 'abandoned' : 'open'
}

function iotdaOrder(task: IotdaTask): Order {
  return {
    platform: 'iotda',
    orderId: task.id,
    state: () => stateOf(task.status),
    sent: () => task.orderedAt !== undefined,
    detail: () => `IoTDA task ${task.id} ${task.status}${task.detail ? `: ${task.detail}` : ''}`,
    abandon: (why) => Object.assign(task, { status: ABANDONED, detail: why })
  }
}

function fogOrder(task: FogTask): Order {
  return {
    platform: 'fogcloud',
    orderId: task.id,
    state: () => stateOf(task.status),
    sent: () => task.pushes > 0,
    detail: () => `FogCloud task ${task.id} ${task.status}${task.detail ? `: ${task.detail}` : ''} (steps ${task.steps.join(',')})`,
    abandon: (why) => Object.assign(task, { status: ABANDONED, detail: why })
  }
}

function wudunOrder(task: WudunTask): Order {
  return {
    platform: 'wudun',
    orderId: task.mid,
    state: () => stateOf(task.status),
    sent: () => true,
    detail: () => `Wudun task ${task.mid} ${task.status}${task.detail ? `: ${task.detail}` : ''}`,
    abandon: (why) => Object.assign(task, { status: ABANDONED, detail: why })
  }
}

/** The order a downlink carries, as `platform:orderId`, for the three platforms' order messages. */
function orderIdOf(topic: string, payload: Buffer): string | undefined {
  let msg: Record<string, unknown>
  try {
    msg = JSON.parse(payload.toString())
  } catch {
    return undefined
  }
  if (topic.startsWith('$oc/devices/')) {
    const s = (msg['services'] as Array<{ event_type?: string; paras?: { task_id?: string } }> | undefined)?.[0]
    return s?.event_type?.endsWith('_upgrade') || s?.event_type?.endsWith('_upgrade_v2') ? `iotda:${s.paras?.task_id}` : undefined
  }
  if (topic.startsWith('fogcloud/')) return msg['method'] === 'firmware.post' ? `fogcloud:${(msg['params'] as { task_id?: string })?.task_id}` : undefined
  if (topic.endsWith('/ota/upgrade/command')) return `wudun:${String(msg['mid'])}`
  return undefined
}
