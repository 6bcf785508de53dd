import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import type { AdapterContext, DownlinkAction } from '../main/engine/platforms/adapter'
import { createIotdaAdapter, IOTDA_RESULT_CODES } from '../main/engine/platforms/iotda'
import { iotdaClientId, iotdaEventTime, iotdaPassword, iotdaTimestamp, verifyIotdaLogin } from '../main/engine/platforms/iotda-auth'
import type { FailureReason, UpgradeOrder } from '../main/engine/model'

const NOW = new Date(Date.UTC(2024, 0, 2, 3, 4, 5))
const DOWN = '$oc/devices/gw01/sys/events/down'
const UP = '$oc/devices/gw01/sys/events/up'

function ctx(versions: Record<string, string> = { gw01: 'v1.0' }): AdapterContext {
  return { currentVersion: (id) => versions[id], now: () => NOW }
}

const adapter = createIotdaAdapter({ deviceId: 'gw01', secret: 'mysecret' })

/** The firmware_upgrade example of iot_06_v5_3030 (platform-protocols.md §A.4). */
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
  it('matches the documented HMAC-SHA256 vector and client id format', () => {
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

  it('is checked by the simulated cloud like the platform does', () => {
    const secretOf = (id: string) => (id === 'mydevice' ? 'mysecret' : undefined)
    const good = { clientId: 'mydevice_0_1_2024010203', username: 'mydevice', password: iotdaPassword('mysecret', '2024010203') }
    expect(verifyIotdaLogin(good, secretOf, NOW)).toEqual({ ok: true, deviceId: 'mydevice' })
    expect(verifyIotdaLogin({ ...good, password: 'x' }, secretOf, NOW).ok).toBe(false)
    expect(verifyIotdaLogin(good, secretOf, new Date(Date.UTC(2024, 0, 3))).ok).toBe(false) // stale stamp with _0_1_
    expect(verifyIotdaLogin({ ...good, clientId: 'mydevice_0_0_2024010203' }, secretOf, new Date(Date.UTC(2024, 0, 3))).ok).toBe(true)
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

  it('never throws on malformed input: each bad message becomes "ignored" with a reason', () => {
    const bad: unknown[] = [
      'not json',
      'null',
      '[]',
      '42',
      '{"services":{}}',
      '{"services":[null]}',
      '{"services":[{"service_id":"$ota","event_type":"firmware_upgrade"}]}',
      '{"services":[{"service_id":"$ota","event_type":"firmware_upgrade","paras":{"version":1,"url":"https://x"}}]}',
      '{"services":[{"service_id":"$ota","event_type":"firmware_upgrade","paras":{"version":"v","url":null}}]}',
      JSON.stringify(DOC_UPGRADE).slice(0, 120),
      '{"services":[{"service_id":"$ota","event_type":"firmware_upgrade","paras":{"version":"v","url":"https://x/%E0%A4%A"}}]}'
    ]
    for (const b of bad) {
      const actions = decode(b as string)
      for (const a of actions) {
        if (a.type === 'ignored') expect(a.reason.length).toBeGreaterThan(0)
      }
      expect(actions.length).toBeGreaterThan(0)
    }
    const valid = JSON.stringify(DOC_UPGRADE)
    for (let i = 0; i < 3000; i++) {
      const buf = i % 2 ? randomBytes(1 + (i % 300)) : Buffer.from(valid)
      if (i % 2 === 0) for (let k = 0; k < 1 + (i % 5); k++) buf[(i * 7919 + k * 104729) % buf.length] = (i * 31 + k) & 0xff
      expect(() => adapter.decode(DOWN, buf, ctx())).not.toThrow()
    }
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
