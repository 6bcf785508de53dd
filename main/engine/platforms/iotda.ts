import { createHash } from 'node:crypto'
import type { FailureReason, JobReport, OutboundMessage, UpgradeOrder } from '../model'
import type { AdapterContext, DownlinkAction, MqttLogin, PlatformAdapter } from './adapter'
import { decodeJsonObject, describeValue, fileNameFromUrl, isPresent, isRecord, LIMITS, num, optionalSize, packageUrlProblem, plainFileName, requiredString, wireValueProblem } from './codec-util'
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

const UPGRADE_EVENTS = new Map<string, { kind: 'firmware' | 'software'; v2: boolean }>([
  ['firmware_upgrade', { kind: 'firmware', v2: false }],
  ['software_upgrade', { kind: 'software', v2: false }],
  ['firmware_upgrade_v2', { kind: 'firmware', v2: true }],
  ['software_upgrade_v2', { kind: 'software', v2: true }]
])

const PHASE_TEXT: Record<string, string> = {
  downloading: 'downloading the package',
  verified: 'package verified',
  flashing: 'flashing the device',
  proving: 'verifying the new firmware'
}



/**
 * Huawei Cloud IoTDA, device side: the "Software and Firmware Upgrade" topics of the MQTT device API
 * (version_query iot_06_v5_3028, version_report iot_06_v5_3029, firmware_upgrade / software_upgrade
 * iot_06_v5_3030, upgrade_progress_report iot_06_v5_3031).
 */
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
    if (service['service_id'] !== '$ota') return { type: 'ignored', reason: `service_id ${describeValue(service['service_id'])} is not $ota` }
    const eventType = service['event_type']
    if (typeof eventType !== 'string') return { type: 'ignored', reason: 'event_type is missing' }
    const target = objectDeviceId || o.deviceId
    if (target.length > LIMITS.idChars) return { type: 'ignored', reason: `object_device_id is ${target.length} characters long (at most ${LIMITS.idChars}); no bench slot serves it` }
    const current = ctx.currentVersion(target)
    if (current === undefined) return { type: 'ignored', reason: `${describeValue(eventType)} for device ${describeValue(target)}, which no bench slot serves` }

    if (eventType === 'version_query') {
      return { type: 'reply', messages: [envelope(target, 'version_report', { fw_version: current, sw_version: current }, ctx.now())] }
    }
    const ev = UPGRADE_EVENTS.get(eventType)
    if (!ev) return { type: 'ignored', reason: `event_type ${describeValue(eventType)} is not handled` }
    return decodeUpgrade(eventType, ev, service['paras'], target, ctx)
  }

  /**
   * firmware_upgrade / software_upgrade (and _v2) paras, per "OTA upgrade" (iot_06_v5_3030). The device
   * is ours, so every order we cannot carry out is answered (refused with its result code) rather than
   * left to time out on the platform.
   */
  function decodeUpgrade(eventType: string, ev: { kind: 'firmware' | 'software'; v2: boolean }, rawParas: unknown, target: string, ctx: AdapterContext): DownlinkAction {
    const receivedAt = ctx.now().getTime()
    const paras = isRecord(rawParas) ? rawParas : {}
    const rawTask = paras['task_id']
    const taskId = (typeof rawTask === 'string' && rawTask) || typeof rawTask === 'number' ? String(rawTask) : undefined
    const text = (v: unknown) => (typeof v === 'string' ? v : '')
    const idParts = [target, eventType, text(paras['version']), text(paras['url'])]
    if (isPresent(rawTask)) idParts.push(text(rawTask))
    const safeTaskId = taskId !== undefined && taskId.length <= LIMITS.idChars ? taskId : undefined
    const orderId = safeTaskId ?? createHash('sha256').update(idParts.join('\n')).digest('hex').slice(0, 16)

    const version = requiredString('paras.version', paras['version'], LIMITS.versionChars)
    const url = packageUrlProblem('paras.url', paras['url'])
    const refuse = (reason: FailureReason, problem: string): DownlinkAction => ({
      type: 'refuse',
      reason,
      message: `${eventType}: ${problem}; the order was not carried out`,
      order: {
        platform: 'iotda',
        orderId,
        deviceId: target,
        kind: ev.kind,
        targetVersion: 'value' in version ? version.value : undefined,
        source: { url: 'url' in url ? url.url : '' },
        expect: {},
        wire: { event_type: eventType, task_id: safeTaskId },
        receivedAt
      }
    })

    if (!isRecord(rawParas)) return refuse('internal', 'paras is missing or not an object')
    if (isPresent(rawTask) && taskId === undefined) return refuse('internal', `paras.task_id ${describeValue(rawTask)} is not a string`)
    if (taskId !== undefined && safeTaskId === undefined) return refuse('internal', `paras.task_id is ${taskId.length} characters long (at most ${LIMITS.idChars})`)
    if ('problem' in version) return refuse('internal', version.problem)
    if ('problem' in url) return refuse('download-refused', url.problem)

    // v2 packages are presigned OBS URLs: no token is ever sent, whatever the message carries.
    const rawToken = ev.v2 ? undefined : paras['access_token']
    if (isPresent(rawToken) && (typeof rawToken !== 'string' || rawToken.length > LIMITS.tokenChars)) {
      return refuse('download-refused', `paras.access_token ${typeof rawToken === 'string' ? `is ${rawToken.length} characters long (at most ${LIMITS.tokenChars})` : `${describeValue(rawToken)} is not a string`}`)
    }
    const rawFileName = paras['file_name']
    if (isPresent(rawFileName) && (typeof rawFileName !== 'string' || rawFileName.length > LIMITS.fileNameChars)) {
      return refuse('internal', `paras.file_name ${typeof rawFileName === 'string' ? `is ${rawFileName.length} characters long (at most ${LIMITS.fileNameChars})` : `${describeValue(rawFileName)} is not a string`}`)
    }
    // sign is the package's SHA-256 (64 hex digits). One we cannot read must not become "no check".
    const rawSign = paras['sign']
    let sha256: string | undefined
    if (isPresent(rawSign)) {
      if (typeof rawSign !== 'string' || !/^[0-9a-fA-F]{64}$/.test(rawSign)) {
        return refuse('verification-failed', `paras.sign ${describeValue(rawSign, 80)} is not a SHA-256 digest (64 hex digits), so the package cannot be verified`)
      }
      sha256 = rawSign.toLowerCase()
    }
    const size = optionalSize('paras.file_size', paras['file_size'])
    if ('problem' in size) return refuse('verification-failed', `${size.problem}, so the package cannot be verified`)
    const extProblem = wireValueProblem('paras.task_ext_info', paras['task_ext_info'])
    if (extProblem) return refuse('internal', extProblem)

    const expires = num(paras['expires'])
    const fileName = (typeof rawFileName === 'string' && rawFileName ? plainFileName(rawFileName) : undefined) ?? fileNameFromUrl(url.url)
    const order: UpgradeOrder = {
      platform: 'iotda',
      orderId,
      deviceId: target,
      kind: ev.kind,
      targetVersion: version.value,
      source: { url: url.url, bearerToken: typeof rawToken === 'string' && rawToken ? rawToken : undefined, expiresAt: expires !== undefined ? receivedAt + expires * 1000 : undefined, fileName },
      expect: { size: size.size, sha256 },
      wire: { event_type: eventType, task_id: safeTaskId, task_ext_info: paras['task_ext_info'] },
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
        const actions = services.slice(0, LIMITS.batchEntries).map((s) => decodeService(s, objectDeviceId, ctx))
        if (services.length > LIMITS.batchEntries) actions.push({ type: 'ignored', reason: `services[] has ${services.length} entries; those after the first ${LIMITS.batchEntries} are not read` })
        return actions
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
