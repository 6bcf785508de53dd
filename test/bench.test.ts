/**
 * The engine's front door (Bench): typed events, per-job cancel, coalesced progress, a log file and a
 * record for every job of every origin. Local jobs on simulated boards; platform jobs on mosquitto.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { hostname } from 'node:os'
import { join } from 'node:path'
import mqtt from 'mqtt'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Bench, type JobInfo, type LogLine, type ProgressInfo } from '../main/engine'
import type { PlatformAdapter } from '../main/engine/platforms/adapter'
import { makeFirmwareImage } from '../main/engine/sim/firmware-image'
import { memoryBoard, registerBuiltinSimPorts, registerSimBoard } from '../main/engine/sim/sim-ports'
import { Stm32Device } from '../main/engine/sim/stm32-device'
import { YmodemDevice } from '../main/engine/sim/ymodem-device'
import { fakeAdapter } from './harness/fake-platform'
import { startMosquitto, type Broker } from './harness/mosquitto'
import { tempDir } from './harness/tmp'

const work = tempDir()
let broker: Broker
const boards = new Map<string, YmodemDevice>()

/** A simulated YMODEM board as `sim:bench-<name>`; `programDelayMs` makes its flash take a while. */
function board(name: string, programDelayMs = 0): string {
  const device = new YmodemDevice({ personality: 'st-iap', version: '1.0.0', programDelayMs, requestIntervalMs: 200 })
  boards.set(name, device)
  registerSimBoard(`bench-${name}`, async () => memoryBoard(`bench-${name}`, device))
  return `sim:bench-${name}`
}

function firmware(name: string, version: string, size: number): string {
  const file = join(work.dir, name)
  writeFileSync(file, makeFirmwareImage({ version, size, seed: size }))
  return file
}

beforeAll(async () => {
  registerBuiltinSimPorts()
  broker = await startMosquitto()
})
afterAll(async () => {
  await broker?.close()
  work.cleanup()
})

describe('Bench: local jobs', () => {
  it('flashes through a slot, coalesces progress to ≤ 10 events per second, and writes the job log and its record', async () => {
    const bench = new Bench({ dataDir: join(work.dir, 'd1'), station: 'line-3', operator: 'ana', progressIntervalMs: 100 })
    const jobs: JobInfo[] = []
    const progress: Array<ProgressInfo & { at: number }> = []
    const logs: LogLine[] = []
    bench.on('job', (j) => jobs.push(j))
    bench.on('progress', (p) => progress.push({ ...p, at: Date.now() }))
    bench.on('log', (l) => logs.push(l))
    bench.addSlot('A', { port: board('a', 4), protocol: 'ymodem', probe: { pattern: 'version[: ]+(\\S+)', timeoutSeconds: 5 } })
    const file = firmware('a.bin', '2.1.0', 96 * 1024)
    const started = Date.now()
    const handle = bench.flash({ slot: 'A', file, context: { serialNumber: 'SN-0001' } })
    const done = await handle.done
    const took = Date.now() - started
    expect(done).toMatchObject({ id: handle.id, origin: 'local', result: 'succeeded', phase: 'succeeded', slotId: 'A', probedVersion: '2.1.0', verified: 'device' })
    expect(boards.get('a')!.image.equals(readFileSync(file))).toBe(true)
    expect(jobs.map((j) => j.phase)).toEqual(['received', 'checking', 'verified', 'flashing', 'proving', 'succeeded'])
    // coalesced: at most one event per 100 ms per job (plus the final one), never a burst per block
    const writes = progress.filter((p) => p.stage === 'write')
    expect(writes.length).toBeGreaterThan(1)
    expect(writes.length).toBeLessThanOrEqual(Math.ceil(took / 100) + 2)
    expect(writes.at(-1)).toMatchObject({ jobId: handle.id, slotId: 'A', done: 96 * 1024, total: 96 * 1024 })
    for (let i = 1; i < writes.length - 1; i++) expect(writes[i]!.at - writes[i - 1]!.at).toBeGreaterThanOrEqual(90)
    // structured log lines carry the ids; the job has its own log file
    expect(logs.every((l) => l.jobId === undefined || l.jobId === handle.id)).toBe(true)
    expect(readFileSync(done.logFile, 'utf8')).toMatch(/phase flashing[\s\S]*phase succeeded/)
    const [record] = bench.queryRecords().records
    expect(record).toMatchObject({
      job_id: handle.id,
      origin: 'local',
      station: 'line-3',
      operator: 'ana',
      serial_number: 'SN-0001',
      protocol: 'ymodem',
      result: 'succeeded',
      to_version: '2.1.0',
      package: 'a.bin',
      package_size: 96 * 1024,
      log_file: done.logFile
    })
    expect(record!.flash_ms).toBeGreaterThan(0)
    await bench.close()
  })

  it('cancels one job mid-flash without touching the other slot; the record says cancelled', async () => {
    const bench = new Bench({ dataDir: join(work.dir, 'd2') })
    bench.addSlot('slow', { port: board('slow', 20), protocol: 'ymodem' })
    bench.addSlot('fast', { port: board('fast'), protocol: 'ymodem' })
    const file = firmware('b.bin', '3.0.0', 128 * 1024)
    const slow = bench.flash({ slot: 'slow', file })
    const fast = bench.flash({ slot: 'fast', file })
    await new Promise<void>((resolve) => bench.on('progress', (p) => p.jobId === slow.id && p.stage === 'write' && p.done > 0 && resolve()))
    expect(bench.cancel(slow.id)).toBe(true)
    const [s, f] = await Promise.all([slow.done, fast.done])
    expect(s).toMatchObject({ result: 'cancelled', phase: 'cancelled', reason: 'cancelled' })
    expect(f).toMatchObject({ result: 'succeeded' })
    expect(bench.cancel(slow.id)).toBe(false)
    const results = Object.fromEntries(bench.queryRecords().records.map((r) => [r.job_id, r.result]))
    expect(results).toEqual({ [slow.id]: 'cancelled', [fast.id]: 'succeeded' })
    await bench.close()
  })

  it('refuses a second job on a busy slot and a package that does not match; a bad slot names its field', async () => {
    const bench = new Bench({ dataDir: join(work.dir, 'd3') })
    bench.addSlot('A', { port: board('c', 10), protocol: 'ymodem' })
    const file = firmware('c.bin', '1.1.0', 32 * 1024)
    const first = bench.flash({ slot: 'A', file })
    expect(() => bench.flash({ slot: 'A', file })).toThrow(/busy with job/)
    await first.done
    const wrong = await bench.flash({ slot: 'A', file, expect: { sha256: 'ab'.repeat(32) } }).done
    expect(wrong).toMatchObject({ result: 'failed', reason: 'verification-failed', error: { kind: 'integrity' } })
    expect(() => bench.addSlot('B', { port: 'sim:x', protocol: 'ymodem', baud: 'fast' })).toThrow(/^baud: expected a whole number from 300 to 16000000, got "fast"$/)
    expect(() => bench.addSlot('B', { port: 'sim:x', protocol: 'ymodem', mtu: 512 })).toThrow(/^mtu: applies to mcuboot devices only, not to protocol ymodem$/)
    await bench.close()
  })
})

describe('Bench: which unit', () => {
  it('a failed STM32 job still records which unit it was (its unique ID, read before anything was erased)', async () => {
    const bench = new Bench({ dataDir: join(work.dir, 'd6') })
    const uid = Buffer.from('0a0b0c0d0e0f101112131415', 'hex')
    const device = new Stm32Device('f1', { uid, flashSizeKiB: 64 })
    registerSimBoard('bench-uid', async () => memoryBoard('bench-uid', device))
    bench.addSlot('S', { port: 'sim:bench-uid', protocol: 'stm32' })
    const job = await bench.flash({ slot: 'S', file: firmware('big.bin', '9.9.9', 100 * 1024) }).done
    expect(job).toMatchObject({ result: 'failed', error: { kind: 'device', code: 'image-too-large' }, identity: { id: '0a0b0c0d0e0f101112131415' } })
    expect(bench.queryRecords().records[0]).toMatchObject({ result: 'failed', chip_id: '0a0b0c0d0e0f101112131415', chip: expect.stringMatching(/STM32F10/) })
    await bench.close()
  })
})

describe('Bench: platform connections', () => {
  it('runs an order as a platform job with live connection status, and cancels it: the platform is told, the record says cancelled', async () => {
    const bench = new Bench({ dataDir: join(work.dir, 'd4') })
    const statuses: string[] = []
    bench.on('connection', (c) => statuses.push(c.status))
    const port = board('p', 20)
    // the order names a package that is already in the cache (by its SHA-256), so nothing is downloaded
    const pkg = await bench.importPackage(firmware('p.bin', '2.0.0', 128 * 1024))
    const adapter: PlatformAdapter = {
      ...fakeAdapter,
      decode: (topic, payload, ctx) => fakeAdapter.decode(topic, payload, ctx).map((a) => (a.type === 'order' ? { ...a, order: { ...a.order, expect: { sha256: pkg.sha256 } } } : a))
    }
    const info = await bench.addConnection(
      { platform: 'wudun', broker: broker.url, wudun: { deviceUid: 'ems9' }, devices: [{ id: 'd1', port, protocol: 'ymodem', currentVersion: '1.0' }] },
      { adapter }
    )
    expect(info).toMatchObject({ platform: 'wudun', identity: 'wudun-ems9', status: 'online', outbox: 0 })
    expect(statuses).toContain('online')
    const client = await mqtt.connectAsync(broker.url)
    const reports: unknown[] = []
    await client.subscribeAsync('up/#')
    client.on('message', (_t, p) => reports.push(JSON.parse(p.toString())))
    const flashing = new Promise<JobInfo>((resolve) => bench.on('progress', (p) => p.stage === 'write' && p.done > 0 && resolve(bench.getJob(p.jobId)!)))
    await client.publishAsync('down', JSON.stringify({ deviceId: 'd1', orderId: 'o1', version: '2.0.0' }))
    const job = await flashing
    expect(job).toMatchObject({ origin: 'platform', connectionId: 'wudun-ems9', deviceId: 'd1', orderId: 'o1' })
    // the port is taken: a local flash on it is refused
    expect(() => bench.flash({ slot: { port, protocol: 'ymodem' }, sha256: pkg.sha256 })).toThrow(/busy with the platform job/)
    expect(bench.cancel(job.id)).toBe(true)
    const closed = await new Promise<JobInfo>((resolve) => bench.on('job', (j) => j.id === job.id && j.result !== undefined && resolve(j)))
    expect(closed).toMatchObject({ result: 'cancelled', reason: 'cancelled' })
    await new Promise((r) => setTimeout(r, 200))
    expect(reports.at(-1)).toEqual({ t: 'fail', r: 'cancelled', v: '1.0' })
    expect(bench.queryRecords().records.find((r) => r.job_id === job.id)).toMatchObject({ origin: 'platform', result: 'cancelled', from_version: '1.0' })
    // and the other way round: an order for a device whose port a local flash is using is answered busy
    const local = bench.flash({ slot: { port, protocol: 'ymodem' }, sha256: pkg.sha256 })
    await new Promise<void>((resolve) => bench.on('progress', (p) => p.jobId === local.id && p.stage === 'write' && resolve()))
    await client.publishAsync('down', JSON.stringify({ deviceId: 'd1', orderId: 'o2', version: '3.0.0' }))
    const refused = await new Promise<JobInfo>((resolve) => bench.on('job', (j) => j.orderId === 'o2' && j.result !== undefined && resolve(j)))
    expect(refused).toMatchObject({ result: 'failed', reason: 'busy' })
    expect(refused.message).toMatch(new RegExp(`port ${port} is in use by job ${local.id}`))
    bench.cancel(local.id)
    await local.done
    await client.endAsync()
    await bench.close()
    expect(statuses.at(-1)).toBe('stopped')
  })
})

describe('Bench: a local job left unfinished by a killed process', () => {
  it('is closed as failed with a record at the next start; one of a live process is left alone', async () => {
    const dir = join(work.dir, 'd5')
    const jobsDir = join(dir, 'local', 'jobs')
    mkdirSync(jobsDir, { recursive: true })
    const now = Date.now()
    const unfinished = (id: string, pid: number) => ({
      id,
      origin: 'local',
      request: { file: '/tmp/fw.bin' },
      slot: { port: '/dev/ttyUSB7', protocol: 'stm32' },
      owner: { pid, host: hostname() },
      phase: 'flashing',
      createdAt: now,
      updatedAt: now,
      startVersion: 'unknown',
      runs: 1,
      history: [
        { phase: 'received', at: now },
        { phase: 'flashing', at: now }
      ]
    })
    writeFileSync(join(jobsDir, 'dead.json'), JSON.stringify(unfinished('dead', 2 ** 22 + 4242)))
    writeFileSync(join(jobsDir, 'alive.json'), JSON.stringify(unfinished('alive', process.ppid)))
    const bench = new Bench({ dataDir: dir })
    const dead = bench.getJob('dead')!
    expect(dead).toMatchObject({ result: 'failed', phase: 'failed', port: '/dev/ttyUSB7' })
    expect(dead.message).toMatch(/process ended during phase "flashing"/)
    expect(existsSync(dead.logFile)).toBe(true)
    expect(bench.getJob('alive')).toMatchObject({ phase: 'flashing', result: undefined })
    expect(bench.queryRecords().records.map((r) => [r.job_id, r.result])).toEqual([['dead', 'failed']])
    await bench.close()
  })
})
