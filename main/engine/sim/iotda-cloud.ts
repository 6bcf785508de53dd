import { createHash, randomBytes } from 'node:crypto'
import { EventEmitter } from 'node:events'
import mqtt, { type MqttClient } from 'mqtt'
import { EmbeddedBroker } from './embedded-broker'
import { platformEventTime, verifyIotdaLogin } from './iotda-login'
import type { PackageServer } from './package-server'
import { waitForClosed } from './wait-closed'

/**
 * The cloud side of Huawei IoTDA OTA (device API "Software and Firmware Upgrade", iot_06_v5_3028..3031;
 * user guide "OTA Upgrade for MQTT Devices"), for the demo and the tests. Built from those pages, never
 * from the flasher's code (login check, event time and package digest are its own):
 * an upgrade task per device that negotiates with version_query, pushes firmware_upgrade(_v2),
 * and closes by the platform's rule — succeeded only when the reported version equals the target.
 *
 * Two ways to run: with its own embedded broker (aedes) that checks the HMAC login like IoTDA, or
 * attached as one more client to an existing broker (mosquitto in the tests).
 */
export type TaskStatus = 'waiting' | 'upgrading' | 'succeeded' | 'failed'

export interface IotdaTask {
  id: string
  deviceId: string
  kind: 'firmware' | 'software'
  targetVersion: string
  mode: 'token' | 'presigned'
  status: TaskStatus
  /** Why the task closed as it did. */
  detail?: string
  resultCode?: number
  progress: Array<{ resultCode: number; progress?: number; version?: string; description?: string }>
  versionReports: Array<{ fw_version?: string; sw_version?: string }>
  packageUrl?: string
  orderedAt?: number
}

export interface CreateTaskOptions {
  deviceId: string
  targetVersion: string
  package: Buffer
  fileName?: string
  kind?: 'firmware' | 'software'
  mode?: 'token' | 'presigned'
  /** Override the `sign` sent (to simulate a corrupt package entry). */
  sign?: string
  /** Seconds the token / presigned URL stays valid (IoTDA: 86400). */
  expiresIn?: number
  /** Extra `paras` fields merged into the order (e.g. task_ext_info as a string). */
  extraParas?: Record<string, unknown>
}

export interface IotdaCloudOptions {
  packageServer: PackageServer
  /** Share this embedded broker (the demo runs all simulated clouds on one). */
  embedded?: EmbeddedBroker
  /** Attach to this broker instead of starting an embedded one. */
  brokerUrl?: string
  /** Devices allowed to log in to the embedded broker. */
  devices?: Array<{ deviceId: string; secret: string }>
  /** How often an unanswered version_query is repeated (the device may come online later). */
  queryIntervalMs?: number
}

export class IotdaCloud extends EventEmitter {
  readonly tasks = new Map<string, IotdaTask>()
  /** Every uplink the cloud received, for assertions. */
  readonly uplinks: Array<{ topic: string; payload: string }> = []
  /** Device-side broker URL. */
  brokerUrl = ''
  private client!: MqttClient
  private embedded: EmbeddedBroker | null = null
  private ownBroker: EmbeddedBroker | null = null
  private timers = new Set<NodeJS.Timeout>()
  private readonly secrets = new Map<string, string>()
  private packages = new Map<string, { data: Buffer; fileName: string; sha256: string }>()

  private constructor(private readonly options: IotdaCloudOptions) {
    super()
    for (const d of options.devices ?? []) this.secrets.set(d.deviceId, d.secret)
  }

  static async start(options: IotdaCloudOptions): Promise<IotdaCloud> {
    const cloud = new IotdaCloud(options)
    if (options.brokerUrl) cloud.brokerUrl = options.brokerUrl
    else await cloud.startBroker()
    await cloud.connect()
    return cloud
  }

  addDevice(deviceId: string, secret: string): void {
    this.secrets.set(deviceId, secret)
  }

  private async startBroker(): Promise<void> {
    const shared = this.options.embedded
    const broker = shared ?? (await new EmbeddedBroker().start())
    if (!shared) this.ownBroker = broker
    broker.addChecker((login) => {
      const m = /^(.+)_0_[01]_\d{10}$/.exec(login.clientId)
      if (!m || !this.secrets.has(m[1]!)) return undefined
      const r = verifyIotdaLogin(login, (id) => this.secrets.get(id), new Date())
      return r.ok ? { ok: true } : r
    })
    broker.onDeviceSubscribe((topic) => {
      const m = /^\$oc\/devices\/([^/]+)\/sys\/events\/down$/.exec(topic)
      if (m) this.deviceOnline(m[1]!)
    })
    broker.log = (msg) => this.emit('log', msg)
    this.embedded = broker
    this.brokerUrl = broker.url
  }

  private async connect(): Promise<void> {
    this.client = mqtt.connect(this.brokerUrl, {
      // A persistent session: uplinks published while the cloud reconnects are kept for it, as on IoTDA.
      clientId: `flashline-sim-cloud-${randomBytes(4).toString('hex')}`,
      clean: false,
      username: this.embedded?.cloudUser,
      password: this.embedded?.cloudPassword,
      reconnectPeriod: 500
    })
    await new Promise<void>((resolve, reject) => {
      this.client.once('connect', () => resolve())
      this.client.once('error', reject)
    })
    await this.client.subscribeAsync('$oc/devices/+/sys/events/up', { qos: 1 })
    this.client.on('message', (topic, payload) => this.onUplink(topic, payload))
  }

  /** Creates an upgrade task and starts negotiating (version_query, repeated until answered). */
  createTask(o: CreateTaskOptions): IotdaTask {
    const id = randomBytes(12).toString('hex')
    const task: IotdaTask = {
      id,
      deviceId: o.deviceId,
      kind: o.kind ?? 'firmware',
      targetVersion: o.targetVersion,
      mode: o.mode ?? 'token',
      status: 'waiting',
      progress: [],
      versionReports: []
    }
    this.tasks.set(id, task)
    this.packages.set(id, { data: o.package, fileName: o.fileName ?? `${o.targetVersion}.bin`, sha256: createHash('sha256').update(o.package).digest('hex') })
    this.taskOptions.set(id, o)
    this.deviceOnline(o.deviceId)
    const timer = setInterval(() => {
      if (task.status === 'waiting') this.sendVersionQuery(task)
      else {
        clearInterval(timer)
        this.timers.delete(timer)
      }
    }, this.options.queryIntervalMs ?? 2000)
    this.timers.add(timer)
    return task
  }

  private taskOptions = new Map<string, CreateTaskOptions>()

  private deviceOnline(deviceId: string): void {
    for (const t of this.tasks.values()) if (t.deviceId === deviceId && t.status === 'waiting') this.sendVersionQuery(t)
  }

  /** Downlinks go on the topic of the device that is connected: the gateway's own, for children. */
  private downTopic(deviceId: string): string {
    return `$oc/devices/${this.gatewayOf.get(deviceId) ?? deviceId}/sys/events/down`
  }

  private readonly gatewayOf = new Map<string, string>()

  /** Declares `childId` as a child of `gatewayId`: its orders go on the gateway's topic. */
  addChild(gatewayId: string, childId: string): void {
    this.gatewayOf.set(childId, gatewayId)
  }

  private send(deviceId: string, eventType: string, paras: Record<string, unknown>): void {
    const body = { object_device_id: deviceId, services: [{ service_id: '$ota', event_type: eventType, event_time: platformEventTime(new Date()), paras }] }
    this.client.publish(this.downTopic(deviceId), JSON.stringify(body), { qos: 1 })
  }

  private sendVersionQuery(task: IotdaTask): void {
    this.send(task.deviceId, 'version_query', {})
  }

  /** Publishes raw bytes on a device's down topic (for robustness tests). */
  publishRaw(deviceId: string, payload: string | Buffer): Promise<unknown> {
    return this.client.publishAsync(this.downTopic(deviceId), payload, { qos: 1 })
  }

  private onUplink(topic: string, payload: Buffer): void {
    this.uplinks.push({ topic, payload: payload.toString() })
    let msg: { object_device_id?: string; services?: Array<{ service_id?: string; event_type?: string; paras?: Record<string, unknown> }> }
    try {
      msg = JSON.parse(payload.toString())
    } catch {
      this.emit('log', `unparseable uplink on ${topic}`)
      return
    }
    const topicDevice = topic.split('/')[2] ?? ''
    const deviceId = msg.object_device_id || topicDevice
    for (const s of msg.services ?? []) {
      if (s.service_id !== '$ota') continue
      const p = s.paras ?? {}
      if (s.event_type === 'version_report') this.onVersionReport(deviceId, p)
      else if (s.event_type === 'upgrade_progress_report') this.onProgress(deviceId, p)
    }
    this.emit('uplink', topic, msg)
  }

  private activeTask(deviceId: string, status: TaskStatus): IotdaTask | undefined {
    return [...this.tasks.values()].find((t) => t.deviceId === deviceId && t.status === status)
  }

  private onVersionReport(deviceId: string, p: Record<string, unknown>): void {
    const task = this.activeTask(deviceId, 'waiting')
    if (!task) return
    task.versionReports.push({ fw_version: p['fw_version'] as string | undefined, sw_version: p['sw_version'] as string | undefined })
    const reported = task.kind === 'firmware' ? p['fw_version'] : p['sw_version']
    if (reported === task.targetVersion) {
      this.closeTask(task, 'succeeded', 'the device already runs the target version (no download)')
      return
    }
    this.order(task)
  }

  private order(task: IotdaTask): void {
    const o = this.taskOptions.get(task.id)!
    const pkg = this.packages.get(task.id)!
    const expiresIn = o.expiresIn ?? 86400
    const access =
      task.mode === 'token'
        ? { token: randomBytes(12).toString('hex'), tokenExpiresAt: Date.now() + expiresIn * 1000 }
        : { presigned: true, presignExpiresAt: Date.now() + expiresIn * 1000 }
    const served = this.options.packageServer.addPackage(`${task.id}/${pkg.fileName}`, pkg.data, access)
    task.packageUrl = served.url
    task.status = 'upgrading'
    task.orderedAt = Date.now()
    const paras: Record<string, unknown> = {
      version: task.targetVersion,
      url: served.url,
      file_size: pkg.data.length,
      file_name: pkg.fileName,
      ...(task.mode === 'token' ? { access_token: served.token } : {}),
      expires: expiresIn,
      sign: o.sign ?? pkg.sha256,
      custom_info: 'flashline simulated package',
      task_id: task.id,
      ...o.extraParas
    }
    const type = `${task.kind}_upgrade${task.mode === 'presigned' ? '_v2' : ''}`
    this.send(task.deviceId, type, paras)
    this.emit('ordered', task)
  }

  private onProgress(deviceId: string, p: Record<string, unknown>): void {
    const task = this.activeTask(deviceId, 'upgrading')
    if (!task) return
    const entry = {
      resultCode: Number(p['result_code']),
      progress: typeof p['progress'] === 'number' ? p['progress'] : undefined,
      version: typeof p['version'] === 'string' ? p['version'] : undefined,
      description: typeof p['description'] === 'string' ? p['description'] : undefined
    }
    task.progress.push(entry)
    this.emit('progress', task, entry)
    if (entry.resultCode !== 0) {
      task.resultCode = entry.resultCode
      this.closeTask(task, 'failed', `device reported result_code ${entry.resultCode}: ${entry.description ?? ''}`)
    } else if (entry.progress === 100) {
      if (entry.version === task.targetVersion) this.closeTask(task, 'succeeded', `device reports ${entry.version}`)
      else this.closeTask(task, 'failed', `device reports version "${entry.version}", the task wants "${task.targetVersion}"`)
    }
  }

  private closeTask(task: IotdaTask, status: 'succeeded' | 'failed', detail: string): void {
    task.status = status
    task.detail = detail
    this.emit('task-closed', task)
  }

  /** Resolves when the task is closed (succeeded or failed); rejects after `timeoutMs`. */
  waitForTask(id: string, timeoutMs = 60_000): Promise<IotdaTask> {
    const task = this.tasks.get(id)
    if (!task) return Promise.reject(new Error(`no task ${id}`))
    return waitForClosed(this, task, (a, b) => a.id === b.id, (t) => t.status === 'succeeded' || t.status === 'failed', timeoutMs, () => `task ${id} still ${task.status} after ${timeoutMs} ms`)
  }

  async close(): Promise<void> {
    for (const t of this.timers) clearInterval(t)
    this.timers.clear()
    await this.client?.endAsync(true).catch(() => undefined)
    await this.ownBroker?.close()
  }
}
