import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import type { AdapterContext, DownlinkAction } from '../main/engine/platforms/adapter'
import { createFogcloudAdapter, fogcloudLogin } from '../main/engine/platforms/fogcloud'
import { createWudunAdapter, parseLenientJson } from '../main/engine/platforms/wudun'
import type { UpgradeOrder } from '../main/engine/model'

const NOW = new Date(Date.UTC(2025, 6, 28, 8, 0, 0))
const ctx = (versions: Record<string, string>): AdapterContext => ({ currentVersion: (id) => versions[id], now: () => NOW })
const orderOf = (a: DownlinkAction[]): UpgradeOrder => {
  expect(a[0]!.type, JSON.stringify(a)).toBe('order')
  return (a[0] as { order: UpgradeOrder }).order
}
const body = (m: { payload: string }) => JSON.parse(m.payload)

describe('FogCloud adapter (docs.fogcloud.io v4.20 OTA and device authentication pages)', () => {
  const PK = '12097812'
  const DN = '00000001'
  const self = `${PK}/${DN}`
  const DOWN = `fogcloud/${PK}/${DN}/thing/down/ota`
  const UP = `fogcloud/${PK}/${DN}/thing/up/ota`
  const a = createFogcloudAdapter({ productKey: PK, deviceName: DN, deviceSecret: 's3cret', module: 'mcu', children: [`${PK}/00000002`, `${PK}/00000003`, `${PK}/00000004`] })
  const c = ctx({ [self]: '1.0.0', [`${PK}/00000002`]: '1.0.0', [`${PK}/00000003`]: '1.0.0', [`${PK}/00000004`]: '0.9.0' })

  /** firmware.post exactly as the FogCloud OTA page shows it (comments removed), with a real MD5 and checksum. */
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

  it('logs in with username dn&pk, the FogCloud client id and the HMAC password (vectors from openssl)', () => {
    // C='clientId12097812&00000001deviceName00000001productKey12097812'
    // printf '%s' "$C" | openssl dgst -sha1 -hmac s3cret  →  5d073dc980610a0aa124231c7b66b2c468c8a5f9
    // printf '%s' "$C" | openssl dgst -md5 -hmac s3cret   →  32a61462740a9796ce0a0a807fde4250
    expect(fogcloudLogin({ productKey: PK, deviceName: DN, deviceSecret: 's3cret' })).toEqual({
      clientId: `${PK}&${DN}|signmethod=hmacsha1,authType=1|`,
      username: `${DN}&${PK}`,
      password: '5d073dc980610a0aa124231c7b66b2c468c8a5f9'
    })
    expect(createFogcloudAdapter({ productKey: PK, deviceName: DN, deviceSecret: 's3cret', signMethod: 'hmacmd5' }).login(NOW)).toEqual({
      clientId: `${PK}&${DN}|signmethod=hmacmd5,authType=1|`,
      username: `${DN}&${PK}`,
      password: '32a61462740a9796ce0a0a807fde4250'
    })
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

  const refused = (actions: DownlinkAction[]): Extract<DownlinkAction, { type: 'refuse' }> => {
    expect(actions.map((x) => x.type), JSON.stringify(actions).slice(0, 300)).toEqual(['refuse'])
    return actions[0] as Extract<DownlinkAction, { type: 'refuse' }>
  }
  const post = (params: Record<string, unknown>) => Buffer.from(JSON.stringify({ ...FIRMWARE_POST, params: { ...FIRMWARE_POST.params, ...params } }))

  it('refuses (step -1, no download) an order whose sign or checksum it cannot read, e.g. the doc example "f8d8…****"', () => {
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ sign: 'f8d85b250d4d787a9f483d89a974****' }, /sign "f8d85b250d4d787a9f483d89a974\*\*\*\*" is not a MD5 digest \(32 hex digits\), so the package cannot be verified/],
      [{ sign: 12345 }, /sign 12345 is not a MD5 digest/],
      [{ sign: 'F8D85B250D4D787A9F483D89A9741234', sign_method: 'SHA256' }, /is not a SHA-256 digest \(64 hex digits\)/],
      [{ sign_method: 'SHA1' }, /sign_method "SHA1" is not MD5 or SHA256/],
      [{ sign_method: 7 }, /sign_method 7 is not a string/],
      [{ checksum: 'xxxxxxxx' }, /checksum "xxxxxxxx" is not 4 bytes in hex/],
      [{ checksum: 16711936 }, /checksum 16711936 is not 4 bytes in hex/],
      [{ size: 'huge' }, /params\.size "huge" is not a byte count/]
    ]
    for (const [params, message] of cases) {
      const r = refused(a.decode(DOWN, post(params), c))
      expect(r.reason).toBe('verification-failed')
      expect(r.message).toMatch(message)
      expect(r.order).toMatchObject({ orderId: '123', deviceId: self, expect: {}, wire: { task_id: '123', module: 'mcu' } })
      const out = a.encodeReport({ type: 'failed', order: r.order, reason: r.reason, message: r.message, currentVersion: '1.0.0' }, c)
      expect(out.map((m) => body(m).method)).toEqual(['upgrade.post'])
      expect(body(out[0]!).params).toMatchObject({ step: -1, module: 'mcu', task_id: '123' })
    }
    // sign left out (or empty): an order without a digest, the station's to refuse or allow
    const o = orderOf(a.decode(DOWN, post({ sign: '', checksum: undefined }), c))
    expect(o.expect).toEqual({ size: 93796291 })
  })

  it('refuses orders it cannot carry out (bad url or version) without asking firmware.get again', () => {
    const cases: Array<[Record<string, unknown>, string, RegExp]> = [
      [{ url: 5 }, 'download-refused', /params\.url is missing or not a string \(got 5\)/],
      [{ url: 'ftp://h/fw.bin' }, 'download-refused', /unsupported scheme "ftp:"/],
      [{ url: 'fw.bin' }, 'download-refused', /params\.url "fw\.bin" is not a valid URL/],
      [{ url: `https://h/${'u'.repeat(1_000_000)}` }, 'download-refused', /params\.url is 1000010 characters long \(at most 8192\)/],
      [{ version: '' }, 'internal', /params\.version is missing or not a string/],
      [{ version: '1'.repeat(1_000_000) }, 'internal', /params\.version is 1000000 characters long \(at most 256\)/]
    ]
    for (const [params, reason, message] of cases) {
      const r = refused(a.decode(DOWN, post(params), c))
      expect(r.reason).toBe(reason)
      expect(r.message).toMatch(message)
      expect(JSON.stringify(r).length).toBeLessThan(2000)
      const out = a.encodeReport({ type: 'failed', order: r.order, reason: r.reason, message: r.message, currentVersion: '1.0.0' }, c)
      expect(out.map((m) => body(m).method)).toEqual(['upgrade.post'])
    }
    // an expired URL on a real download still asks for a fresh firmware.post
    const o = orderOf(a.decode(DOWN, post({}), c))
    expect(a.encodeReport({ type: 'failed', order: o, reason: 'download-refused', message: 'HTTP 403', currentVersion: '1.0.0' }, c).map((m) => body(m).method)).toEqual(['upgrade.post', 'firmware.get'])
  })

  it('ignores, with a reason, orders whose task_id or module it could not echo', () => {
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ task_id: 't'.repeat(1_000_000) }, /task_id is 1000000 characters long \(at most 128\); not echoed/],
      [{ task_id: { id: 1 } }, /task_id an object is not a string or number/],
      [{ module: 'm'.repeat(5000) }, /module is 5000 characters long \(at most 128\)/]
    ]
    for (const [params, reason] of cases) {
      const actions = a.decode(DOWN, post(params), c)
      expect(actions).toEqual([{ type: 'ignored', reason: expect.stringMatching(reason) }])
    }
  })

  it('derives file names safely from URLs with malformed percent-encoding (B10)', () => {
    expect(orderOf(a.decode(DOWN, post({ url: 'https://h/p%zz.bin' }), c)).source).toEqual({ url: 'https://h/p%zz.bin', fileName: 'p%zz.bin' })
    expect(orderOf(a.decode(DOWN, post({ url: 'https://h/fw%201.bin' }), c)).source.fileName).toBe('fw 1.bin')
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

  it('malformed messages are ignored with their reason; random bytes never reach a decoder exception', () => {
    const cases: Array<[string, string | RegExp]> = [
      ['', /^not JSON/],
      ['null', 'the message is not a JSON object'],
      ['{"method":1}', 'method is missing'],
      ['{"method":"firmware.post","params":[]}', 'firmware.post: params is not an object'],
      ['{"method":"sub.firmware.post","params":[]}', 'sub.firmware.post: params is not a non-empty array'],
      ['{"method":"sub.firmware.post","params":[{}]}', 'sub.firmware.post: an entry has no identity'],
      ['{"method":"sub.firmware.post","params":[{"identity":{"product_key":1}}]}', 'sub.firmware.post: identity needs product_key and device_name'],
      ['{"method":"version.post","params":{}}', 'method "version.post" needs no action'],
      [JSON.stringify({ method: 'firmware.post', params: { version: '1', url: 'https://x' } }).replace('"method"', '"x"'), 'method is missing']
    ]
    for (const [s, reason] of cases) {
      const actions = a.decode(DOWN, Buffer.from(s), c)
      expect(actions, s).toHaveLength(1)
      expect(actions[0]).toEqual({ type: 'ignored', reason: typeof reason === 'string' ? reason : expect.stringMatching(reason) })
    }
    const stranger = createFogcloudAdapter({ productKey: PK, deviceName: DN, deviceSecret: 's' })
    expect(stranger.decode(DOWN, Buffer.from(JSON.stringify(FIRMWARE_POST)), ctx({}))).toEqual([{ type: 'ignored', reason: `firmware.post for "${self}", which no bench slot serves` }])
    for (let i = 0; i < 2000; i++) {
      const buf = i % 2 ? randomBytes(1 + (i % 200)) : Buffer.from(JSON.stringify(FIRMWARE_POST))
      if (i % 2 === 0) buf[(i * 7919) % buf.length] = i & 0xff
      for (const x of a.decode(DOWN, buf, c)) expect(x.type, JSON.stringify(x)).not.toBe('decode-error')
    }
  })
})

describe('Wudun adapter (ems-doc api/mqtt/level-2-ems/ota.md)', () => {
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
    // ems-doc OTA result status: 1 禁止更新 (forbidden), 3 更新准备失败 (prepare failed), 6 回滚失败 (rollback failed)
    expect([st('verification-failed'), st('busy'), st('install-failed')]).toEqual([3, 1, 6])
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
    // forbidden wins over anything else wrong with the command: nothing is touched either way
    const [bad] = strict.decode(CMD, Buffer.from(SEED_COMMAND.replace('50a2811e047dd49ace3801685eedb732', 'nope')), c)
    expect(body((bad as { messages: Array<{ payload: string }> }).messages[0]!).data.status).toBe(1)
  })

  it('ignores other devices and other types, each with its reason', () => {
    const cases: Array<[string, string]> = [
      [SEED_COMMAND.replace('"device_uid": "test"', '"device_uid": "other"'), 'device_uid "other" is not this device (test)'],
      [SEED_COMMAND.replace('"type": "ota_upgrade"', '"type": "ota_rollback"'), 'type "ota_rollback" is not ota_upgrade'],
      [JSON.stringify({ ...(parseLenientJson(SEED_COMMAND) as object), sub_device_uid: 'nobody' }), 'command for "nobody", which no bench slot serves'],
      [JSON.stringify({ ...(parseLenientJson(SEED_COMMAND) as object), trace_id: 'x'.repeat(200) }), 'trace_id is 200 characters long (at most 128); not echoed, so the command cannot be answered'],
      ['{"type":"ota_upgrade","device_uid":"test","data":{"source":"' + 's'.repeat(300) + '"}}', 'data.source is 300 characters long (at most 128); not echoed, so the command cannot be answered'],
      ['{"a":1,', expect.stringMatching(/^not JSON/) as unknown as string]
    ]
    for (const [cmd, reason] of cases) expect(a.decode(CMD, Buffer.from(cmd), c)).toEqual([{ type: 'ignored', reason }])
  })

  it('refuses (status 3, prepare failed) a command for its device that it cannot carry out', () => {
    const withData = (data: Record<string, unknown>) => Buffer.from(JSON.stringify({ ...(parseLenientJson(SEED_COMMAND) as Record<string, unknown>), data: { source: 'ems_II', download_url: 'https://h/ems_II', md5_code: '50a2811e047dd49ace3801685eedb732', ...data } }))
    const cases: Array<[Buffer, string, RegExp]> = [
      [Buffer.from(SEED_COMMAND.replace('50a2811e047dd49ace3801685eedb732', 'nope')), 'verification-failed', /data\.md5_code "nope" is not an MD5 digest \(32 hex digits\)/],
      [withData({ md5_code: 42 }), 'verification-failed', /data\.md5_code 42 is not an MD5 digest/],
      [withData({ download_url: undefined }), 'download-refused', /data\.download_url is missing or not a string/],
      [withData({ download_url: 'file:///etc/shadow' }), 'download-refused', /unsupported scheme "file:"/],
      [Buffer.from('{"mid":"m9","type":"ota_upgrade","device_uid":"test","data":7}'), 'internal', /data is missing or not an object/]
    ]
    for (const [cmd, reason, message] of cases) {
      const actions = a.decode(CMD, cmd, c)
      expect(actions.map((x) => x.type)).toEqual(['refuse'])
      const r = actions[0] as Extract<DownlinkAction, { type: 'refuse' }>
      expect(r.reason).toBe(reason)
      expect(r.message).toMatch(message)
      const [m] = a.encodeReport({ type: 'failed', order: r.order, reason: r.reason, message: r.message, currentVersion: '0.9.0' }, c)
      expect(body(m!).data.status).toBe(3)
    }
    // no md5_code at all: an order without a digest, for the station to refuse or allow
    expect(orderOf(a.decode(CMD, withData({ md5_code: undefined }), c)).expect).toEqual({})
  })

  it('derives file names safely from URLs with malformed percent-encoding (B10); random bytes never reach a decoder exception', () => {
    const cmd = SEED_COMMAND.replace('http://example.com/ems_II', 'https://h/p%zz.bin')
    expect(orderOf(a.decode(CMD, Buffer.from(cmd), c)).source).toEqual({ url: 'https://h/p%zz.bin', fileName: 'p%zz.bin' })
    for (let i = 0; i < 2000; i++) {
      const b = Buffer.from(SEED_COMMAND)
      b[(i * 7919) % b.length] = i & 0xff
      for (const x of a.decode(CMD, i % 3 ? b : randomBytes(i % 300), c)) expect(x.type, JSON.stringify(x)).not.toBe('decode-error')
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
