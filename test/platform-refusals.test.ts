/**
 * The real platform adapters behind a real Station (fake network and bench): orders the adapters
 * refuse are journalled and answered with a failure report, and nothing is downloaded or flashed.
 */
import { EventEmitter } from 'node:events'
import { afterAll, describe, expect, it } from 'vitest'
import { Station, type StationEvent, type StationWork } from '../main/engine/jobs/station'
import type { OutboundMessage } from '../main/engine/model'
import type { PlatformAdapter } from '../main/engine/platforms/adapter'
import { createFogcloudAdapter } from '../main/engine/platforms/fogcloud'
import { createIotdaAdapter } from '../main/engine/platforms/iotda'
import { createWudunAdapter } from '../main/engine/platforms/wudun'
import { tempDir } from './harness/tmp'

class Publisher extends EventEmitter {
  sent: OutboundMessage[] = []
  readonly connected = true
  async publish(m: OutboundMessage): Promise<void> {
    this.sent.push(m)
  }
}

const dirs: Array<{ cleanup: () => void }> = []
afterAll(() => dirs.forEach((d) => d.cleanup()))

function station(adapter: PlatformAdapter, deviceId: string) {
  const dir = tempDir()
  dirs.push(dir)
  const calls: string[] = []
  const work: StationWork = {
    download: async (job) => {
      calls.push(`download ${job.order.orderId}`)
      throw new Error('must not download')
    },
    flash: async (job) => {
      calls.push(`flash ${job.order.orderId}`)
      throw new Error('must not flash')
    }
  }
  // allowUnverified: an order with no digest would be carried out, so a refusal here is the adapter's own
  const s = new Station({ dataDir: dir.dir, adapter, slots: [{ deviceId, port: 'sim:none', protocol: 'ymodem', currentVersion: '1.0.0' }], work, allowUnverified: true })
  const pub = new Publisher()
  const closed = new Promise<StationEvent & { type: 'job-closed' }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no job closed within 5 s; work done: ${JSON.stringify(calls)}`)), 5000)
    s.on('event', (e: StationEvent) => {
      if (e.type !== 'job-closed') return
      clearTimeout(timer)
      resolve(e)
    })
  })
  s.attach(pub)
  return { s, pub, calls, closed }
}

const SIGN = '595124473f866b033dfa1f7e831c8c99a12f6143f392dfa996a819010842c99d'

describe('refused orders through the station', () => {
  it('IoTDA malformed sign: result_code 7, journalled as verification-failed, nothing downloaded or flashed', async () => {
    const { s, pub, calls, closed } = station(createIotdaAdapter({ deviceId: 'gw01', secret: 's' }), 'gw01')
    const msg = { object_device_id: 'gw01', services: [{ service_id: '$ota', event_type: 'firmware_upgrade', paras: { version: 'v2', url: 'https://h/p.bin', sign: SIGN.slice(0, 63) + 'g', task_id: 'T1' } }] }
    s.handleDownlink('$oc/devices/gw01/sys/events/down', Buffer.from(JSON.stringify(msg)))
    const { job } = await closed
    expect(job.outcome).toMatchObject({ result: 'failed', reason: 'verification-failed', version: '1.0.0' })
    expect(calls).toEqual([])
    expect(pub.sent).toHaveLength(1)
    expect(JSON.parse(pub.sent[0]!.payload).services[0].paras).toMatchObject({ result_code: 7, version: '1.0.0' })
    expect(s.jobs().map((j) => j.order.orderId)).toEqual(['T1'])
  })

  it('IoTDA B6 payload (task_ext_info 6000 levels deep): journalled and answered, the station keeps working', async () => {
    const { s, pub, calls, closed } = station(createIotdaAdapter({ deviceId: 'gw01', secret: 's' }), 'gw01')
    const deep = `{"object_device_id":"gw01","services":[{"service_id":"$ota","event_type":"firmware_upgrade","paras":{"version":"v1.2","url":"https://h:8943/p/upgrade.bin","sign":"${SIGN}","task_id":"65d31bf2581ed33a42a58d76","task_ext_info":${'{"x":'.repeat(6000)}0${'}'.repeat(6000)}}}]}`
    expect(() => s.handleDownlink('$oc/devices/gw01/sys/events/down', Buffer.from(deep))).not.toThrow()
    const { job } = await closed
    expect(job.outcome).toMatchObject({ result: 'failed', reason: 'internal', message: expect.stringContaining('nested more than 32 levels deep') })
    expect(calls).toEqual([])
    expect(JSON.parse(pub.sent[0]!.payload).services[0].paras).toMatchObject({ result_code: 255, version: '1.0.0' })
  })

  it('FogCloud malformed sign: one upgrade.post step -1 with the task id, no firmware.get, nothing downloaded', async () => {
    const { s, pub, calls, closed } = station(createFogcloudAdapter({ productKey: 'pk', deviceName: 'dn', deviceSecret: 's' }), 'pk/dn')
    const post = { id: 1, version: '1.0', method: 'firmware.post', params: { size: 10, sign: 'f8d85b250d4d787a9f483d89a974****', version: '1.0.1', url: 'https://h/fw.bin', sign_method: 'MD5', module: 'mcu', task_id: '123' } }
    s.handleDownlink('fogcloud/pk/dn/thing/down/ota', Buffer.from(JSON.stringify(post)))
    const { job } = await closed
    expect(job.outcome).toMatchObject({ result: 'failed', reason: 'verification-failed' })
    expect(calls).toEqual([])
    expect(pub.sent.map((m) => JSON.parse(m.payload).method)).toEqual(['upgrade.post'])
    expect(JSON.parse(pub.sent[0]!.payload).params).toMatchObject({ step: -1, task_id: '123', module: 'mcu' })
  })

  it('Wudun URL with a foreign scheme: status 3 (prepare failed), nothing downloaded', async () => {
    const { s, pub, calls, closed } = station(createWudunAdapter({ deviceUid: 'ems1' }), 'ems1')
    const cmd = { mid: 'm1', type: 'ota_upgrade', device_uid: 'ems1', data: { source: 'ems_II', download_url: 'file:///etc/shadow', md5_code: '50a2811e047dd49ace3801685eedb732' } }
    s.handleDownlink('v1/ems1/ota/upgrade/command', Buffer.from(JSON.stringify(cmd)))
    const { job } = await closed
    expect(job.outcome).toMatchObject({ result: 'failed', reason: 'download-refused' })
    expect(calls).toEqual([])
    expect(JSON.parse(pub.sent[0]!.payload).data).toMatchObject({ source: 'ems_II', status: 3 })
  })
})
