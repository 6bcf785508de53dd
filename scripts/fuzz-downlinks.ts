/**
 * npm run fuzz — feeds every platform's downlink parser random and mutated payloads
 * (FUZZ_N per platform, default 100 000): byte flips and truncations of the documented golden
 * messages, JSON-aware mutations (values replaced by other types, huge strings, values nested
 * thousands of levels deep, URLs with bad percent-encoding or foreign schemes, keys removed) and noise.
 *
 * Fails (exit 1) when a decoder reports `decode-error` (its own exception, caught), throws, keeps an
 * unbounded value in an order (the journal serialises it), or an unhandled rejection occurs.
 */
import { randomBytes } from 'node:crypto'
import type { AdapterContext, DownlinkAction, PlatformAdapter } from '../main/engine/platforms/adapter'
import { createFogcloudAdapter } from '../main/engine/platforms/fogcloud'
import { createIotdaAdapter } from '../main/engine/platforms/iotda'
import { createWudunAdapter } from '../main/engine/platforms/wudun'

export interface FuzzTarget {
  name: string
  adapter: PlatformAdapter
  topic: string
  golden: string[]
}

export interface FuzzResult {
  name: string
  samples: number
  counts: Record<DownlinkAction['type'] | 'crash', number>
  /** decode-error, exceptions and unbounded orders, with the payload that caused them (first few). */
  failures: Array<{ error: string; payload: string }>
  reasons: number
  ms: number
}

/** Largest serialised order (what the station journals) a downlink may produce. */
export const MAX_ORDER_JSON = 64 * 1024

/**
 * mulberry32 in 32-bit integer arithmetic. (The former LCG multiplied in doubles, lost precision and
 * was so correlated that after choosing "replace this value" it never picked some of ODD_VALUES.)
 */
export function prng(seed: number): (n: number) => number {
  let a = seed >>> 0
  return (n: number) => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return (((t ^ (t >>> 14)) >>> 0) % n) | 0
  }
}

const DEEP = '\u0001DEEP\u0001'
const DEEP_TEXT = '{"x":'.repeat(6000) + '0' + '}'.repeat(6000)

const ODD_VALUES: unknown[] = [
  null, 0, -1, 1e308, 3.14, true, '', '\u0000', [], {}, [1, [2, [3]]], { a: { b: {} } },
  'x'.repeat(5000), 'v'.repeat(300_000), DEEP,
  '%E0%A4%A', 'https://h/p%zz.bin', 'https://h/%E0%A4%A', 'https://', 'file:///etc/passwd', 'ftp://h/x.bin', 'javascript:alert(1)',
  'f8d85b250d4d787a9f483d89a974****', 'ab'.repeat(32), '__proto__', 'constructor'
]

function mutateJson(value: unknown, rnd: (n: number) => number): unknown {
  if (Array.isArray(value)) {
    if (value.length && rnd(3) === 0) return value.filter((_, i) => i !== rnd(value.length))
    return value.map((v) => (rnd(4) === 0 ? mutateJson(v, rnd) : v))
  }
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(value)) {
      const r = rnd(10)
      if (r === 0) continue // drop the key
      out[k] = r === 1 ? ODD_VALUES[rnd(ODD_VALUES.length)] : r < 4 ? mutateJson(v, rnd) : v
    }
    return out
  }
  return rnd(3) === 0 ? ODD_VALUES[rnd(ODD_VALUES.length)] : value
}

function sample(golden: string[], rnd: (n: number) => number): Buffer {
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
      // a value thousands of levels deep is spliced in as text (JSON.stringify itself would overflow on it)
      return Buffer.from((JSON.stringify(mutateJson(parsed, rnd)) ?? 'null').split(JSON.stringify(DEEP)).join(DEEP_TEXT))
    }
  }
}

const ctx: AdapterContext = { currentVersion: () => '1.0.0', now: () => new Date() }

export function fuzzTarget(t: FuzzTarget, n: number, seed: number): FuzzResult {
  const rnd = prng(seed)
  const counts: FuzzResult['counts'] = { order: 0, reply: 0, refuse: 0, ignored: 0, 'decode-error': 0, crash: 0 }
  const failures: FuzzResult['failures'] = []
  const reasons = new Set<string>()
  const t0 = performance.now()
  for (let i = 0; i < n; i++) {
    const payload = sample(t.golden, rnd)
    try {
      for (const a of t.adapter.decode(t.topic, payload, ctx)) {
        counts[a.type]++
        // a decoder that caught its own exception still has a bug: it counts with the crashes
        if (a.type === 'decode-error') throw new Error(`decode-error: ${a.error}`)
        if (a.type === 'ignored') {
          if (!a.reason) throw new Error('ignored without a reason')
          reasons.add(a.reason.replace(/"[^"]*"/g, '"…"').replace(/\(.*\)/, '(…)').replace(/\d+/g, 'N').slice(0, 60))
        }
        if (a.type === 'refuse' && !a.message) throw new Error('refused without a message')
        if (a.type === 'order' || a.type === 'refuse') {
          const kept = JSON.stringify(a.order).length
          if (kept > MAX_ORDER_JSON) throw new Error(`the order keeps ${kept} characters of JSON (bound ${MAX_ORDER_JSON})`)
          t.adapter.encodeReport({ type: 'failed', order: a.order, reason: 'internal', message: 'fuzz', currentVersion: '1' }, ctx)
        }
      }
    } catch (e) {
      counts.crash++
      if (failures.length < 3) failures.push({ error: (e as Error).stack ?? String(e), payload: payload.toString('latin1').slice(0, 300) })
    }
  }
  return { name: t.name, samples: n, counts, failures, reasons: reasons.size, ms: performance.now() - t0 }
}

/** The documented example messages of each platform (IoTDA iot_06_v5_3028/3030, FogCloud OTA page, Wudun ota.md). */
export const TARGETS: FuzzTarget[] = [
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

export function formatTable(results: FuzzResult[]): string {
  const cols = ['platform', 'samples', 'order', 'reply', 'refuse', 'ignored', 'decode-error+crash', 'time', 'reasons']
  const rows = results.map((r) => [r.name, r.samples, r.counts.order, r.counts.reply, r.counts.refuse, r.counts.ignored, r.counts.crash, `${(r.ms / 1000).toFixed(1)} s`, r.reasons].map(String))
  const w = cols.map((c, i) => Math.max(c.length, ...rows.map((r) => r[i]!.length)))
  const line = (cells: string[]) => `| ${cells.map((c, i) => (i === 0 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join(' | ')} |`
  return [line(cols), `|${w.map((x) => '-'.repeat(x + 2)).join('|')}|`, ...rows.map(line)].join('\n')
}

function main(): void {
  const n = Number(process.env['FUZZ_N'] ?? 100_000)
  const seed = Number(process.env['FUZZ_SEED'] ?? 20261122)
  let unhandled = 0
  process.on('unhandledRejection', () => unhandled++)
  const results = TARGETS.map((t, i) => fuzzTarget(t, n, seed + i))
  for (const r of results) for (const f of r.failures) process.stderr.write(`${r.name}: ${f.error}\npayload: ${f.payload}\n\n`)
  setTimeout(() => {
    process.stdout.write(formatTable(results) + '\n')
    process.stdout.write(`unhandled rejections: ${unhandled}\n`)
    const crashes = results.reduce((s, r) => s + r.counts.crash, 0)
    process.exit(crashes || unhandled ? 1 : 0)
  }, 100)
}

if (process.argv[1] && /fuzz-downlinks\.ts$/.test(process.argv[1])) main()
