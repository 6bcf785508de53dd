import { createHash, randomUUID } from 'node:crypto'
import { UNKNOWN_VERSION, type FailureReason, type JobReport, type OutboundMessage, type UpgradeOrder } from '../model'
import type { AdapterContext, DownlinkAction, MqttLogin, PlatformAdapter } from './adapter'
import { decodeJsonObject, describeValue, fileNameFromUrl, isPresent, isRecord, LIMITS, packageUrlProblem } from './codec-util'

/**
 * Wudun EMS, device side (ems-doc "[未上线]OTA", api/mqtt/level-2-ems/ota.md, published at
 * ems.einfra.cn/api/mqtt/level-2-ems/ota). The broker is the customer's;
 * topics are `{prefix}/{device}/ota/upgrade/command|result` where the prefix is `v1` (newest doc),
 * `v1/wudun/{PRODUCT_KEY}` or `v1/user/{TENANT}`. Results go out in two phases: after download and
 * MD5 check (2 prepared / 3 prepare failed / 1 forbidden), then after flashing (4 success …).
 */
export interface WudunAdapterOptions {
  deviceUid: string
  /** Topic prefix before `/{device}/ota/…` (default `v1`). */
  topicPrefix?: string
  /** Only this update target is accepted; others are answered with status 1 (forbidden). */
  source?: string
  /** Level-1 devices this level-2 EMS flashes on their own bench ports (`sub_device_uid`). */
  children?: string[]
  clientId?: string
  username?: string
  password?: string
}

export const WUDUN_STATUS = { forbidden: 1, prepared: 2, prepareFailed: 3, success: 4, rollbackSuccess: 5, rollbackFailed: 6 } as const

/**
 * Parses JSON as the published example is written: trailing commas before `}` or `]` are tolerated
 * (outside strings), since senders copy the doc sample.
 */
export function parseLenientJson(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    let out = ''
    let inString = false
    for (let i = 0; i < text.length; i++) {
      const c = text[i]!
      if (inString) {
        out += c
        if (c === '\\') out += text[++i] ?? ''
        else if (c === '"') inString = false
        continue
      }
      if (c === '"') inString = true
      if (c === ',') {
        let j = i + 1
        while (j < text.length && /\s/.test(text[j]!)) j++
        if (text[j] === '}' || text[j] === ']') continue
      }
      out += c
    }
    return JSON.parse(out)
  }
}


export function createWudunAdapter(o: WudunAdapterOptions): PlatformAdapter {
  const prefix = (o.topicPrefix ?? 'v1').replace(/\/+$/, '')
  const command = `${prefix}/${o.deviceUid}/ota/upgrade/command`
  const result = `${prefix}/${o.deviceUid}/ota/upgrade/result`

  const publish = (order: UpgradeOrder, data: Record<string, unknown>, now: Date): OutboundMessage => {
    const w = order.wire
    const body: Record<string, unknown> = {}
    if (typeof w['trace_id'] === 'string') body['trace_id'] = w['trace_id']
    body['mid'] = randomUUID()
    body['type'] = 'ota_upgrade'
    body['device_uid'] = o.deviceUid
    if (order.deviceId !== o.deviceUid) body['sub_device_uid'] = order.deviceId
    body['timestamp'] = now.getTime()
    body['data'] = { source: w['source'], ...data }
    return { topic: result, payload: JSON.stringify(body), qos: 1 }
  }

  /**
   * The `ota_upgrade` command. Once the device is ours, every order we cannot carry out is answered
   * with phase-1 status 3 (prepare failed) instead of being left unanswered; `md5_code` is the only
   * digest the command carries.
   */
  function decodeCommand(msg: Record<string, unknown>, ctx: AdapterContext): DownlinkAction[] {
    if (msg['type'] !== 'ota_upgrade') return [{ type: 'ignored', reason: `type ${describeValue(msg['type'])} is not ota_upgrade` }]
    if (msg['device_uid'] !== o.deviceUid) return [{ type: 'ignored', reason: `device_uid ${describeValue(msg['device_uid'], 80)} is not this device (${o.deviceUid})` }]
    const rawSub = msg['sub_device_uid']
    const deviceId = typeof rawSub === 'string' && rawSub ? rawSub : o.deviceUid
    if (deviceId.length > LIMITS.idChars) return [{ type: 'ignored', reason: `sub_device_uid is ${deviceId.length} characters long (at most ${LIMITS.idChars}); no bench slot serves it` }]
    if (ctx.currentVersion(deviceId) === undefined) return [{ type: 'ignored', reason: `command for ${describeValue(deviceId, 80)}, which no bench slot serves` }]
    // trace_id and source are echoed in both results: ones we will not echo leave nothing to answer with.
    const rawTrace = msg['trace_id']
    if (typeof rawTrace === 'string' && rawTrace.length > LIMITS.idChars) return [{ type: 'ignored', reason: `trace_id is ${rawTrace.length} characters long (at most ${LIMITS.idChars}); not echoed, so the command cannot be answered` }]
    const data = isRecord(msg['data']) ? msg['data'] : {}
    const rawSource = data['source']
    if (typeof rawSource === 'string' && rawSource.length > LIMITS.idChars) return [{ type: 'ignored', reason: `data.source is ${rawSource.length} characters long (at most ${LIMITS.idChars}); not echoed, so the command cannot be answered` }]
    const source = typeof rawSource === 'string' ? rawSource : undefined
    const rawMid = msg['mid']
    const text = (v: unknown) => (typeof v === 'string' ? v : '')
    const mid =
      typeof rawMid === 'string' && rawMid && rawMid.length <= LIMITS.idChars
        ? rawMid
        : `${deviceId}-${createHash('sha256').update(`${text(rawMid)}\n${text(data['download_url'])}\n${text(data['md5_code'])}`).digest('hex').slice(0, 16)}`
    const base = {
      platform: 'wudun' as const,
      orderId: mid,
      deviceId,
      kind: 'firmware' as const,
      wire: { mid, trace_id: typeof rawTrace === 'string' ? rawTrace : undefined, source },
      receivedAt: ctx.now().getTime()
    }
    if (o.source !== undefined && source !== o.source) {
      // Not an update target this station may touch: answer "forbidden" without downloading.
      const order: UpgradeOrder = { ...base, source: { url: '' }, expect: {} }
      return [{ type: 'reply', messages: [publish(order, { version: ctx.currentVersion(deviceId), status: WUDUN_STATUS.forbidden }, ctx.now())] }]
    }
    const url = packageUrlProblem('data.download_url', data['download_url'])
    const refuse = (reason: FailureReason, problem: string): DownlinkAction[] => [
      { type: 'refuse', reason, message: `ota_upgrade: ${problem}; the command was not carried out`, order: { ...base, source: { url: 'url' in url ? url.url : '' }, expect: {} } }
    ]
    if (!isRecord(msg['data'])) return refuse('internal', 'data is missing or not an object')
    if ('problem' in url) return refuse('download-refused', url.problem)
    const rawMd5 = data['md5_code']
    // A command without md5_code is the station's to refuse (or allow); one we cannot read is refused here.
    if (isPresent(rawMd5) && (typeof rawMd5 !== 'string' || !/^[0-9a-fA-F]{32}$/.test(rawMd5))) {
      return refuse('verification-failed', `data.md5_code ${describeValue(rawMd5, 80)} is not an MD5 digest (32 hex digits), so the package cannot be verified`)
    }
    const order: UpgradeOrder = {
      ...base,
      source: { url: url.url, fileName: fileNameFromUrl(url.url) },
      expect: typeof rawMd5 === 'string' && rawMd5 ? { md5: rawMd5.toLowerCase() } : {}
    }
    return [{ type: 'order', order }]
  }

  return {
    platform: 'wudun',
    login(): MqttLogin {
      return { clientId: o.clientId ?? `flashline-${o.deviceUid}`, username: o.username, password: o.password }
    },
    subscriptions: () => [command],
    onConnected: () => [],
    decode(topic: string, payload: Buffer, ctx: AdapterContext): DownlinkAction[] {
      return decodeJsonObject(
        topic,
        command,
        payload,
        (msg) => decodeCommand(msg, ctx),
        parseLenientJson
      )
    },
    encodeReport(report: JobReport, ctx: AdapterContext): OutboundMessage[] {
      const now = ctx.now()
      const order = report.order
      if (report.type === 'progress') {
        // Phase 1 is the only intermediate result Wudun knows: the file is downloaded and checked.
        if (report.phase !== 'verified') return []
        return [publish(order, { version: report.currentVersion, status: WUDUN_STATUS.prepared }, now)]
      }
      if (report.type === 'succeeded') {
        const known = report.version !== UNKNOWN_VERSION
        return [publish(order, { target_version: order.targetVersion ?? (known ? report.version : undefined), final_version: known ? report.version : undefined, status: WUDUN_STATUS.success }, now)]
      }
      const before =
        report.deviceTouched !== undefined
          ? !report.deviceTouched
          : report.reason === 'download-timeout' || report.reason === 'download-refused' || report.reason === 'verification-failed' || report.reason === 'internal'
      const status = report.reason === 'busy' ? WUDUN_STATUS.forbidden : before ? WUDUN_STATUS.prepareFailed : WUDUN_STATUS.rollbackFailed
      return [publish(order, { version: report.currentVersion, final_version: status === WUDUN_STATUS.rollbackFailed ? report.currentVersion : undefined, status }, now)]
    }
  }
}
