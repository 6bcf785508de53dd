import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { readConnection } from '../../engine'
import { DemoWorld, type DemoPlatformName } from '../../engine/sim/demo-world'
import { parseFlags } from '../args'
import type { Output } from '../output'
import { runAgent } from './agent'

const TITLES: Record<DemoPlatformName, string> = { iotda: 'IoTDA', fogcloud: 'FogCloud', wudun: 'Wudun' }

/**
 * One complete upgrade per platform with nothing but this process: simulated clouds for Huawei
 * IoTDA, MXCHIP FogCloud and Wudun EMS on one embedded MQTT broker (checking each platform's login),
 * an HTTPS package server, Flashline as the device, and simulated YMODEM bootloaders on the bench.
 * Prints what happened; exit 0 only if every cloud closed its task as succeeded.
 */
export async function demoCommand(argv: string[], makeOutput: (json: boolean) => Output, signal: AbortSignal): Promise<number> {
  const flags = parseFlags(argv, { json: { type: 'boolean' } }, 'demo')
  const out = makeOutput(Boolean(flags['json']))
  const dataDir = mkdtempSync(join(tmpdir(), 'flashline-demo-'))
  const world = await DemoWorld.start({ log: (_p, line) => out.info(`  cloud ← ${line}`) })
  const results: Array<{ platform: string; ok: boolean }> = []
  const caFile = join(dataDir, 'demo-ca.pem')
  writeFileSync(caFile, world.ca)

  try {
    out.info(`Flashline demo: simulated clouds on ${world.brokerUrl}, packages on ${world.server.url} (HTTPS), simulated YMODEM bootloaders`)
    for (const p of world.platforms) {
      const title = TITLES[p.platform]
      const order = p.order()
      out.info(`\n[${title}] device ${p.deviceId} runs ${p.startVersion}; the cloud orders firmware ${order.targetVersion}`)
      // one platform connection, checked with the same schema as a station file, run until its first job ends
      const config = readConnection(
        { ...p.connection, ca: caFile, devices: [{ id: p.deviceId, port: `sim:${p.board}`, protocol: 'ymodem', currentVersion: p.startVersion, probe: { timeoutSeconds: 5 } }] },
        { baseDir: dataDir, env: {}, inlineSecrets: true }
      )
      const code = await runAgent({ dataDir, connections: [config] }, out, signal, { once: true, reportTimeoutMs: 30_000 })
      const closed = await order.closed(10_000)
      out.info(`[${title}] cloud task ${closed.status}: ${closed.detail ?? 'still open'}; bench device prints "version: ${p.version()}"`)
      results.push({ platform: p.platform, ok: code === 0 && closed.status === 'succeeded' })
    }
    out.event('demo-result', { results })
    out.info(`\n${results.map((r) => `${r.platform}: ${r.ok ? 'succeeded' : 'FAILED'}`).join('   ')}`)
    return results.every((r) => r.ok) ? 0 : 6
  } finally {
    await world.close()
    rmSync(dataDir, { recursive: true, force: true })
  }
}
