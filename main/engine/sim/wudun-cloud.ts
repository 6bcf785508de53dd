import { createHash, randomBytes, randomUUID } from 'node:crypto'
import { EventEmitter } from 'node:events'
import mqtt, { type MqttClient } from 'mqtt'
import { EmbeddedBroker } from './embedded-broker'
import type { PackageServer } from './package-server'
import { waitForClosed } from './wait-closed'

/**
 * The customer's side of Wudun EMS OTA (ems-doc api/mqtt/level-2-ems/ota.md): publishes an `ota_upgrade` command (repeated
 * until the device answers phase 1, since a command sent while it is offline is lost) and follows
 * the two-phase results: 2 prepared (1 forbidden / 3 prepare failed end it), then 4 success
 * (5 / 6 rollback end it as failed).
 */
export interface WudunTask {
  mid: string
  traceId: string
  deviceUid: string
  subDeviceUid?: string
  source: string
  status: 'sent' | 'prepared' | 'succeeded' | 'failed'
  results: Array<Record<string, unknown>>
  detail?: string
}

export class WudunCloud extends EventEmitter {
  readonly tasks = new Map<string, WudunTask>()
  brokerUrl = ''
  private client!: MqttClient
  private ownBroker: EmbeddedBroker | null = null
  private timers = new Set<NodeJS.Timeout>()

  private constructor(private readonly options: { packageServer: PackageServer; topicPrefix: string; repeatMs: number }) {
    super()
  }

  static async start(options: { packageServer: PackageServer; topicPrefix?: string; brokerUrl?: string; embedded?: EmbeddedBroker; accounts?: Array<{ username: string; password: string }>; repeatMs?: number }): Promise<WudunCloud> {
    const cloud = new WudunCloud({ packageServer: options.packageServer, topicPrefix: (options.topicPrefix ?? 'v1').replace(/\/+$/, ''), repeatMs: options.repeatMs ?? 2000 })
    let broker = options.embedded
    if (!options.brokerUrl && !broker) broker = cloud.ownBroker = await new EmbeddedBroker().start()
    if (broker && options.accounts) {
      const accounts = new Map(options.accounts.map((a) => [a.username, a.password]))
      broker.addChecker((login) => {
        const want = accounts.get(login.username)
        if (want === undefined) return undefined
        return want === login.password ? { ok: true } : { ok: false, reason: `bad password for ${login.username}` }
      })
    }
    cloud.brokerUrl = options.brokerUrl ?? broker!.url
    cloud.client = await mqtt.connectAsync(cloud.brokerUrl, {
      clientId: `flashline-sim-cloud-wudun-${randomBytes(4).toString('hex')}`,
      username: broker?.cloudUser,
      password: broker?.cloudPassword,
      clean: false,
      reconnectPeriod: 500
    })
    await cloud.client.subscribeAsync(`${cloud.options.topicPrefix}/+/ota/upgrade/result`, { qos: 1 })
    cloud.client.on('message', (topic, payload) => cloud.onResult(topic, payload))
    return cloud
  }

  /** Orders an upgrade of `source` on a device (or, with subDeviceUid, a level-1 device behind it). */
  createTask(o: { deviceUid: string; subDeviceUid?: string; source?: string; package: Buffer; md5?: string }): WudunTask {
    const task: WudunTask = { mid: randomUUID(), traceId: randomUUID(), deviceUid: o.deviceUid, subDeviceUid: o.subDeviceUid, source: o.source ?? 'ems_II', status: 'sent', results: [] }
    this.tasks.set(task.mid, task)
    const { url } = this.options.packageServer.addPackage(`wudun/${task.mid}/${task.source}`, o.package, {})
    const command = {
      trace_id: task.traceId,
      mid: task.mid,
      type: 'ota_upgrade',
      device_uid: o.deviceUid,
      ...(o.subDeviceUid ? { sub_device_uid: o.subDeviceUid } : {}),
      timestamp: Date.now(),
      data: { source: task.source, download_url: url, md5_code: o.md5 ?? createHash('md5').update(o.package).digest('hex') }
    }
    const send = () => this.client.publish(`${this.options.topicPrefix}/${o.deviceUid}/ota/upgrade/command`, JSON.stringify(command), { qos: 1 })
    send()
    const timer = setInterval(() => {
      if (task.status === 'sent') send()
      else {
        clearInterval(timer)
        this.timers.delete(timer)
      }
    }, this.options.repeatMs)
    this.timers.add(timer)
    return task
  }

  private onResult(topic: string, payload: Buffer): void {
    let msg: Record<string, unknown>
    try {
      msg = JSON.parse(payload.toString())
    } catch {
      return
    }
    const uid = topic.split('/').at(-4)
    const data = (msg['data'] ?? {}) as Record<string, unknown>
    const sub = typeof msg['sub_device_uid'] === 'string' ? msg['sub_device_uid'] : undefined
    // Results carry a new mid; correlate by trace_id, else by device + source.
    const task =
      [...this.tasks.values()].find((t) => msg['trace_id'] !== undefined && t.traceId === msg['trace_id']) ??
      [...this.tasks.values()].find((t) => t.deviceUid === uid && t.subDeviceUid === sub && t.source === data['source'] && (t.status === 'sent' || t.status === 'prepared'))
    if (!task) return
    task.results.push(msg)
    const status = data['status']
    if (status === 2) task.status = 'prepared'
    else if (status === 4) this.closeTask(task, 'succeeded', `final_version ${String(data['final_version'])}`)
    else if (status === 1 || status === 3 || status === 5 || status === 6) this.closeTask(task, 'failed', `status ${status}`)
    this.emit('result', task, msg)
  }

  private closeTask(t: WudunTask, status: 'succeeded' | 'failed', detail: string): void {
    t.status = status
    t.detail = detail
    this.emit('task-closed', t)
  }

  waitForTask(mid: string, timeoutMs = 60_000): Promise<WudunTask> {
    const task = this.tasks.get(mid)!
    return waitForClosed(this, task, (a, b) => a.mid === b.mid, (t) => t.status === 'succeeded' || t.status === 'failed', timeoutMs, () => `Wudun task ${mid} still ${task.status}`)
  }

  async close(): Promise<void> {
    for (const t of this.timers) clearInterval(t)
    await this.client?.endAsync(true).catch(() => undefined)
    await this.ownBroker?.close()
  }
}
