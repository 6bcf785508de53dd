import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import type { AdapterContext, DownlinkAction } from '../main/engine/platforms/adapter'
import { createIotdaAdapter, IOTDA_RESULT_CODES } from '../main/engine/platforms/iotda'
import { iotdaClientId, iotdaEventTime, iotdaPassword, iotdaTimestamp } from '../main/engine/platforms/iotda-auth'
import { verifyIotdaLogin } from '../main/engine/sim/iotda-login'
import type { FailureReason, UpgradeOrder } from '../main/engine/model'

const NOW = new Date(Date.UTC(2024, 0, 2, 3, 4, 5))
const DOWN = '$oc/devices/gw01/sys/events/down'
const UP = '$oc/devices/gw01/sys/events/up'

function ctx(versions: Record<string, string> = { gw01: 'v1.0' }): AdapterContext {
  return { currentVersion: (id) => versions[id], now: () => NOW }
}

const adapter = createIotdaAdapter({ deviceId: 'gw01', secret: 'mysecret' })

/** The firmware_upgrade example of Huawei IoTDA "OTA upgrade" device API (iot_06_v5_3030). */
const DOC_UPGRADE = {
  object_device_id: 'gw01',
  services: [
    {
      service_id: '$ota',
      event_type: 'firmware_upgrade',
      event_time: '20151212T121212Z',
      paras: {
        version: 'v1.2',
        url: 'https://100.93.28.202:8943/iodm/dev/v2.0/upgradefile/applications/***/devices/***/packages/***',
        file_size: 81362928,
        file_name: 'upgrade.bin',
        access_token: '595124473f866b033dfa1f',
        expires: 86400,
        sign: '595124473f866b033dfa1f7e831c8c99a12f6143f392dfa996a819010842c99d',
        custom_info: 'This upgrade package adds some new features.',
        task_id: '65d31bf2581ed33a42a58d76',
        sub_device_count: 2,
        task_ext_info: { device_type: 'DDC' }
      }
    }
  ]
}

function decode(body: unknown, c = ctx()): DownlinkAction[] {
  return adapter.decode(DOWN, Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)), c)
}

function orderOf(actions: DownlinkAction[]): UpgradeOrder {
  expect(actions).toHaveLength(1)
  expect(actions[0]!.type).toBe('order')
  return (actions[0] as { order: UpgradeOrder }).order
}

describe('IoTDA login', () => {
  // printf '%s' mysecret | openssl dgst -sha256 -hmac 2024010203
  //   → dd5d9832a96e3fb79f8817f5efe39c3e86afdbe8b9c43644539ae6d64e7d6dae
  it('matches the HMAC-SHA256 vector computed by openssl and the client id format', () => {
    expect(iotdaPassword('mysecret', '2024010203')).toBe('dd5d9832a96e3fb79f8817f5efe39c3e86afdbe8b9c43644539ae6d64e7d6dae')
    expect(iotdaTimestamp(NOW)).toBe('2024010203')
    expect(iotdaClientId('mydevice', '2024010203', false)).toBe('mydevice_0_0_2024010203')
    expect(createIotdaAdapter({ deviceId: 'mydevice', secret: 'mysecret', checkTimestamp: true }).login(NOW)).toEqual({
      clientId: 'mydevice_0_1_2024010203',
      username: 'mydevice',
      password: 'dd5d9832a96e3fb79f8817f5efe39c3e86afdbe8b9c43644539ae6d64e7d6dae'
    })
  })

  it('uses the certificate instead of a password for X.509 devices', () => {
    const login = createIotdaAdapter({ deviceId: 'd', cert: 'CERT', key: 'KEY' }).login(NOW)
    expect(login).toEqual({ clientId: 'd_0_0_2024010203', username: 'd', cert: 'CERT', key: 'KEY' })
  })

  it('is checked by the simulated cloud like the platform does (its own code, the openssl vector)', () => {
    const secretOf = (id: string) => (id === 'mydevice' ? 'mysecret' : undefined)
    const good = { clientId: 'mydevice_0_1_2024010203', username: 'mydevice', password: 'dd5d9832a96e3fb79f8817f5efe39c3e86afdbe8b9c43644539ae6d64e7d6dae' }
    expect(verifyIotdaLogin(good, secretOf, NOW)).toEqual({ ok: true, deviceId: 'mydevice' })
    expect(verifyIotdaLogin({ ...good, password: 'x' }, secretOf, NOW).ok).toBe(false)
    expect(verifyIotdaLogin(good, secretOf, new Date(Date.UTC(2024, 0, 3))).ok).toBe(false) // stale stamp with _0_1_
    expect(verifyIotdaLogin({ ...good, clientId: 'mydevice_0_0_2024010203' }, secretOf, new Date(Date.UTC(2024, 0, 3))).ok).toBe(true)
    expect(verifyIotdaLogin({ ...good, username: 'other' }, secretOf, NOW).ok).toBe(false)
    expect(verifyIotdaLogin({ ...good, clientId: 'stranger_0_0_2024010203', username: 'stranger' }, secretOf, NOW)).toEqual({ ok: false, reason: 'unknown device "stranger"' })
  })

  it('formats event_time as yyyyMMddTHHmmssZ in UTC', () => {
    expect(iotdaEventTime(NOW)).toBe('20240102T030405Z')
  })

  it('subscribes explicitly to the down topic', () => {
    expect(adapter.subscriptions()).toEqual([DOWN])
  })
})

describe('IoTDA downlinks', () => {
  it('answers version_query with a version_report carrying fw_version and sw_version', () => {
    const actions = decode({ object_device_id: 'gw01', services: [{ service_id: '$ota', event_type: 'version_query', event_time: '20151212T121212Z', paras: {} }] })
    expect(actions).toEqual([
      {
        type: 'reply',
        messages: [
          {
            topic: UP,
            qos: 1,
            payload: '{"object_device_id":"gw01","services":[{"service_id":"$ota","event_type":"version_report","event_time":"20240102T030405Z","paras":{"fw_version":"v1.0","sw_version":"v1.0"}}]}'
          }
        ]
      }
    ])
  })

  it('maps the documented firmware_upgrade to an order (bearer token, SHA-256, size, expiry)', () => {
    const o = orderOf(decode(DOC_UPGRADE))
    expect(o).toMatchObject({
      platform: 'iotda',
      orderId: '65d31bf2581ed33a42a58d76',
      deviceId: 'gw01',
      kind: 'firmware',
      targetVersion: 'v1.2',
      source: { url: DOC_UPGRADE.services[0]!.paras.url, bearerToken: '595124473f866b033dfa1f', expiresAt: NOW.getTime() + 86400_000, fileName: 'upgrade.bin' },
      expect: { size: 81362928, sha256: '595124473f866b033dfa1f7e831c8c99a12f6143f392dfa996a819010842c99d' },
      wire: { event_type: 'firmware_upgrade', task_id: '65d31bf2581ed33a42a58d76', task_ext_info: { device_type: 'DDC' } }
    })
  })

  it('accepts task_ext_info as a string, numbers as strings, and missing optional fields', () => {
    const body = structuredClone(DOC_UPGRADE) as { services: Array<{ paras: Record<string, unknown> }> }
    const p = body.services[0]!.paras
    p['task_ext_info'] = '{"device_type":"DDC"}'
    p['file_size'] = '81362928'
    delete p['task_id']
    delete p['expires']
    delete p['custom_info']
    const o = orderOf(decode(body))
    expect(o.expect.size).toBe(81362928)
    expect(o.wire['task_ext_info']).toBe('{"device_type":"DDC"}')
    expect(o.orderId).toMatch(/^[0-9a-f]{16}$/)
    expect(o.source.expiresAt).toBeUndefined()
  })

  it('never sends a token for _v2 (presigned OBS URL), even if one is present', () => {
    const body = structuredClone(DOC_UPGRADE)
    body.services[0]!.event_type = 'software_upgrade_v2'
    body.services[0]!.paras.url = 'https://obs.example.com/bucket/pkg-2.bin?AccessKeyId=A&Expires=1&Signature=S'
    delete (body.services[0]!.paras as Record<string, unknown>)['file_name']
    const o = orderOf(decode(body))
    expect(o.kind).toBe('software')
    expect(o.source.bearerToken).toBeUndefined()
    expect(o.source.fileName).toBe('pkg-2.bin')
  })

  it('routes an order for a gateway child to the child slot', () => {
    const body = structuredClone(DOC_UPGRADE)
    body.object_device_id = 'child7'
    const o = orderOf(decode(body, ctx({ gw01: 'g1', child7: 'c1' })))
    expect(o.deviceId).toBe('child7')
  })

  it('ignores orders for devices no slot serves, other services and unknown events, with a reason', () => {
    const body = structuredClone(DOC_UPGRADE)
    body.object_device_id = 'stranger'
    expect(decode(body)).toEqual([{ type: 'ignored', reason: expect.stringContaining('stranger') }])
    expect(decode({ services: [{ service_id: 'temp', event_type: 'x' }] })[0]).toMatchObject({ type: 'ignored', reason: expect.stringContaining('$ota') })
    expect(decode({ services: [{ service_id: '$ota', event_type: 'module_upgrade_notify' }] })[0]).toMatchObject({ type: 'ignored' })
  })

  const upgrade = (paras: Record<string, unknown>, eventType = 'firmware_upgrade') => ({ object_device_id: 'gw01', services: [{ service_id: '$ota', event_type: eventType, paras }] })
  const SIGN = '595124473f866b033dfa1f7e831c8c99a12f6143f392dfa996a819010842c99d'
  const GOOD = { version: 'v1.2', url: 'https://h:8943/p/upgrade.bin', sign: SIGN, task_id: 't1' }

  /** Exactly one action, of the given type; never the decoder's own failure. */
  function only(actions: DownlinkAction[], type: DownlinkAction['type']): DownlinkAction {
    expect(actions, JSON.stringify(actions).slice(0, 300)).toHaveLength(1)
    expect(actions[0]!.type, JSON.stringify(actions[0]).slice(0, 300)).toBe(type)
    return actions[0]!
  }

  it('malformed messages that are no order for us are ignored, each with its reason', () => {
    const cases: Array<[string, RegExp]> = [
      ['not json', /^not JSON/],
      ['null', /not a JSON object/],
      ['[]', /not a JSON object/],
      ['42', /not a JSON object/],
      ['{"services":{}}', /services\[\] is missing or empty/],
      ['{"services":[]}', /services\[\] is missing or empty/],
      ['{"services":[null]}', /a services\[\] entry is not an object/],
      ['{"services":[{"service_id":"temp","event_type":"x"}]}', /service_id "temp" is not \$ota/],
      ['{"services":[{"service_id":"$ota"}]}', /event_type is missing/],
      ['{"services":[{"service_id":"$ota","event_type":"constructor","paras":{}}]}', /event_type "constructor" is not handled/],
      ['{"services":[{"service_id":"$ota","event_type":"__proto__","paras":{}}]}', /event_type "__proto__" is not handled/],
      [JSON.stringify(DOC_UPGRADE).slice(0, 120), /^not JSON/],
      [JSON.stringify({ ...upgrade(GOOD), object_device_id: 'stranger' }), /"firmware_upgrade" for device "stranger", which no bench slot serves/]
    ]
    for (const [body, reason] of cases) {
      const a = only(decode(body), 'ignored') as { reason: string }
      expect(a.reason, body).toMatch(reason)
    }
  })

  it('a service_id nested thousands of levels deep is described, not stringified (no decoder exception)', () => {
    const deep = '['.repeat(6000) + ']'.repeat(6000)
    const a = only(decode(`{"services":[{"service_id":${deep},"event_type":"firmware_upgrade"}]}`), 'ignored') as { reason: string }
    expect(a.reason).toBe('service_id an array is not $ota')
  })

  it('an order for our device that we cannot carry out is refused with its result code, never left unanswered', () => {
    const cases: Array<[string, Record<string, unknown> | string, FailureReason, number, RegExp]> = [
      ['no paras', 'none', 'internal', 255, /paras is missing or not an object/],
      ['version not a string', { ...GOOD, version: 1 }, 'internal', 255, /paras\.version is missing or not a string \(got 1\)/],
      ['version missing', { ...GOOD, version: undefined }, 'internal', 255, /paras\.version is missing/],
      ['url null', { ...GOOD, url: null }, 'download-refused', 6, /paras\.url is missing or not a string \(got null\)/],
      ['url not a URL', { ...GOOD, url: 'upgrade.bin' }, 'download-refused', 6, /paras\.url "upgrade\.bin" is not a valid URL/],
      ['ftp scheme', { ...GOOD, url: 'ftp://h/p.bin' }, 'download-refused', 6, /unsupported scheme "ftp:"/],
      ['file scheme', { ...GOOD, url: 'file:///etc/passwd' }, 'download-refused', 6, /unsupported scheme "file:"/],
      ['task_id an object', { ...GOOD, task_id: { a: 1 } }, 'internal', 255, /paras\.task_id an object is not a string/],
      ['access_token a number', { ...GOOD, access_token: 5 }, 'download-refused', 6, /paras\.access_token 5 is not a string/],
      ['file_name an array', { ...GOOD, file_name: ['a'] }, 'internal', 255, /paras\.file_name an array is not a string/],
      ['file_size not a count', { ...GOOD, file_size: 'big' }, 'verification-failed', 7, /paras\.file_size "big" is not a byte count/],
      ['file_size negative', { ...GOOD, file_size: -1 }, 'verification-failed', 7, /paras\.file_size -1 is not a byte count/]
    ]
    for (const [name, paras, reason, code, message] of cases) {
      const a = only(decode(typeof paras === 'string' ? { object_device_id: 'gw01', services: [{ service_id: '$ota', event_type: 'firmware_upgrade' }] } : upgrade(paras)), 'refuse') as Extract<DownlinkAction, { type: 'refuse' }>
      expect(a.reason, name).toBe(reason)
      expect(a.message, name).toMatch(message)
      expect(a.order.deviceId).toBe('gw01')
      const [m] = adapter.encodeReport({ type: 'failed', order: a.order, reason: a.reason, message: a.message, currentVersion: 'v1.0' }, ctx())
      expect(JSON.parse(m!.payload).services[0].paras.result_code, name).toBe(code)
    }
  })

  it('a present but malformed sign is refused as verification-failed (result_code 7), on v1 and v2 alike', () => {
    for (const sign of ['abc', 'zz'.repeat(32), SIGN.slice(1), SIGN + '0', 'f8d85b250d4d787a9f483d89a974****', 42, { sha256: SIGN }, true]) {
      for (const ev of ['firmware_upgrade', 'software_upgrade_v2']) {
        const a = only(decode(upgrade({ ...GOOD, sign }, ev)), 'refuse') as Extract<DownlinkAction, { type: 'refuse' }>
        expect(a.reason).toBe('verification-failed')
        expect(a.message).toMatch(/paras\.sign .* is not a SHA-256 digest \(64 hex digits\), so the package cannot be verified/)
        expect(a.order).toMatchObject({ orderId: 't1', targetVersion: 'v1.2', expect: {} })
        const [m] = adapter.encodeReport({ type: 'failed', order: a.order, reason: a.reason, message: a.message, currentVersion: 'v1.0' }, ctx())
        expect(JSON.parse(m!.payload).services[0].paras).toMatchObject({ result_code: 7, version: 'v1.0' })
      }
    }
    // No sign at all is an order without a digest: the station decides (refused unless allowUnverified).
    for (const sign of [undefined, null, '']) {
      const o = orderOf(decode(upgrade({ ...GOOD, sign })))
      expect(o.expect.sha256).toBeUndefined()
    }
    expect(orderOf(decode(upgrade({ ...GOOD, sign: SIGN.toUpperCase() }))).expect.sha256).toBe(SIGN)
  })

  it('derives the file name from a URL with malformed percent-encoding instead of dropping the order (B10)', () => {
    const cases: Array<[string, string | undefined]> = [
      ['https://h/p%zz.bin', 'p%zz.bin'],
      ['https://x/%E0%A4%A', '%E0%A4%A'],
      ['https://h/dir/fw%201.0.bin?sig=%zz', 'fw 1.0.bin'],
      ['https://h/a%2Fb%2F..%2Fc.bin', 'c.bin'],
      ['https://h/%00%0a.bin', '.bin'],
      ['https://h/', undefined],
      ['https://h/..', undefined]
    ]
    for (const [url, fileName] of cases) {
      const o = orderOf(decode(upgrade({ version: 'v1.2', url, sign: SIGN })))
      expect(o.source.url).toBe(url)
      expect(o.source.fileName, url).toBe(fileName)
    }
    // file_name from the message wins, reduced to a plain name
    expect(orderOf(decode(upgrade({ ...GOOD, file_name: '../../etc/x.bin' }))).source.fileName).toBe('x.bin')
  })
})

describe('IoTDA downlinks from a hostile sender (bounded wire)', () => {
  const SIGN = '595124473f866b033dfa1f7e831c8c99a12f6143f392dfa996a819010842c99d'
  const GOOD = { version: 'v1.2', url: 'https://h:8943/p/upgrade.bin', sign: SIGN, task_id: '65d31bf2581ed33a42a58d76' }
  const MB = 1_000_000

  /** The B6 payload: a 36 KB firmware_upgrade whose task_ext_info is nested 6000 levels deep. */
  const DEEP_B6 = `{"object_device_id":"gw01","services":[{"service_id":"$ota","event_type":"firmware_upgrade","paras":{"version":"v1.2","url":"https://h:8943/p/upgrade.bin","sign":"${SIGN}","task_id":"65d31bf2581ed33a42a58d76","task_ext_info":${'{"x":'.repeat(6000)}0${'}'.repeat(6000)}}}]}`

  function refusal(body: unknown): Extract<DownlinkAction, { type: 'refuse' }> {
    const actions = decode(body)
    expect(actions.map((a) => a.type)).toEqual(['refuse'])
    return actions[0] as Extract<DownlinkAction, { type: 'refuse' }>
  }

  it('B6: task_ext_info nested 6000 levels deep is refused; nothing deep is kept, so the journal can serialise it', () => {
    expect(DEEP_B6.length).toBeGreaterThan(36_000)
    const a = refusal(DEEP_B6)
    expect(a.reason).toBe('internal')
    expect(a.message).toMatch(/paras\.task_ext_info is nested more than 32 levels deep/)
    expect(a.order.orderId).toBe('65d31bf2581ed33a42a58d76')
    expect(a.order.wire).toEqual({ event_type: 'firmware_upgrade', task_id: '65d31bf2581ed33a42a58d76' })
    expect(JSON.stringify(a).length).toBeLessThan(2000)
  })

  it('keeps task_ext_info up to 32 levels, refuses 33', () => {
    const nest = (n: number): unknown => (n === 1 ? { x: 0 } : { x: nest(n - 1) })
    expect(orderOf(decode({ object_device_id: 'gw01', services: [{ service_id: '$ota', event_type: 'firmware_upgrade', paras: { ...GOOD, task_ext_info: nest(32) } }] })).wire['task_ext_info']).toEqual(nest(32))
    expect(refusal({ object_device_id: 'gw01', services: [{ service_id: '$ota', event_type: 'firmware_upgrade', paras: { ...GOOD, task_ext_info: nest(33) } }] }).message).toMatch(/nested more than 32/)
    const wide = { list: Array.from({ length: 2000 }, (_, i) => i) }
    expect(refusal({ object_device_id: 'gw01', services: [{ service_id: '$ota', event_type: 'firmware_upgrade', paras: { ...GOOD, task_ext_info: wide } }] }).message).toMatch(/task_ext_info is \d+ characters of JSON \(at most 8192/)
  })

  it('oversize strings are refused and never echoed: a 1 MB version is answered with the current version', () => {
    const body = (paras: Record<string, unknown>) => ({ object_device_id: 'gw01', services: [{ service_id: '$ota', event_type: 'firmware_upgrade', paras }] })
    const cases: Array<[string, Record<string, unknown>, FailureReason, RegExp]> = [
      ['version', { ...GOOD, version: 'v'.repeat(MB) }, 'internal', /paras\.version is 1000000 characters long \(at most 256\)/],
      ['task_id', { ...GOOD, task_id: 't'.repeat(MB) }, 'internal', /paras\.task_id is 1000000 characters long \(at most 128\)/],
      ['file_name', { ...GOOD, file_name: 'f'.repeat(MB) }, 'internal', /paras\.file_name is 1000000 characters long \(at most 255\)/],
      ['access_token', { ...GOOD, access_token: 'a'.repeat(MB) }, 'download-refused', /paras\.access_token is 1000000 characters long \(at most 4096\)/],
      ['url', { ...GOOD, url: `https://h/${'u'.repeat(MB)}` }, 'download-refused', /paras\.url is 1000010 characters long \(at most 8192\)/],
      ['task_ext_info string', { ...GOOD, task_ext_info: 'e'.repeat(MB) }, 'internal', /paras\.task_ext_info is 1000000 characters long/]
    ]
    for (const [name, paras, reason, message] of cases) {
      const a = refusal(body(paras))
      expect(a.reason, name).toBe(reason)
      expect(a.message, name).toMatch(message)
      const kept = JSON.stringify(a)
      expect(kept.length, name).toBeLessThan(2000)
      const [m] = adapter.encodeReport({ type: 'failed', order: a.order, reason: a.reason, message: a.message, currentVersion: 'v1.0' }, ctx())
      expect(m!.payload.length, name).toBeLessThan(1000)
      expect(JSON.parse(m!.payload).services[0].paras.version).toBe('v1.0')
    }
  })

  it('a payload over 1 MiB is not read; a services[] batch is read up to 64 entries', () => {
    const big = Buffer.alloc(1024 * 1024 + 1, 0x20)
    expect(adapter.decode(DOWN, big, ctx())).toEqual([{ type: 'ignored', reason: 'the message is 1048577 bytes long; downlinks over 1048576 bytes are not read' }])
    const many = { object_device_id: 'gw01', services: Array.from({ length: 5000 }, () => ({ service_id: '$ota', event_type: 'version_query', paras: {} })) }
    const actions = decode(many)
    expect(actions).toHaveLength(65)
    expect(actions.slice(0, 64).every((a) => a.type === 'reply')).toBe(true)
    expect(actions[64]).toEqual({ type: 'ignored', reason: 'services[] has 5000 entries; those after the first 64 are not read' })
  })

  it('random and mutated bytes: every outcome is a deliberate one (never decode-error), and what is kept stays small', () => {
    const valid = JSON.stringify(DOC_UPGRADE)
    const seen = new Set<string>()
    for (let i = 0; i < 3000; i++) {
      const buf = i % 2 ? randomBytes(1 + (i % 300)) : Buffer.from(valid)
      if (i % 2 === 0) for (let k = 0; k < 1 + (i % 5); k++) buf[(i * 7919 + k * 104729) % buf.length] = (i * 31 + k) & 0xff
      const actions = adapter.decode(DOWN, buf, ctx())
      expect(actions.length).toBeGreaterThan(0)
      for (const a of actions) {
        seen.add(a.type)
        expect(a.type, JSON.stringify(a)).not.toBe('decode-error')
        if (a.type === 'ignored') expect(a.reason.length).toBeGreaterThan(0)
        if (a.type === 'order' || a.type === 'refuse') expect(JSON.stringify(a.order).length).toBeLessThan(20_000)
      }
    }
    expect([...seen].sort()).toEqual(['ignored', 'order', 'refuse'])
  })
})

describe('IoTDA reports', () => {
  const order = orderOf(decode(DOC_UPGRADE))
  const paras = (m: { payload: string }) => JSON.parse(m.payload).services[0].paras
  const envelope = (m: { payload: string }) => JSON.parse(m.payload)

  it('progress: result_code 0 with progress and the current version', () => {
    const [m] = adapter.encodeReport({ type: 'progress', order, phase: 'flashing', progress: 40, currentVersion: 'v1.0' }, ctx())
    expect(m!.topic).toBe(UP)
    expect(m!.qos).toBe(1)
    expect(envelope(m!)).toMatchObject({ object_device_id: 'gw01', services: [{ service_id: '$ota', event_type: 'upgrade_progress_report', event_time: '20240102T030405Z' }] })
    expect(paras(m!)).toEqual({ result_code: 0, progress: 40, version: 'v1.0', description: 'flashing the device' })
  })

  it('success: result_code 0, progress 100 and the version exactly as ordered', () => {
    const [m] = adapter.encodeReport({ type: 'succeeded', order, version: 'v1.2' }, ctx())
    expect(paras(m!)).toEqual({ result_code: 0, progress: 100, version: 'v1.2', description: 'upgrade success' })
  })

  it('failures carry the documented result codes and the current version', () => {
    const want: Record<FailureReason, number> = { 'download-timeout': 6, 'download-refused': 6, 'verification-failed': 7, 'install-failed': 10, 'version-mismatch': 10, busy: 1, cancelled: 255, internal: 255 }
    expect(IOTDA_RESULT_CODES).toEqual(want)
    for (const [reason, code] of Object.entries(want)) {
      const [m] = adapter.encodeReport({ type: 'failed', order, reason: reason as FailureReason, message: 'why', currentVersion: 'v1.0' }, ctx())
      expect(paras(m!)).toEqual({ result_code: code, version: 'v1.0', description: 'why' })
    }
  })

  it('reports for a child go on the gateway topic with the child id', () => {
    const child = { ...order, deviceId: 'child7' }
    const [m] = adapter.encodeReport({ type: 'succeeded', order: child, version: 'v1.2' }, ctx())
    expect(m!.topic).toBe(UP)
    expect(envelope(m!).object_device_id).toBe('child7')
  })
})
