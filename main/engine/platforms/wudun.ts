import { randomUUID } from 'node:crypto'
import { UNKNOWN_VERSION, type JobReport, type OutboundMessage, type UpgradeOrder } from '../model'
import type { AdapterContext, DownlinkAction, MqttLogin, PlatformAdapter } from './adapter'
import { decodeJsonObject, isRecord } from './codec-util'

/**
 * Wudun EMS, device side (seed 002, platform-protocols.md §C). The broker is the customer's;
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
        (msg) => {
          if (msg['type'] !== 'ota_upgrade') return [{ type: 'ignored', reason: `type "${String(msg['type'])}" is not ota_upgrade` }]
          if (msg['device_uid'] !== o.deviceUid) return [{ type: 'ignored', reason: `device_uid "${String(msg['device_uid'])}" is not this device (${o.deviceUid})` }]
          const data = msg['data']
          if (!isRecord(data)) return [{ type: 'ignored', reason: 'data is missing' }]
          const url = data['download_url']
          const md5 = data['md5_code']
          const source = data['source']
          if (typeof url !== 'string' || !url) return [{ type: 'ignored', reason: 'data.download_url is missing' }]
          if (typeof md5 !== 'string' || !/^[0-9a-fA-F]{32}$/.test(md5)) return [{ type: 'ignored', reason: 'data.md5_code is missing or not 32 hex digits' }]
          const sub = typeof msg['sub_device_uid'] === 'string' && msg['sub_device_uid'] ? msg['sub_device_uid'] : undefined
          const deviceId = sub ?? o.deviceUid
          if (ctx.currentVersion(deviceId) === undefined) return [{ type: 'ignored', reason: `command for ${deviceId}, which no bench slot serves` }]
          const mid = typeof msg['mid'] === 'string' && msg['mid'] ? msg['mid'] : `${deviceId}-${md5.toLowerCase()}`
          const order: UpgradeOrder = {
            platform: 'wudun',
            orderId: mid,
            deviceId,
            kind: 'firmware',
            source: { url, fileName: decodeURIComponent(url.split('?')[0]!.split('/').pop() || '') || undefined },
            expect: { md5: md5.toLowerCase() },
            wire: { mid, trace_id: typeof msg['trace_id'] === 'string' ? msg['trace_id'] : undefined, source: typeof source === 'string' ? source : undefined },
            receivedAt: ctx.now().getTime()
          }
          if (o.source !== undefined && source !== o.source) {
            // Not an update target this station may touch: answer "forbidden" without downloading.
            return [{ type: 'reply', messages: [publish(order, { version: ctx.currentVersion(deviceId), status: WUDUN_STATUS.forbidden }, ctx.now())] }]
          }
          return [{ type: 'order', order }]
        },
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
      const before = report.reason === 'download-timeout' || report.reason === 'download-refused' || report.reason === 'verification-failed' || report.reason === 'internal'
      const status = report.reason === 'busy' ? WUDUN_STATUS.forbidden : before ? WUDUN_STATUS.prepareFailed : WUDUN_STATUS.rollbackFailed
      return [publish(order, { version: report.currentVersion, final_version: status === WUDUN_STATUS.rollbackFailed ? report.currentVersion : undefined, status }, now)]
    }
  }
}
