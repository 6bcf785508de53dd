/**
 * npm run fuzz — feeds every platform's downlink parser random and mutated payloads
 * (FUZZ_N per platform, default 100 000): byte flips and truncations of the seeds' golden messages,
 * JSON-aware mutations (values replaced by other types, keys removed) and pure noise.
 * Fails (exit 1) if any parser throws or an unhandled rejection occurs; prints what each did.
 */
import { randomBytes } from 'node:crypto'
import type { AdapterContext, PlatformAdapter } from '../main/engine/platforms/adapter'
import { createFogcloudAdapter } from '../main/engine/platforms/fogcloud'
import { createIotdaAdapter } from '../main/engine/platforms/iotda'
import { createWudunAdapter } from '../main/engine/platforms/wudun'

const N = Number(process.env['FUZZ_N'] ?? 100_000)
let seed = Number(process.env['FUZZ_SEED'] ?? 20261122)
function rnd(n: number): number {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff
  return seed % n
}

const ctx: AdapterContext = { currentVersion: () => '1.0.0', now: () => new Date() }

interface Target {
  name: string
  adapter: PlatformAdapter
  topic: string
  golden: string[]
}

const targets: Target[] = [
  {
    name: 'iotda',
    adapter: createIotdaAdapter({ deviceId: 'gw', secret: 's' }),
    topic: '$oc/devices/gw/sys/events/down',
    golden: [
      '{"object_device_id":"gw","services":[{"service_id":"$ota","event_type":"version_query","event_time":"20151212T121212Z","paras":{}}]}',
      '{"object_device_id":"gw","services":[{"service_id":"$ota","event_type":"firmware_upgrade","event_time":"20151212T121212Z","paras":{"version":"v1.2","url":"https://h:8943/p","file_size":81362928,"file_name":"upgrade.bin","access_token":"595124473f866b033dfa1f","expires":86400,"sign":"595124473f866b033dfa1f7e831c8c99a12f6143f392dfa996a819010842c99d","custom_info":"x","task_id":"65d31bf2581ed33a42a58d76","sub_device_count":2,"task_ext_info":{"device_type":"DDC"}}}]}',
      '{"object_device_id":"child","services":[{"service_id":"$ota","event_type":"software_upgrade_v2","paras":{"version":"2","url":"https://obs/x.bin?Signature=1"}}]}'
    ]
  },
  {
    name: 'fogcloud',
    adapter: createFogcloudAdapter({ productKey: 'pk', deviceName: 'dn', deviceSecret: 's', children: ['pk/c1'] }),
    topic: 'fogcloud/pk/dn/thing/down/ota',
    golden: [
      '{"id":123,"version":"1.0","method":"firmware.post","params":{"size":93796291,"sign":"f8d85b250d4d787a9f483d89a9741234","version":"1.0.1","url":"https://the_firmware_url","sign_method":"MD5","checksum":"00fe0100","module":"mcu","description":"string","task_id":"123"}}',
      '{"id":123,"version":"1.0","method":"sub.firmware.post","params":[{"identity":{"product_key":"pk","device_name":"c1"},"size":1,"sign":"f8d85b250d4d787a9f483d89a9741234","version":"1.0.1","url":"https://u","sign_method":"MD5","module":"mcu","desc":"string","task_id":"123"}]}'
    ]
  },
  {
    name: 'wudun',
    adapter: createWudunAdapter({ deviceUid: 'test', topicPrefix: 'v1' }),
    topic: 'v1/test/ota/upgrade/command',
    golden: [
      '{\n"trace_id": "577f5df0",\n"mid": "ee2e8f09-b280-4e4d-bcb9-1529b703cfed",\n"type": "ota_upgrade",\n"device_uid": "test",\n"timestamp": 1697789021000,\n"data":{\n"source": "ems_II",\n"download_url": "http://example.com/ems_II",\n"md5_code": "50a2811e047dd49ace3801685eedb732",\n}\n}',
      '{"mid":"m","type":"ota_upgrade","device_uid":"test","sub_device_uid":"l1","timestamp":1,"data":{"source":"ems_II","download_url":"https://x","md5_code":"50a2811e047dd49ace3801685eedb732"}}'
    ]
  }
]

const ODD_VALUES: unknown[] = [null, 0, -1, 1e308, '', 'x'.repeat(5000), [], {}, true, [1, [2, [3]]], { a: { b: {} } }, '\u0000', '%E0%A4%A', 'https://', 3.14]

function mutateJson(value: unknown): unknown {
  if (Array.isArray(value)) {
    if (value.length && rnd(3) === 0) return value.filter((_, i) => i !== rnd(value.length))
    return value.map((v) => (rnd(4) === 0 ? mutateJson(v) : v))
  }
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(value)) {
      const r = rnd(10)
      if (r === 0) continue // drop the key
      out[k] = r === 1 ? ODD_VALUES[rnd(ODD_VALUES.length)] : r < 4 ? mutateJson(v) : v
    }
    return out
  }
  return rnd(3) === 0 ? ODD_VALUES[rnd(ODD_VALUES.length)] : value
}

function sample(golden: string[]): Buffer {
  const g = golden[rnd(golden.length)]!
  switch (rnd(5)) {
    case 0:
      return randomBytes(rnd(400))
    case 1: {
      const b = Buffer.from(g)
      for (let k = 0, n = 1 + rnd(6); k < n; k++) b[rnd(b.length)] = rnd(256)
      return b
    }
    case 2:
      return Buffer.from(g.slice(0, rnd(g.length)))
    default: {
      let parsed: unknown
      try {
        parsed = JSON.parse(g)
      } catch {
        parsed = JSON.parse(g.replace(/,(\s*[}\]])/g, '$1'))
      }
      return Buffer.from(JSON.stringify(mutateJson(parsed)) ?? 'null')
    }
  }
}

let unhandled = 0
process.on('unhandledRejection', () => unhandled++)

const rows: string[] = []
let crashes = 0
for (const t of targets) {
  const counts = { order: 0, reply: 0, ignored: 0, refuse: 0, 'decode-error': 0, crash: 0 }
  const reasons = new Map<string, number>()
  const t0 = performance.now()
  for (let i = 0; i < N; i++) {
    const payload = sample(t.golden)
    try {
      const actions = t.adapter.decode(t.topic, payload, ctx)
      for (const a of actions) {
        counts[a.type]++
        // a decoder that caught its own exception still has a bug: count it with the crashes
        if (a.type === 'decode-error') throw new Error(`decode-error: ${a.error}`)
        if (a.type === 'ignored') {
          if (!a.reason) throw new Error('ignored without a reason')
          const key = a.reason.replace(/"[^"]*"/g, '"…"').replace(/\(.*\)/, '(…)').slice(0, 60)
          reasons.set(key, (reasons.get(key) ?? 0) + 1)
        }
        if (a.type === 'order' || a.type === 'refuse') t.adapter.encodeReport({ type: 'failed', order: a.order, reason: 'internal', message: 'fuzz', currentVersion: '1' }, ctx)
      }
    } catch (e) {
      counts.crash++
      if (counts.crash <= 3) process.stderr.write(`${t.name}: ${(e as Error).stack}\npayload: ${payload.toString('latin1').slice(0, 300)}\n`)
    }
  }
  crashes += counts.crash
  const ms = performance.now() - t0
  rows.push(`| ${t.name.padEnd(8)} | ${String(N).padStart(7)} | ${String(counts.order).padStart(6)} | ${String(counts.reply).padStart(6)} | ${String(counts.ignored).padStart(7)} | ${String(counts.crash).padStart(6)} | ${(ms / 1000).toFixed(1).padStart(5)} s | ${reasons.size} distinct reasons |`)
}

setTimeout(() => {
  process.stdout.write('| platform | samples |  order |  reply | ignored | crashes |  time   |\n')
  for (const r of rows) process.stdout.write(r + '\n')
  process.stdout.write(`unhandled rejections: ${unhandled}\n`)
  process.exit(crashes || unhandled ? 1 : 0)
}, 100)
