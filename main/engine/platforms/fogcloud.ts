import { createHash, createHmac } from 'node:crypto'
import type { FailureReason, JobReport, OutboundMessage, UpgradeOrder } from '../model'
import type { AdapterContext, DownlinkAction, MqttLogin, PlatformAdapter } from './adapter'
import { decodeJsonObject, describeValue, fileNameFromUrl, isPresent, isRecord, LIMITS, optionalSize, packageUrlProblem, requiredString } from './codec-util'

/**
 * MXCHIP FogCloud, device side (FogCloud v4.20 device docs, "OTA" topic page pmo7fr4r8ho3xizo and
 * "device authentication" gxiex4if2sghn767 on docs.fogcloud.io): Alibaba-style methods on
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



/** FogCloud device authentication: username `dn&pk`, HMAC over `clientId…deviceName…productKey…` keyed by the secret. */
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

  /**
   * firmware.post / sub.firmware.post params. Once the device is ours and the task can be named in
   * the answer, every order we cannot carry out is answered with step -1 (refused), never left
   * hanging; `sign` is the file's digest in `sign_method` (MD5 by default) and `checksum` the additive
   * byte sum, 4 bytes little-endian in hex.
   */
  function orderFrom(p: Record<string, unknown>, deviceId: string, method: string, ctx: AdapterContext): DownlinkAction {
    if (deviceId.length > 2 * LIMITS.idChars + 1) return { type: 'ignored', reason: `${method}: the identity is ${deviceId.length} characters long; no bench slot serves it` }
    if (ctx.currentVersion(deviceId) === undefined) return { type: 'ignored', reason: `${method} for ${describeValue(deviceId, 80)}, which no bench slot serves` }
    const rawTask = p['task_id']
    const taskId = (typeof rawTask === 'string' && rawTask) || typeof rawTask === 'number' ? String(rawTask) : undefined
    // task_id and module are echoed in every report: without a usable one the answer would name no task.
    if (isPresent(rawTask) && taskId === undefined) return { type: 'ignored', reason: `${method}: task_id ${describeValue(rawTask)} is not a string or number, so no report could name the task` }
    if (taskId !== undefined && taskId.length > LIMITS.idChars) return { type: 'ignored', reason: `${method}: task_id is ${taskId.length} characters long (at most ${LIMITS.idChars}); not echoed, so the order cannot be answered` }
    const rawModule = p['module']
    if (typeof rawModule === 'string' && rawModule.length > LIMITS.idChars) return { type: 'ignored', reason: `${method}: module is ${rawModule.length} characters long (at most ${LIMITS.idChars}); not echoed, so the order cannot be answered` }
    const mod = typeof rawModule === 'string' && rawModule ? rawModule : module

    const text = (v: unknown) => (typeof v === 'string' ? v : '')
    const orderId = taskId ?? createHash('sha256').update(`${deviceId}\n${text(p['version'])}\n${text(p['url'])}`).digest('hex').slice(0, 16)
    const version = requiredString('params.version', p['version'], LIMITS.versionChars)
    const url = packageUrlProblem('params.url', p['url'])
    const base = { platform: 'fogcloud' as const, orderId, deviceId, kind: 'firmware' as const, receivedAt: ctx.now().getTime() }
    const refuse = (reason: FailureReason, problem: string): DownlinkAction => ({
      type: 'refuse',
      reason,
      message: `${method}: ${problem}; the order was not carried out`,
      order: { ...base, targetVersion: 'value' in version ? version.value : undefined, source: { url: 'url' in url ? url.url : '' }, expect: {}, wire: { method, task_id: taskId, module: mod, refused: true } }
    })
    if ('problem' in version) return refuse('internal', version.problem)
    if ('problem' in url) return refuse('download-refused', url.problem)
    const size = optionalSize('params.size', p['size'])
    if ('problem' in size) return refuse('verification-failed', `${size.problem}, so the package cannot be verified`)

    // A digest we cannot read must never turn into "no check".
    const expect: UpgradeOrder['expect'] = { size: size.size }
    const rawSign = p['sign']
    if (isPresent(rawSign)) {
      const rawMethod = p['sign_method']
      if (isPresent(rawMethod) && typeof rawMethod !== 'string') return refuse('verification-failed', `sign_method ${describeValue(rawMethod)} is not a string, so the package cannot be verified`)
      const signMethod = typeof rawMethod === 'string' && rawMethod ? rawMethod.toLowerCase().replace('-', '') : 'md5'
      const sign = typeof rawSign === 'string' ? rawSign.trim() : undefined
      if (signMethod === 'md5' && sign && /^[0-9a-fA-F]{32}$/.test(sign)) expect.md5 = sign.toLowerCase()
      else if (signMethod === 'sha256' && sign && /^[0-9a-fA-F]{64}$/.test(sign)) expect.sha256 = sign.toLowerCase()
      else if (signMethod !== 'md5' && signMethod !== 'sha256') return refuse('verification-failed', `sign_method ${describeValue(rawMethod)} is not MD5 or SHA256, so the package cannot be verified`)
      else return refuse('verification-failed', `sign ${describeValue(rawSign, 80)} is not a ${signMethod === 'md5' ? 'MD5 digest (32' : 'SHA-256 digest (64'} hex digits), so the package cannot be verified`)
    }
    const rawChecksum = p['checksum']
    if (isPresent(rawChecksum)) {
      if (typeof rawChecksum !== 'string' || !/^[0-9a-fA-F]{8}$/.test(rawChecksum)) return refuse('verification-failed', `checksum ${describeValue(rawChecksum)} is not 4 bytes in hex, so the package cannot be verified`)
      expect.sum32 = rawChecksum.toLowerCase()
    }
    const order: UpgradeOrder = {
      ...base,
      targetVersion: version.value,
      source: { url: url.url, fileName: fileNameFromUrl(url.url) },
      expect,
      wire: { method, task_id: taskId, module: mod }
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
      const actions = params.slice(0, LIMITS.batchEntries).map((p): DownlinkAction => {
        if (!isRecord(p) || !isRecord(p['identity'])) return { type: 'ignored', reason: 'sub.firmware.post: an entry has no identity' }
        const id = p['identity']
        if (typeof id['product_key'] !== 'string' || typeof id['device_name'] !== 'string') return { type: 'ignored', reason: 'sub.firmware.post: identity needs product_key and device_name' }
        return orderFrom(p, fogcloudDeviceId(id['product_key'], id['device_name']), method, ctx)
      })
      if (params.length > LIMITS.batchEntries) actions.push({ type: 'ignored', reason: `sub.firmware.post: params has ${params.length} entries; those after the first ${LIMITS.batchEntries} are not read` })
      return actions
    }
    return [{ type: 'ignored', reason: `method ${describeValue(method)} needs no action` }]
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
        // An expired URL: ask for a fresh firmware.post (not after refusing the order itself, which the
        // cloud would only push again, nor when stating the result again for an order that came back:
        // the cloud answers firmware.get by pushing the order again, which would be answered the same way).
        if (report.type === 'failed' && report.reason === 'download-refused' && w['refused'] !== true && !report.replay) out.push(message('firmware.get', { module: mod }, now))
      }
      return out
    }
  }
}
