import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import type { AdapterContext, DownlinkAction } from '../main/engine/platforms/adapter'
import { createFogcloudAdapter, fogcloudLogin } from '../main/engine/platforms/fogcloud'
import { createWudunAdapter, parseLenientJson, WUDUN_STATUS } from '../main/engine/platforms/wudun'
import type { UpgradeOrder } from '../main/engine/model'

const NOW = new Date(Date.UTC(2025, 6, 28, 8, 0, 0))
const ctx = (versions: Record<string, string>): AdapterContext => ({ currentVersion: (id) => versions[id], now: () => NOW })
const orderOf = (a: DownlinkAction[]): UpgradeOrder => {
  expect(a[0]!.type, JSON.stringify(a)).toBe('order')
  return (a[0] as { order: UpgradeOrder }).order
}
const body = (m: { payload: string }) => JSON.parse(m.payload)

describe('FogCloud adapter (seed 001)', () => {
  const PK = '12097812'
  const DN = '00000001'
  const self = `${PK}/${DN}`
  const DOWN = `fogcloud/${PK}/${DN}/thing/down/ota`
  const UP = `fogcloud/${PK}/${DN}/thing/up/ota`
  const a = createFogcloudAdapter({ productKey: PK, deviceName: DN, deviceSecret: 's3cret', module: 'mcu', children: [`${PK}/00000002`, `${PK}/00000003`, `${PK}/00000004`] })
  const c = ctx({ [self]: '1.0.0', [`${PK}/00000002`]: '1.0.0', [`${PK}/00000003`]: '1.0.0', [`${PK}/00000004`]: '0.9.0' })

  /** firmware.post exactly as the seed shows it (comments removed), with a real MD5 and checksum. */
  const FIRMWARE_POST = {
    id: 123,
    version: '1.0',
    method: 'firmware.post',
    params: {
      size: 93796291,
      sign: 'F8D85B250D4D787A9F483D89A9741234',
      version: '1.0.1',
      url: 'https://the_firmware_url/fw-1.0.1.bin',
      sign_method: 'MD5',
      checksum: '00FE0100',
      module: 'mcu',
      description: 'string',
      task_id: '123'
    }
  }

  it('logs in with username dn&pk, the FogCloud client id and an HMAC-SHA1 password', () => {
    const login = fogcloudLogin({ productKey: PK, deviceName: DN, deviceSecret: 's3cret' })
    expect(login.clientId).toBe(`${PK}&${DN}|signmethod=hmacsha1,authType=1|`)
    expect(login.username).toBe(`${DN}&${PK}`)
    expect(login.password).toMatch(/^[0-9a-f]{40}$/)
    expect(createFogcloudAdapter({ productKey: PK, deviceName: DN, username: 'u', password: 'p' }).login(NOW)).toMatchObject({ username: 'u', password: 'p' })
  })

  it('announces versions on connect (own and children as sub.version.post) and asks firmware.get', () => {
    const out = a.onConnected(c)
    expect(out.map((m) => body(m).method)).toEqual(['version.post', 'sub.version.post', 'firmware.get'])
    expect(out.every((m) => m.topic === UP && m.qos === 1)).toBe(true)
    expect(body(out[0]!)).toMatchObject({ version: '1.0', params: { version: '1.0.0', module: 'mcu' } })
    expect(typeof body(out[0]!).id).toBe('number')
    expect(body(out[1]!).params).toEqual([
      { identity: { product_key: PK, device_name: '00000002' }, version: '1.0.0', module: 'mcu' },
      { identity: { product_key: PK, device_name: '00000003' }, version: '1.0.0', module: 'mcu' },
      { identity: { product_key: PK, device_name: '00000004' }, version: '0.9.0', module: 'mcu' }
    ])
  })

  it('turns firmware.post into an order verified by MD5 (any case), size and the additive checksum', () => {
    const o = orderOf(a.decode(DOWN, Buffer.from(JSON.stringify(FIRMWARE_POST)), c))
    expect(o).toMatchObject({
      platform: 'fogcloud',
      orderId: '123',
      deviceId: self,
      targetVersion: '1.0.1',
      source: { url: 'https://the_firmware_url/fw-1.0.1.bin' },
      expect: { size: 93796291, md5: 'f8d85b250d4d787a9f483d89a9741234', sum32: '00fe0100' },
      wire: { task_id: '123', module: 'mcu' }
    })
    expect(o.source.bearerToken).toBeUndefined()
  })

  it('accepts an older firmware.post without checksum, and task_id as a number', () => {
    const p = structuredClone(FIRMWARE_POST) as { params: Record<string, unknown> }
    delete p.params['checksum']
    p.params['task_id'] = 456
    const o = orderOf(a.decode(DOWN, Buffer.from(JSON.stringify(p)), c))
    expect(o.expect.sum32).toBeUndefined()
    expect(o.orderId).toBe('456')
  })

  it('refuses an order whose sign is not a digest it can check (the doc example "f8d8…****")', () => {
    const p = structuredClone(FIRMWARE_POST)
    p.params.sign = 'f8d85b250d4d787a9f483d89a974****'
    expect(a.decode(DOWN, Buffer.from(JSON.stringify(p)), c)[0]).toMatchObject({ type: 'ignored', reason: expect.stringContaining('cannot be verified') })
  })

  it('splits a sub.firmware.post batch of three children into three orders, one per child slot', () => {
    const batch = {
      id: 124,
      version: '1.0',
      method: 'sub.firmware.post',
      params: ['00000002', '00000003', '00000004'].map((dn) => ({ identity: { product_key: PK, device_name: dn }, ...FIRMWARE_POST.params, desc: 'string' }))
    }
    const actions = a.decode(DOWN, Buffer.from(JSON.stringify(batch)), c)
    expect(actions.map((x) => (x as { order: UpgradeOrder }).order.deviceId)).toEqual([`${PK}/00000002`, `${PK}/00000003`, `${PK}/00000004`])
  })

  it('reports progress, success (then version.post) and failure (-1 with desc), echoing task_id and module', () => {
    const o = orderOf(a.decode(DOWN, Buffer.from(JSON.stringify(FIRMWARE_POST)), c))
    const [p] = a.encodeReport({ type: 'progress', order: o, phase: 'flashing', progress: 40, currentVersion: '1.0.0' }, c)
    expect(body(p!)).toMatchObject({ version: '1.0', method: 'upgrade.post', params: { step: 40, module: 'mcu', task_id: '123' } })
    const ok = a.encodeReport({ type: 'succeeded', order: o, version: '1.0.1' }, c)
    expect(ok.map((m) => body(m).method)).toEqual(['upgrade.post', 'version.post'])
    expect(body(ok[0]!).params).toEqual({ step: 100, module: 'mcu', task_id: '123' })
    expect(body(ok[1]!).params).toEqual({ version: '1.0.1', module: 'mcu' })
    const fail = a.encodeReport({ type: 'failed', order: o, reason: 'download-refused', message: 'URL expired', currentVersion: '1.0.0' }, c)
    expect(body(fail[0]!).params).toEqual({ step: -1, desc: 'URL expired', module: 'mcu', task_id: '123' })
    expect(body(fail[1]!).method).toBe('firmware.get')
    const ids = [...ok, ...fail].map((m) => body(m).id as number)
    expect(new Set(ids).size).toBe(ids.length)
  })

  it('reports a child with sub.upgrade.post / sub.version.post on the gateway topic', () => {
    const batch = { id: 1, version: '1.0', method: 'sub.firmware.post', params: [{ identity: { product_key: PK, device_name: '00000003' }, ...FIRMWARE_POST.params }] }
    const o = orderOf(a.decode(DOWN, Buffer.from(JSON.stringify(batch)), c))
    const out = a.encodeReport({ type: 'succeeded', order: o, version: '1.0.1' }, c)
    expect(out.map((m) => [m.topic, body(m).method])).toEqual([
      [UP, 'sub.upgrade.post'],
      [UP, 'sub.version.post']
    ])
    expect(body(out[0]!).params).toEqual([{ identity: { product_key: PK, device_name: '00000003' }, step: 100, module: 'mcu', task_id: '123' }])
  })

  it('never throws on malformed or random input', () => {
    const samples = ['', 'null', '{"method":1}', '{"method":"firmware.post","params":[]}', '{"method":"sub.firmware.post","params":[{}]}', '{"method":"firmware.post","params":{"version":"1","url":5}}']
    for (const s of samples) expect(a.decode(DOWN, Buffer.from(s), c).every((x) => x.type === 'ignored')).toBe(true)
    for (let i = 0; i < 2000; i++) expect(() => a.decode(DOWN, randomBytes(1 + (i % 200)), c)).not.toThrow()
  })
})

describe('Wudun adapter (seed 002)', () => {
  /** The command exactly as published, trailing comma included. */
  const SEED_COMMAND = `{
"trace_id": "577f5df0-65d6-432d-8aac-06hjkgfg2",
"mid": "ee2e8f09-b280-4e4d-bcb9-1529b703cfed",
"type": "ota_upgrade",
"device_uid": "test",
"timestamp": 1697789021000,
"data":{
"source": "ems_II",
"download_url": "http://example.com/ems_II",
"md5_code": "50a2811e047dd49ace3801685eedb732",
}
}`
  const a = createWudunAdapter({ deviceUid: 'test', topicPrefix: 'v1/wudun/PK1' })
  const CMD = 'v1/wudun/PK1/test/ota/upgrade/command'
  const RES = 'v1/wudun/PK1/test/ota/upgrade/result'
  const c = ctx({ test: '0.9.0', jHODSda39: '0.1.0' })

  it('parses the published command despite its trailing comma (and leaves commas in strings alone)', () => {
    expect(parseLenientJson('{"a":"x,}","b":[1,2,],}')).toEqual({ a: 'x,}', b: [1, 2] })
    const o = orderOf(a.decode(CMD, Buffer.from(SEED_COMMAND), c))
    expect(o).toMatchObject({
      platform: 'wudun',
      orderId: 'ee2e8f09-b280-4e4d-bcb9-1529b703cfed',
      deviceId: 'test',
      source: { url: 'http://example.com/ems_II' },
      expect: { md5: '50a2811e047dd49ace3801685eedb732' },
      wire: { trace_id: '577f5df0-65d6-432d-8aac-06hjkgfg2', source: 'ems_II' }
    })
    expect(a.subscriptions()).toEqual([CMD])
  })

  it('uses the configurable prefix (default v1) and the platform-default tenant prefix', () => {
    expect(createWudunAdapter({ deviceUid: 'd1' }).subscriptions()).toEqual(['v1/d1/ota/upgrade/command'])
    expect(createWudunAdapter({ deviceUid: 'd1', topicPrefix: 'v1/user/T9/' }).subscriptions()).toEqual(['v1/user/T9/d1/ota/upgrade/command'])
  })

  it('sends phase 1 (2 prepared) after verification and phase 2 (4 success) after flashing', () => {
    const o = orderOf(a.decode(CMD, Buffer.from(SEED_COMMAND), c))
    expect(a.encodeReport({ type: 'progress', order: o, phase: 'downloading', progress: 5, currentVersion: '0.9.0' }, c)).toEqual([])
    const [p1] = a.encodeReport({ type: 'progress', order: o, phase: 'verified', progress: 30, currentVersion: '0.9.0' }, c)
    const b1 = body(p1!)
    expect(p1!.topic).toBe(RES)
    expect(b1).toMatchObject({ trace_id: '577f5df0-65d6-432d-8aac-06hjkgfg2', type: 'ota_upgrade', device_uid: 'test', timestamp: NOW.getTime(), data: { source: 'ems_II', version: '0.9.0', status: 2 } })
    expect(b1.mid).toMatch(/^[0-9a-f-]{36}$/)
    expect(b1.mid).not.toBe('ee2e8f09-b280-4e4d-bcb9-1529b703cfed')
    const [p2] = a.encodeReport({ type: 'succeeded', order: { ...o, targetVersion: undefined }, version: '0.9.1' }, c)
    expect(body(p2!).data).toEqual({ source: 'ems_II', target_version: '0.9.1', final_version: '0.9.1', status: 4 })
  })

  it('maps failures: before flashing 3 (prepare failed), busy 1 (forbidden), during flashing 6 (rollback failed)', () => {
    const o = orderOf(a.decode(CMD, Buffer.from(SEED_COMMAND), c))
    const st = (reason: 'verification-failed' | 'busy' | 'install-failed') => body(a.encodeReport({ type: 'failed', order: o, reason, message: 'x', currentVersion: '0.9.0' }, c)[0]!).data.status
    expect([st('verification-failed'), st('busy'), st('install-failed')]).toEqual([WUDUN_STATUS.prepareFailed, WUDUN_STATUS.forbidden, WUDUN_STATUS.rollbackFailed])
  })

  it('routes sub_device_uid to the level-1 device slot and echoes it in results', () => {
    const cmd = JSON.stringify({ ...(parseLenientJson(SEED_COMMAND) as object), sub_device_uid: 'jHODSda39' })
    const o = orderOf(a.decode(CMD, Buffer.from(cmd), c))
    expect(o.deviceId).toBe('jHODSda39')
    const [m] = a.encodeReport({ type: 'succeeded', order: o, version: '1.0' }, c)
    expect(body(m!)).toMatchObject({ device_uid: 'test', sub_device_uid: 'jHODSda39' })
  })

  it('answers a source it may not touch with status 1 (forbidden) and no order', () => {
    const strict = createWudunAdapter({ deviceUid: 'test', topicPrefix: 'v1/wudun/PK1', source: 'bms' })
    const [act] = strict.decode(CMD, Buffer.from(SEED_COMMAND), c)
    expect(act!.type).toBe('reply')
    expect(body((act as { messages: Array<{ payload: string }> }).messages[0]!).data).toMatchObject({ source: 'ems_II', status: 1 })
  })

  it('ignores other devices, other types and malformed commands without throwing', () => {
    const other = SEED_COMMAND.replace('"device_uid": "test"', '"device_uid": "other"')
    expect(a.decode(CMD, Buffer.from(other), c)[0]).toMatchObject({ type: 'ignored', reason: expect.stringContaining('other') })
    expect(a.decode(CMD, Buffer.from(SEED_COMMAND.replace('50a2811e047dd49ace3801685eedb732', 'nope')), c)[0]).toMatchObject({ type: 'ignored' })
    for (let i = 0; i < 2000; i++) {
      const b = Buffer.from(SEED_COMMAND)
      b[(i * 7919) % b.length] = i & 0xff
      expect(() => a.decode(CMD, i % 3 ? b : randomBytes(i % 300), c)).not.toThrow()
    }
  })
})

describe('Wudun success without a known version', () => {
  it('reports status 4 without inventing a final_version when neither order nor probe gave one', () => {
    const a = createWudunAdapter({ deviceUid: 'd' })
    const c = ctx({ d: '1.0' })
    const cmd = '{"mid":"m1","type":"ota_upgrade","device_uid":"d","timestamp":1,"data":{"source":"s","download_url":"https://x/f","md5_code":"50a2811e047dd49ace3801685eedb732"}}'
    const o = orderOf(a.decode('v1/d/ota/upgrade/command', Buffer.from(cmd), c))
    const [m] = a.encodeReport({ type: 'succeeded', order: o, version: 'unknown' }, c)
    expect(body(m!).data).toEqual({ source: 's', status: 4 })
  })
})
