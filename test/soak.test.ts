/**
 * The fault soak (scripts/soak, `npm run soak`) in small: the same code, 60 randomized jobs of every
 * origin on eight simulated slots with every fault kind at least once, checked against the engine's
 * two promises. Also the reproductions of the defects the soak found, each on its own.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { Bench, type JobInfo } from '../main/engine'
import { sendYmodem } from '../main/engine/flash/ymodem'
import { makeFirmwareImage } from '../main/engine/sim/firmware-image'
import { memoryBoard, registerBuiltinSimPorts, registerSimBoard } from '../main/engine/sim/sim-ports'
import { YmodemDevice } from '../main/engine/sim/ymodem-device'
import { memoryPair } from '../main/engine/transport/memory'
import { FAULT_KINDS } from '../scripts/soak/plan'
import { formatReport, runSoak } from '../scripts/soak/soak'
import { World } from '../scripts/soak/world'

const work = mkdtempSync(join(tmpdir(), 'flashline-soak-test-'))
afterAll(() => rmSync(work, { recursive: true, force: true }))

/** Polls `ready` every 20 ms; rejects with `what` after `ms`. */
async function until(what: string, ready: () => boolean, ms = 20_000): Promise<void> {
  const end = Date.now() + ms
  while (!ready()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

describe('defects the soak found', () => {
  it('YMODEM: a receiver that asked several times ("CCC") before the flasher reads is still answered', async () => {
    // Before: every 'C' of the run touched another 'C' (a letter), so all were taken for menu text
    // and the flash failed with ymodem-no-start after the start timeout.
    const [host, dev] = memoryPair()
    const device = new YmodemDevice({ personality: 'st-iap', requestIntervalMs: 20 })
    const served = device.attach(dev)
    await new Promise((r) => setTimeout(r, 150)) // several requests are waiting when the flasher starts
    const image = makeFirmwareImage({ version: '2.0.0', size: 3000, seed: 9 })
    const file = join(work, 'ccc.bin')
    writeFileSync(file, image)
    const result = await sendYmodem(host, { path: file, size: image.length, name: 'ccc.bin' }, { startTimeoutMs: 3000 })
    expect(result.bytesWritten).toBe(image.length)
    expect(device.image.equals(image)).toBe(true)
    await host.close()
    await dev.close()
    await served
  })

  it('FogCloud: a refused download is reported once, the fresh push it asks for is carried out, and nothing loops', async () => {
    // Before: the failure report asked firmware.get; the cloud pushed the order again; the engine stated
    // the failure again — asking firmware.get again — and so on, about ten round trips a second for ever.
    // Now the fresh push (a new presigned URL) is a new attempt, carried out once.
    const dir = mkdtempSync(join(work, 'fog-'))
    const world = await World.start(dir, [{ platform: 'fogcloud', name: 'dev401', secret: 's401' }])
    registerBuiltinSimPorts()
    registerSimBoard('soak-test-fog', async () => memoryBoard('soak-test-fog', new YmodemDevice({ personality: 'st-iap', requestIntervalMs: 200 })))
    const bench = new Bench({ dataDir: join(dir, 'data') })
    try {
      const jobs: JobInfo[] = []
      bench.on('job', (j) => j.result && jobs.push(j))
      const order = world.order('fogcloud', 'dev401', { version: '2.0.0', pkg: makeFirmwareImage({ version: '2.0.0', size: 3000, seed: 4 }), http: { status: 401, statusTimes: 1 } })
      await bench.addConnection(world.connection('fogcloud', 'dev401', { port: 'sim:soak-test-fog', protocol: 'ymodem' }))
      const task = world.fog.tasks.get(order.orderId)!
      await until('the task to be pushed again and closed', () => task.pushes >= 2 && task.status === 'succeeded')
      // and nothing more: the finished task is not pushed or requested again
      await new Promise((r) => setTimeout(r, 1500))
      expect(task.pushes).toBe(2)
      expect(task.steps).toEqual([5, -1, 5, 30, 40, 100])
      expect(jobs.map((j) => [j.result, j.reason])).toEqual([
        ['failed', 'download-refused'],
        ['succeeded', undefined]
      ])
      expect(world.server.requests.filter((r) => r.path.includes(`/${order.orderId}/`)).map((r) => r.status)).toEqual([401, 200])
    } finally {
      await bench.close()
      await world.close()
    }
  })
})

describe('the soak, small', () => {
  it('60 randomized jobs of every origin with every fault kind: no false success, no lost platform report, no lost record', async () => {
    const report = await runSoak({ seed: 27, jobs: 60, settleMs: 60_000 })
    const explain = formatReport(report)
    // every fault kind actually happened, not just planned
    for (const kind of FAULT_KINDS) expect(report.faults[kind], `${kind}\n${explain}`).toBeGreaterThan(0)
    expect(report.jobs, explain).toBeGreaterThanOrEqual(60)
    expect(Object.values(report.byOrigin).every((n) => n > 0), explain).toBe(true)
    expect(report.successes + report.failures + report.cancelled, explain).toBe(report.jobs)
    expect(report.falseSuccesses, explain).toEqual([])
    expect(report.lostReports, explain).toEqual([])
    expect(report.lostRecords, explain).toEqual([])
  }, 180_000)
})
