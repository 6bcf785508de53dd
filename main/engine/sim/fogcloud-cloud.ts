import { createHash, randomBytes } from 'node:crypto'
import { EventEmitter } from 'node:events'
import mqtt, { type MqttClient } from 'mqtt'
import { EmbeddedBroker } from './embedded-broker'
import { fogcloudChecksum, verifyFogcloudLogin } from './fogcloud-login'
import type { PackageServer } from './package-server'
import { waitForClosed } from './wait-closed'

/**
 * The cloud side of MXCHIP FogCloud OTA (docs.fogcloud.io v4.20 OTA page), built from that page and
 * never from the flasher's code (login check, MD5 and checksum are its own): a task per device or gateway child, pushed
 * with firmware.post / sub.firmware.post once the device has posted a different version, pushed
 * again (with a fresh URL) on firmware.get, and closed by the version posted after the upgrade.
 */
export interface FogTask {
  id: string
  productKey: string
  deviceName: string
  /** Set for a gateway child: the gateway whose topics carry the child's messages. */
  gateway?: { productKey: string; deviceName: string }
  targetVersion: string
  module: string
  status: 'waiting' | 'upgrading' | 'succeeded' | 'failed'
  detail?: string
  steps: number[]
  pushes: number
}

export interface FogCreateTask {
  productKey: string
  deviceName: string
  gateway?: { productKey: string; deviceName: string }
  targetVersion: string
  package: Buffer
  module?: string
  /** Seconds the download URL stays valid. */
  urlExpiresIn?: number
}

export class FogcloudCloud extends EventEmitter {
  readonly tasks = new Map<string, FogTask>()
  brokerUrl = ''
  private client!: MqttClient
  private ownBroker: EmbeddedBroker | null = null
  private packages = new Map<string, { data: Buffer; expiresIn: number }>()
  private readonly secrets = new Map<string, string>()
  private nextTask = 1000
  private msgId = 1

  private constructor(private readonly options: { packageServer: PackageServer; brokerUrl?: string; embedded?: EmbeddedBroker }) {
    super()
  }

  static async start(options: { packageServer: PackageServer; brokerUrl?: string; embedded?: EmbeddedBroker; devices?: Array<{ productKey: string; deviceName: string; deviceSecret: string }> }): Promise<FogcloudCloud> {
    const cloud = new FogcloudCloud(options)
    for (const d of options.devices ?? []) cloud.secrets.set(`${d.productKey}&${d.deviceName}`, d.deviceSecret)
    let broker = options.embedded
    if (!options.brokerUrl && !broker) broker = cloud.ownBroker = await new EmbeddedBroker().start()
    if (broker) {
      broker.addChecker((login) => verifyFogcloudLogin(login, (pk, dn) => cloud.secrets.get(`${pk}&${dn}`)))
    }
    cloud.brokerUrl = options.brokerUrl ?? broker!.url
    cloud.client = await mqtt.connectAsync(cloud.brokerUrl, {
      clientId: `flashline-sim-cloud-fog-${randomBytes(4).toString('hex')}`,
      username: broker?.cloudUser,
      password: broker?.cloudPassword,
      clean: false,
      reconnectPeriod: 500
    })
    await cloud.client.subscribeAsync('fogcloud/+/+/thing/up/ota', { qos: 1 })
    cloud.client.on('message', (topic, payload) => cloud.onUplink(topic, payload))
    return cloud
  }

  createTask(o: FogCreateTask): FogTask {
    const task: FogTask = {
      id: String(this.nextTask++),
      productKey: o.productKey,
      deviceName: o.deviceName,
      gateway: o.gateway,
      targetVersion: o.targetVersion,
      module: o.module ?? 'default',
      status: 'waiting',
      steps: [],
      pushes: 0
    }
    this.tasks.set(task.id, task)
    this.packages.set(task.id, { data: o.package, expiresIn: o.urlExpiresIn ?? 3600 })
    return task
  }

  private topicOf(t: FogTask, dir: 'down' | 'up'): string {
    const g = t.gateway ?? { productKey: t.productKey, deviceName: t.deviceName }
    return `fogcloud/${g.productKey}/${g.deviceName}/thing/${dir}/ota`
  }

  private push(t: FogTask): void {
    const pkg = this.packages.get(t.id)!
    const { url } = this.options.packageServer.addPackage(`fog/${t.id}/${t.pushes}/fw-${t.targetVersion}.bin`, pkg.data, { presigned: true, presignExpiresAt: Date.now() + pkg.expiresIn * 1000 })
    const md5 = createHash('md5').update(pkg.data).digest('hex')
    const params = { size: pkg.data.length, sign: md5, version: t.targetVersion, url, sign_method: 'MD5', checksum: fogcloudChecksum(pkg.data), module: t.module, description: 'flashline simulated package', task_id: t.id }
    const body = t.gateway
      ? { id: this.msgId++, version: '1.0', method: 'sub.firmware.post', params: [{ identity: { product_key: t.productKey, device_name: t.deviceName }, ...params }] }
      : { id: this.msgId++, version: '1.0', method: 'firmware.post', params }
    t.status = 'upgrading'
    t.pushes++
    this.client.publish(this.topicOf(t, 'down'), JSON.stringify(body), { qos: 1 })
    this.emit('pushed', t)
  }

  private find(pk: string, dn: string, status?: FogTask['status']): FogTask | undefined {
    return [...this.tasks.values()].find((t) => t.productKey === pk && t.deviceName === dn && (!status || t.status === status))
  }

  private closeTask(t: FogTask, status: 'succeeded' | 'failed', detail: string): void {
    t.status = status
    t.detail = detail
    this.emit('task-closed', t)
  }

  private onVersion(pk: string, dn: string, version: unknown): void {
    const t = this.find(pk, dn, 'waiting') ?? this.find(pk, dn, 'upgrading')
    if (!t || typeof version !== 'string') return
    if (version === t.targetVersion) this.closeTask(t, 'succeeded', `device posted version ${version}`)
    else if (t.status === 'waiting') this.push(t)
  }

  private onStep(pk: string, dn: string, step: unknown, taskId: unknown): void {
    const t = this.find(pk, dn, 'upgrading')
    if (!t || taskId !== t.id || typeof step !== 'number') return
    t.steps.push(step)
    if (step === -1) this.closeTask(t, 'failed', 'device reported step -1')
  }

  private onUplink(topic: string, payload: Buffer): void {
    const [, pk, dn] = topic.split('/')
    let msg: { method?: string; params?: unknown }
    try {
      msg = JSON.parse(payload.toString())
    } catch {
      return
    }
    const p = msg.params as Record<string, unknown> | Array<Record<string, unknown>>
    const each = (fn: (cpk: string, cdn: string, e: Record<string, unknown>) => void): void => {
      if (!Array.isArray(p)) return
      for (const e of p) {
        const id = e['identity'] as { product_key?: string; device_name?: string } | undefined
        if (id?.product_key && id.device_name) fn(id.product_key, id.device_name, e)
      }
    }
    switch (msg.method) {
      case 'version.post':
        if (!Array.isArray(p)) this.onVersion(pk!, dn!, p?.['version'])
        break
      case 'sub.version.post':
        each((cpk, cdn, e) => this.onVersion(cpk, cdn, e['version']))
        break
      case 'upgrade.post':
        if (!Array.isArray(p)) this.onStep(pk!, dn!, p?.['step'], p?.['task_id'])
        break
      case 'sub.upgrade.post':
        each((cpk, cdn, e) => this.onStep(cpk, cdn, e['step'], e['task_id']))
        break
      case 'firmware.get': {
        // After a failed download (say an expired URL) the device asks again: push a fresh URL.
        const t = this.find(pk!, dn!, 'failed')
        if (t) this.push(t)
        break
      }
    }
    this.emit('uplink', topic, msg)
  }

  waitForTask(id: string, timeoutMs = 60_000): Promise<FogTask> {
    const task = this.tasks.get(id)!
    return waitForClosed(this, task, (a, b) => a.id === b.id, (t) => t.status === 'succeeded' || t.status === 'failed', timeoutMs, () => `FogCloud task ${id} still ${task.status}`)
  }

  async close(): Promise<void> {
    await this.client?.endAsync(true).catch(() => undefined)
    await this.ownBroker?.close()
  }
}
