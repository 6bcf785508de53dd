import { createHash, createHmac } from 'node:crypto'
import type { JobReport, OutboundMessage, UpgradeOrder } from '../model'
import type { AdapterContext, DownlinkAction, MqttLogin, PlatformAdapter } from './adapter'
import { decodeJsonObject, isRecord, num } from './codec-util'

/**
 * MXCHIP FogCloud, device side (seed 001, platform-protocols.md §B): Alibaba-style methods on
 * `fogcloud/{pk}/{dn}/thing/{up|down}/ota`. Devices are named `{productKey}/{deviceName}` inside the
 * engine, gateway children included, so one station can serve several products.
 */
export interface FogcloudAdapterOptions {
  productKey: string
  deviceName: string
  deviceSecret?: string
  /** OTA module reported with versions and progress (FogCloud default `default`). */
  module?: string
  /** MQTT signature method for the password (FogCloud default hmacsha1). */
  signMethod?: 'hmacsha1' | 'hmacmd5'
  /** Overrides for private brokers. */
  username?: string
  password?: string
  /** Gateway children as `{productKey}/{deviceName}`. */
  children?: string[]
}

export function fogcloudDeviceId(productKey: string, deviceName: string): string {
  return `${productKey}/${deviceName}`
}



/** FogCloud login (§B.2): username `dn&pk`, HMAC over `clientId…deviceName…productKey…` keyed by the secret. */
export function fogcloudLogin(o: { productKey: string; deviceName: string; deviceSecret: string; signMethod?: 'hmacsha1' | 'hmacmd5' }): Required<Pick<MqttLogin, 'clientId' | 'username' | 'password'>> {
  const method = o.signMethod ?? 'hmacsha1'
  const inner = `${o.productKey}&${o.deviceName}`
  const content = `clientId${inner}deviceName${o.deviceName}productKey${o.productKey}`
  const password = createHmac(method === 'hmacsha1' ? 'sha1' : 'md5', o.deviceSecret).update(content).digest('hex')
  return { clientId: `${inner}|signmethod=${method},authType=1|`, username: `${o.deviceName}&${o.productKey}`, password }
}

export function createFogcloudAdapter(o: FogcloudAdapterOptions): PlatformAdapter {
  const self = fogcloudDeviceId(o.productKey, o.deviceName)
  const up = `fogcloud/${o.productKey}/${o.deviceName}/thing/up/ota`
  const down = `fogcloud/${o.productKey}/${o.deviceName}/thing/down/ota`
  const module = o.module ?? 'default'
  let lastId = 0
  const nextId = (now: Date): number => (lastId = Math.max(lastId + 1, Math.floor(now.getTime() / 1000) % 1_000_000_000))
  const message = (method: string, params: unknown, now: Date): OutboundMessage => ({
    topic: up,
    payload: JSON.stringify({ id: nextId(now), version: '1.0', method, params }),
    qos: 1
  })
  const identity = (deviceId: string) => {
    const [product_key, ...rest] = deviceId.split('/')
    return { product_key, device_name: rest.join('/') }
  }

  function orderFrom(p: Record<string, unknown>, deviceId: string, method: string, ctx: AdapterContext): DownlinkAction {
    if (ctx.currentVersion(deviceId) === undefined) return { type: 'ignored', reason: `${method} for ${deviceId}, which no bench slot serves` }
    const version = p['version']
    const url = p['url']
    if (typeof version !== 'string' || !version) return { type: 'ignored', reason: `${method}: params.version is missing or not a string` }
    if (typeof url !== 'string' || !url) return { type: 'ignored', reason: `${method}: params.url is missing or not a string` }
    const sign = typeof p['sign'] === 'string' ? p['sign'].trim() : undefined
    const signMethod = typeof p['sign_method'] === 'string' ? p['sign_method'].toLowerCase() : 'md5'
    const checksum = typeof p['checksum'] === 'string' && /^[0-9a-fA-F]{8}$/.test(p['checksum']) ? p['checksum'].toLowerCase() : undefined
    const taskId = typeof p['task_id'] === 'string' || typeof p['task_id'] === 'number' ? String(p['task_id']) : undefined
    const mod = typeof p['module'] === 'string' && p['module'] ? p['module'] : module
    const expect: UpgradeOrder['expect'] = { size: num(p['size']), sum32: checksum }
    if (sign && signMethod === 'md5' && /^[0-9a-fA-F]{32}$/.test(sign)) expect.md5 = sign.toLowerCase()
    else if (sign && signMethod.replace('-', '') === 'sha256' && /^[0-9a-fA-F]{64}$/.test(sign)) expect.sha256 = sign.toLowerCase()
    else if (sign) return { type: 'ignored', reason: `${method}: sign "${sign}" is not a ${signMethod.toUpperCase()} digest; refusing an order that cannot be verified` }
    const order: UpgradeOrder = {
      platform: 'fogcloud',
      orderId: taskId ?? createHash('sha256').update(`${deviceId}\n${version}\n${url}`).digest('hex').slice(0, 16),
      deviceId,
      kind: 'firmware',
      targetVersion: version,
      source: { url, fileName: decodeURIComponent(url.split('?')[0]!.split('/').pop() || '') || undefined },
      expect,
      wire: { method, task_id: taskId, module: mod },
      receivedAt: ctx.now().getTime()
    }
    return { type: 'order', order }
  }

  function decodeMessage(msg: Record<string, unknown>, ctx: AdapterContext): DownlinkAction[] {
    const method = msg['method']
    if (typeof method !== 'string') return [{ type: 'ignored', reason: 'method is missing' }]
    const params = msg['params']
    if (method === 'firmware.post') {
      if (!isRecord(params)) return [{ type: 'ignored', reason: 'firmware.post: params is not an object' }]
      return [orderFrom(params, self, method, ctx)]
    }
    if (method === 'sub.firmware.post') {
      if (!Array.isArray(params) || params.length === 0) return [{ type: 'ignored', reason: 'sub.firmware.post: params is not a non-empty array' }]
      return params.map((p): DownlinkAction => {
        if (!isRecord(p) || !isRecord(p['identity'])) return { type: 'ignored', reason: 'sub.firmware.post: an entry has no identity' }
        const id = p['identity']
        if (typeof id['product_key'] !== 'string' || typeof id['device_name'] !== 'string') return { type: 'ignored', reason: 'sub.firmware.post: identity needs product_key and device_name' }
        return orderFrom(p, fogcloudDeviceId(id['product_key'], id['device_name']), method, ctx)
      })
    }
    return [{ type: 'ignored', reason: `method "${method}" needs no action` }]
  }

  return {
    platform: 'fogcloud',
    login(): MqttLogin {
      if (o.username !== undefined || o.password !== undefined || !o.deviceSecret) {
        const inner = `${o.productKey}&${o.deviceName}`
        return { clientId: `${inner}|signmethod=${o.signMethod ?? 'hmacsha1'},authType=1|`, username: o.username ?? `${o.deviceName}&${o.productKey}`, password: o.password }
      }
      return fogcloudLogin({ productKey: o.productKey, deviceName: o.deviceName, deviceSecret: o.deviceSecret, signMethod: o.signMethod })
    },
    subscriptions: () => [down],
    onConnected(ctx: AdapterContext): OutboundMessage[] {
      const now = ctx.now()
      const out: OutboundMessage[] = []
      const v = ctx.currentVersion(self)
      if (v !== undefined) out.push(message('version.post', { version: v, module }, now))
      const kids = (o.children ?? []).flatMap((c) => {
        const cv = ctx.currentVersion(c)
        return cv === undefined ? [] : [{ identity: identity(c), version: cv, module }]
      })
      if (kids.length) out.push(message('sub.version.post', kids, now))
      // Ask for an upgrade that was pushed while we were offline (v4.20).
      out.push(message('firmware.get', { module }, now))
      return out
    },
    decode(topic: string, payload: Buffer, ctx: AdapterContext): DownlinkAction[] {
      return decodeJsonObject(topic, down, payload, (msg) => decodeMessage(msg, ctx))
    },
    encodeReport(report: JobReport, ctx: AdapterContext): OutboundMessage[] {
      const now = ctx.now()
      const w = report.order.wire
      const mod = typeof w['module'] === 'string' ? w['module'] : module
      const base: Record<string, unknown> = { module: mod }
      if (typeof w['task_id'] === 'string') base['task_id'] = w['task_id']
      let upgrade: Record<string, unknown>
      if (report.type === 'progress') upgrade = { step: Math.max(0, Math.min(99, report.progress)), ...base }
      else if (report.type === 'succeeded') upgrade = { step: 100, ...base }
      else upgrade = { step: -1, desc: report.message.slice(0, 200), ...base }
      const child = report.order.deviceId !== self
      const out: OutboundMessage[] = []
      if (child) {
        out.push(message('sub.upgrade.post', [{ identity: identity(report.order.deviceId), ...upgrade }], now))
        if (report.type === 'succeeded') out.push(message('sub.version.post', [{ identity: identity(report.order.deviceId), version: report.version, module: mod }], now))
      } else {
        out.push(message('upgrade.post', upgrade, now))
        // The cloud closes the task from the version reported after the upgrade.
        if (report.type === 'succeeded') out.push(message('version.post', { version: report.version, module: mod }, now))
        // An expired URL: ask for a fresh firmware.post.
        if (report.type === 'failed' && report.reason === 'download-refused') out.push(message('firmware.get', { module: mod }, now))
      }
      return out
    }
  }
}
