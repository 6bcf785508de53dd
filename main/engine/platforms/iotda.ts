import { createHash } from 'node:crypto'
import type { FailureReason, JobReport, OutboundMessage, UpgradeOrder } from '../model'
import type { AdapterContext, DownlinkAction, MqttLogin, PlatformAdapter } from './adapter'
import { decodeJsonObject, isRecord, num } from './codec-util'
import { iotdaClientId, iotdaEventTime, iotdaPassword, iotdaTimestamp } from './iotda-auth'

export interface IotdaAdapterOptions {
  deviceId: string
  secret?: string
  /** X.509 client certificate and key (PEM) instead of the secret. */
  cert?: string
  key?: string
  /** Client id `_0_1_`: the platform checks the timestamp (needs a correct PC clock). */
  checkTimestamp?: boolean
}

/** upgrade_progress_report result codes (iot_06_v5_3031). */
export const IOTDA_RESULT_CODES: Record<FailureReason, number> = {
  busy: 1,
  'download-timeout': 6,
  'download-refused': 6,
  'verification-failed': 7,
  'install-failed': 10,
  'version-mismatch': 10,
  cancelled: 255,
  internal: 255
}

const UPGRADE_EVENTS: Record<string, { kind: 'firmware' | 'software'; v2: boolean }> = {
  firmware_upgrade: { kind: 'firmware', v2: false },
  software_upgrade: { kind: 'software', v2: false },
  firmware_upgrade_v2: { kind: 'firmware', v2: true },
  software_upgrade_v2: { kind: 'software', v2: true }
}

const PHASE_TEXT: Record<string, string> = {
  downloading: 'downloading the package',
  verified: 'package verified',
  flashing: 'flashing the device',
  proving: 'verifying the new firmware'
}



/** Huawei Cloud IoTDA, device side (seeds 000/003, platform-protocols.md §A). */
export function createIotdaAdapter(o: IotdaAdapterOptions): PlatformAdapter {
  const up = `$oc/devices/${o.deviceId}/sys/events/up`
  const down = `$oc/devices/${o.deviceId}/sys/events/down`

  const envelope = (objectDeviceId: string, eventType: string, paras: Record<string, unknown>, now: Date): OutboundMessage => ({
    topic: up,
    payload: JSON.stringify({ object_device_id: objectDeviceId, services: [{ service_id: '$ota', event_type: eventType, event_time: iotdaEventTime(now), paras }] }),
    qos: 1
  })

  function decodeService(service: unknown, objectDeviceId: string | undefined, ctx: AdapterContext): DownlinkAction {
    if (!isRecord(service)) return { type: 'ignored', reason: 'a services[] entry is not an object' }
    if (service['service_id'] !== '$ota') return { type: 'ignored', reason: `service_id "${String(service['service_id'])}" is not $ota` }
    const eventType = service['event_type']
    if (typeof eventType !== 'string') return { type: 'ignored', reason: 'event_type is missing' }
    const paras = isRecord(service['paras']) ? service['paras'] : {}
    const target = objectDeviceId || o.deviceId
    const current = ctx.currentVersion(target)
    if (current === undefined) return { type: 'ignored', reason: `${eventType} for device "${target}", which no bench slot serves` }

    if (eventType === 'version_query') {
      return { type: 'reply', messages: [envelope(target, 'version_report', { fw_version: current, sw_version: current }, ctx.now())] }
    }
    const ev = UPGRADE_EVENTS[eventType]
    if (!ev) return { type: 'ignored', reason: `event_type "${eventType}" is not handled` }
    const version = paras['version']
    const url = paras['url']
    if (typeof version !== 'string' || !version) return { type: 'ignored', reason: `${eventType}: paras.version is missing or not a string` }
    if (typeof url !== 'string' || !url) return { type: 'ignored', reason: `${eventType}: paras.url is missing or not a string` }
    const receivedAt = ctx.now().getTime()
    const expires = num(paras['expires'])
    const size = num(paras['file_size'])
    const sign = typeof paras['sign'] === 'string' && /^[0-9a-fA-F]{64}$/.test(paras['sign']) ? paras['sign'].toLowerCase() : undefined
    const token = !ev.v2 && typeof paras['access_token'] === 'string' && paras['access_token'] ? paras['access_token'] : undefined
    const taskId = typeof paras['task_id'] === 'string' && paras['task_id'] ? paras['task_id'] : undefined
    const fileName = typeof paras['file_name'] === 'string' && paras['file_name'] ? paras['file_name'] : decodeURIComponent(url.split('?')[0]!.split('/').pop() || '') || undefined
    const order: UpgradeOrder = {
      platform: 'iotda',
      orderId: taskId ?? createHash('sha256').update(`${target}\n${eventType}\n${version}\n${url}`).digest('hex').slice(0, 16),
      deviceId: target,
      kind: ev.kind,
      targetVersion: version,
      source: { url, bearerToken: token, expiresAt: expires !== undefined ? receivedAt + expires * 1000 : undefined, fileName },
      expect: { size, sha256: sign },
      wire: { event_type: eventType, task_id: taskId, task_ext_info: paras['task_ext_info'] },
      receivedAt
    }
    return { type: 'order', order }
  }

  return {
    platform: 'iotda',
    login(now: Date): MqttLogin {
      const ts = iotdaTimestamp(now)
      const clientId = iotdaClientId(o.deviceId, ts, o.checkTimestamp ?? false)
      if (o.secret) return { clientId, username: o.deviceId, password: iotdaPassword(o.secret, ts) }
      return { clientId, username: o.deviceId, cert: o.cert, key: o.key }
    },
    subscriptions: () => [down],
    onConnected: () => [],
    decode(topic: string, payload: Buffer, ctx: AdapterContext): DownlinkAction[] {
      return decodeJsonObject(topic, down, payload, (msg) => {
        const services = msg['services']
        if (!Array.isArray(services) || services.length === 0) return [{ type: 'ignored', reason: 'services[] is missing or empty' }]
        const objectDeviceId = typeof msg['object_device_id'] === 'string' ? msg['object_device_id'] : undefined
        return services.map((s) => decodeService(s, objectDeviceId, ctx))
      })
    },
    encodeReport(report: JobReport, ctx: AdapterContext): OutboundMessage[] {
      const device = report.order.deviceId
      const now = ctx.now()
      let paras: Record<string, unknown>
      if (report.type === 'progress') {
        paras = { result_code: 0, progress: report.progress, version: report.currentVersion, description: report.description ?? PHASE_TEXT[report.phase] ?? report.phase }
      } else if (report.type === 'succeeded') {
        paras = { result_code: 0, progress: 100, version: report.version, description: 'upgrade success' }
      } else {
        paras = { result_code: IOTDA_RESULT_CODES[report.reason], version: report.currentVersion, description: report.message.slice(0, 200) }
      }
      return [envelope(device, 'upgrade_progress_report', paras, now)]
    }
  }
}
