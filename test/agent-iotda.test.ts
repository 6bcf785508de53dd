/**
 * The whole slice on real parts: mosquitto, the simulated IoTDA cloud as a client of it, an HTTPS
 * package server, the real `flashline agent` process, and a simulated YMODEM bootloader behind a
 * socat pty pair opened with the real serialport binding.
 */
import { spawn } from 'node:child_process'
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { IotdaCloud, type CreateTaskOptions } from '../main/engine/sim/iotda-cloud'
import { makeFirmwareImage } from '../main/engine/sim/firmware-image'
import { startPackageServer, type PackageServer } from '../main/engine/sim/package-server'
import { simTls } from '../main/engine/sim/tls'
import { YmodemDevice } from '../main/engine/sim/ymodem-device'
import { McubootDevice } from '../main/engine/sim/mcuboot-device'
import { buildMcubootImage } from '../main/engine/sim/imgtool-image'
import { SerialTransport } from '../main/engine/transport/serial'
import { jsonEvents, runCli, type CliRun } from './harness/cli'
import { startMosquitto, type Broker } from './harness/mosquitto'
import { ndjsonReader, once } from './harness/ndjson'
import { ptyPair, type PtyPair } from './harness/pty'
import { tempDir } from './harness/tmp'

let broker: Broker
let server: PackageServer
let cloud: IotdaCloud
let work: { dir: string; cleanup: () => void }
let caFile: string
let counter = 0

beforeAll(async () => {
  work = tempDir()
  const persist = join(work.dir, 'mosq') + '/'
  const { mkdirSync } = await import('node:fs')
  mkdirSync(persist)
  broker = await startMosquitto({ extraConfig: `persistence true\npersistence_location ${persist}` })
  server = await startPackageServer({ tls: true })
  cloud = await IotdaCloud.start({ packageServer: server, brokerUrl: broker.url, queryIntervalMs: 1000 })
  caFile = join(work.dir, 'ca.pem')
  writeFileSync(caFile, simTls().ca)
})

afterAll(async () => {
  await cloud?.close()
  await server?.close()
  await broker?.close()
  work?.cleanup()
})

interface Bench {
  pair: PtyPair
  device: YmodemDevice
  port: SerialTransport
  close(): Promise<void>
}

const benches: Bench[] = []
afterEach(async () => {
  while (benches.length) await benches.pop()!.close()
  server.faults.dropAfterBytes = undefined
  server.faults.dropTimes = undefined
  server.faults.ignoreRange = undefined
})

async function bench(version = '1.0.0'): Promise<Bench> {
  const pair = await ptyPair()
  const port = await SerialTransport.open({ path: pair.b, baudRate: 115200 })
  const device = new YmodemDevice({ personality: 'st-iap', version, requestIntervalMs: 500 })
  const served = device.attach(port)
  const b: Bench = {
    pair,
    device,
    port,
    close: async () => {
      await port.close()
      await served
      await pair.close()
    }
  }
  benches.push(b)
  return b
}

function newDevice(): { deviceId: string; dataDir: string } {
  counter++
  return { deviceId: `e2e_dev_${process.pid}_${counter}`, dataDir: join(work.dir, `data-${counter}`) }
}

function agentArgs(deviceId: string, dataDir: string, b: Bench, extra: string[] = []): string[] {
  return [
    'agent',
    '--platform', 'iotda',
    '--broker', broker.url,
    '--device-id', deviceId,
    '--secret', 'not-checked-by-mosquitto',
    '--port', b.pair.a,
    '--protocol', 'ymodem',
    '--current-version', '1.0.0',
    '--probe', 'version[: ]+(\\S+)',
    '--probe-timeout', '10',
    '--ca', caFile,
    '--data-dir', dataDir,
    '--once',
    '--json',
    ...extra
  ]
}

function task(deviceId: string, version: string, extra: Partial<CreateTaskOptions> = {}) {
  const pkg = makeFirmwareImage({ version, size: 48 * 1024 + 123, seed: counter })
  return { pkg, task: cloud.createTask({ deviceId, targetVersion: version, package: pkg, fileName: `fw-${version}.bin`, ...extra }) }
}

function explain(r: CliRun): string {
  return `exit ${r.code}\nstdout:\n${r.stdout.slice(-4000)}\nstderr:\n${r.stderr.slice(-2000)}`
}

type AgentEvent = Record<string, unknown> & { type: string }

/** An onStdout handler that feeds the agent's NDJSON events, whole lines only, to `onEvent`. */
function events(onEvent: (e: AgentEvent, child: ReturnType<typeof spawn>) => void): (chunk: string, child: ReturnType<typeof spawn>) => void {
  let read: ((chunk: string) => void) | null = null
  return (chunk, child) => {
    read ??= ndjsonReader((e) => onEvent(e, child))
    read(chunk)
  }
}

const isConnected = (e: AgentEvent) => e.type === 'log' && String(e['message']).startsWith('connected to ')

/** Where the station keeps reports until the broker acknowledges them (store/outbox.ts). */
function outboxFiles(dataDir: string, deviceId: string): string[] {
  const dir = join(dataDir, 'stations', `iotda-${deviceId}`, 'outbox')
  return existsSync(dir) ? readdirSync(dir).filter((n) => n.endsWith('.json')).map((n) => join(dir, n)) : []
}

async function until<T>(what: string, probe: () => T | undefined | false, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const v = probe()
    if (v) return v
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

describe('flashline agent on IoTDA (mosquitto + pty + HTTPS)', () => {
  it('happy path: version_query → order with bearer token → download → YMODEM flash → probe → task succeeded', async () => {
    const { deviceId, dataDir } = newDevice()
    const b = await bench()
    const { pkg, task: t } = task(deviceId, '2.0.0')
    const r = await runCli(agentArgs(deviceId, dataDir, b), { timeoutMs: 60_000 })
    expect(r.code, explain(r)).toBe(0)
    const closed = await cloud.waitForTask(t.id, 10_000)
    expect(closed.status, closed.detail).toBe('succeeded')
    expect(b.device.image.equals(pkg)).toBe(true)
    // progress at meaningful steps, then exactly the ordered version at 100
    const steps = closed.progress.map((p) => p.progress)
    expect(steps.length).toBeGreaterThanOrEqual(3)
    expect(closed.progress.at(-1)).toMatchObject({ resultCode: 0, progress: 100, version: '2.0.0' })
    expect(closed.progress.slice(0, -1).every((p) => p.version === '1.0.0')).toBe(true)
    const reqs = server.requests.filter((q) => q.path.includes(t.id))
    expect(reqs[0]!.headers['authorization']).toMatch(/^Bearer [0-9a-f]+$/)
    const events = jsonEvents(r.stdout)
    expect(events.some((e) => e.type === 'job-closed' && e.result === 'succeeded')).toBe(true)
  }, 90_000)

  it('the same job engine drives other bench protocols: an order for an MCUboot board closes with the probed version', async () => {
    const { deviceId, dataDir } = newDevice()
    const pair = await ptyPair()
    const port = await SerialTransport.open({ path: pair.b, baudRate: 115200 })
    const device = new McubootDevice({ version: '1.0.0' })
    const served = device.attach(port)
    try {
      const pkg = buildMcubootImage(makeFirmwareImage({ version: '2.4.0', size: 30_000, seed: 77 }), { major: 2, minor: 4, revision: 0 })
      const t = cloud.createTask({ deviceId, targetVersion: '2.4.0', package: pkg, fileName: 'app-2.4.0.signed.bin' })
      const args = agentArgs(deviceId, dataDir, { pair } as Bench)
      args[args.indexOf('ymodem')] = 'mcuboot'
      const r = await runCli(args, { timeoutMs: 60_000 })
      expect(r.code, explain(r)).toBe(0)
      const closed = await cloud.waitForTask(t.id, 10_000)
      expect(closed.status, closed.detail).toBe('succeeded')
      expect(closed.progress.at(-1)).toMatchObject({ resultCode: 0, progress: 100, version: '2.4.0' })
      expect(device.image?.equals(pkg)).toBe(true)
    } finally {
      await port.close()
      await served
      await pair.close()
    }
  }, 90_000)

  it('v2: presigned URL downloaded without Authorization or Content-Type', async () => {
    const { deviceId, dataDir } = newDevice()
    const b = await bench()
    const { pkg, task: t } = task(deviceId, '2.1.0', { mode: 'presigned', extraParas: { task_ext_info: '{"device_type":"DDC"}' } })
    const r = await runCli(agentArgs(deviceId, dataDir, b), { timeoutMs: 60_000 })
    expect(r.code, explain(r)).toBe(0)
    expect((await cloud.waitForTask(t.id, 10_000)).status).toBe('succeeded')
    expect(b.device.image.equals(pkg)).toBe(true)
    const reqs = server.requests.filter((q) => q.path.includes(t.id))
    expect(reqs.length).toBeGreaterThan(0)
    for (const q of reqs) {
      expect(q.headers['authorization']).toBeUndefined()
      expect(q.headers['content-type']).toBeUndefined()
    }
  }, 90_000)

  it('bad sign: nothing is flashed, the platform gets result_code 7, exit code 4', async () => {
    const { deviceId, dataDir } = newDevice()
    const b = await bench()
    const { task: t } = task(deviceId, '2.2.0', { sign: 'ab'.repeat(32) })
    const r = await runCli(agentArgs(deviceId, dataDir, b), { timeoutMs: 60_000 })
    expect(r.code, explain(r)).toBe(4)
    const closed = await cloud.waitForTask(t.id, 10_000)
    expect(closed.status).toBe('failed')
    expect(closed.resultCode).toBe(7)
    expect(closed.progress.at(-1)!.version).toBe('1.0.0')
    expect(b.device.received).toHaveLength(0)
  }, 90_000)

  it('expired token: refused download, result_code 6, exit code 3, no retry loop', async () => {
    const { deviceId, dataDir } = newDevice()
    const b = await bench()
    const { task: t } = task(deviceId, '2.3.0', { expiresIn: -1 })
    const r = await runCli(agentArgs(deviceId, dataDir, b), { timeoutMs: 60_000 })
    expect(r.code, explain(r)).toBe(3)
    const closed = await cloud.waitForTask(t.id, 10_000)
    expect(closed.resultCode).toBe(6)
    expect(server.requests.filter((q) => q.path.includes(t.id))).toHaveLength(1)
    expect(b.device.received).toHaveLength(0)
  }, 90_000)

  it('dropped connection mid-download: resumed with Range, flashed byte-identical', async () => {
    const { deviceId, dataDir } = newDevice()
    const b = await bench()
    server.faults.dropAfterBytes = 20_000
    server.faults.dropTimes = 1
    const { pkg, task: t } = task(deviceId, '2.4.0')
    const r = await runCli(agentArgs(deviceId, dataDir, b), { timeoutMs: 60_000 })
    expect(r.code, explain(r)).toBe(0)
    const reqs = server.requests.filter((q) => q.path.includes(t.id))
    expect(reqs.length).toBe(2)
    expect(reqs[1]!.range).toMatch(/^bytes=[1-9]\d*-$/)
    expect(reqs[1]!.status).toBe(206)
    expect(b.device.image.equals(pkg)).toBe(true)
    expect((await cloud.waitForTask(t.id, 10_000)).status).toBe('succeeded')
  }, 90_000)

  it('a server that answers 200 to a Range request: the download restarts from 0 and stays byte-identical', async () => {
    const { deviceId, dataDir } = newDevice()
    const b = await bench()
    server.faults.dropAfterBytes = 20_000
    server.faults.dropTimes = 1
    server.faults.ignoreRange = true
    const { pkg, task: t } = task(deviceId, '2.5.0')
    const r = await runCli(agentArgs(deviceId, dataDir, b), { timeoutMs: 60_000 })
    expect(r.code, explain(r)).toBe(0)
    const reqs = server.requests.filter((q) => q.path.includes(t.id))
    expect(reqs[1]!.status).toBe(200)
    expect(b.device.image.equals(pkg)).toBe(true)
  }, 90_000)

  it('malformed downlinks are logged and ignored; the next order still succeeds', async () => {
    const { deviceId, dataDir } = newDevice()
    const b = await bench()
    const { task: t } = task(deviceId, '2.6.0')
    const r = await runCli(agentArgs(deviceId, dataDir, b), {
      timeoutMs: 60_000,
      onStdout: events(
        once(isConnected, () => {
          void cloud.publishRaw(deviceId, '{"services":[{"service_id":"$ota","event_type":"firmware_upgrade","paras":')
          void cloud.publishRaw(deviceId, Buffer.from([0xff, 0x00, 0x7b]))
        })
      )
    })
    expect(r.code, explain(r)).toBe(0)
    const ignored = jsonEvents(r.stdout).filter((e) => e.type === 'downlink-ignored')
    expect(ignored.map((e) => String(e['reason']).slice(0, 9))).toEqual(['not JSON ', 'not JSON '])
    expect((await cloud.waitForTask(t.id, 10_000)).status).toBe('succeeded')
  }, 90_000)

  it('B6: a 36 KB firmware_upgrade with task_ext_info 6000 levels deep is refused (result_code 255); the agent lives on and the next task succeeds', async () => {
    const { deviceId, dataDir } = newDevice()
    const b = await bench()
    const deep = `{"object_device_id":"${deviceId}","services":[{"service_id":"$ota","event_type":"firmware_upgrade","event_time":"20151212T121212Z","paras":{"version":"9.9.9","url":"https://127.0.0.1:1/never.bin","file_size":1,"sign":"${'ab'.repeat(32)}","task_id":"deep-task-1","task_ext_info":${'{"x":'.repeat(6000)}0${'}'.repeat(6000)}}}]}`
    expect(deep.length).toBeGreaterThan(36_000)
    let child: ReturnType<typeof spawn> | null = null
    let connected: () => void = () => undefined
    const up = new Promise<void>((resolve) => (connected = resolve))
    const args = agentArgs(deviceId, dataDir, b).filter((a) => a !== '--once')
    const run = runCli(args, {
      timeoutMs: 90_000,
      onStdout: events((e, c) => {
        if (child || !isConnected(e)) return
        child = c
        connected()
      })
    })
    await up
    await cloud.publishRaw(deviceId, deep)
    const answer = await until(
      'the refusal report',
      () => cloud.uplinks.map((u) => JSON.parse(u.payload)).find((m) => m.object_device_id === deviceId && m.services?.[0]?.event_type === 'upgrade_progress_report'),
      20_000
    )
    expect(answer.services[0].paras).toMatchObject({ result_code: 255, version: '1.0.0', description: expect.stringContaining('task_ext_info is nested more than 32 levels deep') })
    const { pkg, task: t } = task(deviceId, '2.6.5')
    const closed = await cloud.waitForTask(t.id, 60_000)
    expect(closed.status, closed.detail).toBe('succeeded')
    expect(b.device.image.equals(pkg)).toBe(true)
    child!.kill('SIGINT')
    const r = await run
    expect(r.code, explain(r)).toBe(130)
    const refused = jsonEvents(r.stdout).find((e) => e.type === 'job-closed' && (e['outcome'] as { reason?: string } | undefined)?.reason === 'internal')
    expect(refused?.['outcome']).toMatchObject({ result: 'failed', message: expect.stringContaining('nested more than 32 levels deep') })
    expect(server.requests.filter((q) => q.path.includes('never.bin'))).toHaveLength(0)
  }, 120_000)

  it('a malformed sign: refused before any download (result_code 7, exit 4), nothing flashed', async () => {
    const { deviceId, dataDir } = newDevice()
    const b = await bench()
    const { task: t } = task(deviceId, '2.2.1', { sign: 'this-is-not-a-sha256' })
    const r = await runCli(agentArgs(deviceId, dataDir, b, ['--allow-unverified']), { timeoutMs: 60_000 })
    expect(r.code, explain(r)).toBe(4)
    const closed = await cloud.waitForTask(t.id, 10_000)
    expect(closed.status).toBe('failed')
    expect(closed.resultCode).toBe(7)
    expect(closed.progress.at(-1)).toMatchObject({ version: '1.0.0', description: expect.stringContaining('paras.sign "this-is-not-a-sha256" is not a SHA-256 digest') })
    expect(server.requests.filter((q) => q.path.includes(t.id))).toHaveLength(0)
    expect(b.device.received).toHaveLength(0)
  }, 90_000)

  it('broker restart mid-job: reports stay queued on disk (outbox files) while the broker is down, and are gone once delivered', async () => {
    const { deviceId, dataDir } = newDevice()
    const b = await bench()
    const { pkg, task: t } = task(deviceId, '2.7.0')
    let outage: Promise<string[]> | null = null
    const r = await runCli(agentArgs(deviceId, dataDir, b), {
      timeoutMs: 90_000,
      onStdout: events(
        once(
          (e) => e.type === 'flash-progress',
          () => {
            outage = (async () => {
              await broker.stop()
              try {
                // the bench keeps going: its next reports must land on disk, not only in mqtt.js's memory
                const files = await until('a report file in the outbox while the broker is down', () => outboxFiles(dataDir, deviceId).length > 0 && outboxFiles(dataDir, deviceId), 60_000)
                return files.map((f) => readFileSync(f, 'utf8'))
              } finally {
                await broker.start()
              }
            })()
          }
        )
      )
    })
    expect(outage).not.toBeNull()
    const queued = await outage!
    expect(queued.length).toBeGreaterThan(0)
    expect(queued.every((q) => JSON.parse(q).message.topic === `$oc/devices/${deviceId}/sys/events/up`)).toBe(true)
    expect(r.code, explain(r)).toBe(0)
    expect(outboxFiles(dataDir, deviceId)).toEqual([])
    expect(b.device.image.equals(pkg)).toBe(true)
    expect((await cloud.waitForTask(t.id, 20_000)).status).toBe('succeeded')
  }, 120_000)

  it('a final report the broker never acknowledges: exit 6 after --report-timeout, the report stays on disk', async () => {
    const { deviceId, dataDir } = newDevice()
    const b = await bench()
    const { pkg, task: t } = task(deviceId, '2.7.5')
    let paused = false
    try {
      const r = await runCli([...agentArgs(deviceId, dataDir, b), '--report-timeout', '3'], {
        timeoutMs: 90_000,
        onStdout: events(
          once(
            (e) => e.type === 'flash-progress',
            () => {
              // frozen, not gone: the connection stays up but no PUBACK ever comes
              broker.pause()
              paused = true
            }
          )
        )
      })
      expect(paused).toBe(true)
      expect(r.code, explain(r)).toBe(6)
      expect(r.stderr).toContain('the final report was not acknowledged by the broker in time; it stays queued and is sent on the next start')
      expect(b.device.image.equals(pkg)).toBe(true)
      const kept = outboxFiles(dataDir, deviceId).map((f) => JSON.parse(readFileSync(f, 'utf8')))
      expect(kept.some((e) => e.final === true && JSON.parse(e.message.payload).services[0].paras.progress === 100)).toBe(true)
    } finally {
      broker.resume()
    }
    expect(cloud.tasks.get(t.id)!.status).toBe('upgrading')
  }, 120_000)

  it('process killed mid-flash and restarted: the job resumes from its journal and the task closes truthfully', async () => {
    const { deviceId, dataDir } = newDevice()
    const b = await bench()
    const { pkg, task: t } = task(deviceId, '2.8.0')
    const first = await new Promise<number | null>((resolve) => {
      const child = spawn(process.execPath, [join(__dirname, '..', 'bin', 'flashline.js'), ...agentArgs(deviceId, dataDir, b)], { stdio: ['ignore', 'pipe', 'pipe'] })
      const read = ndjsonReader(once((e) => e.type === 'flash-progress', () => child.kill('SIGKILL')))
      child.stdout.on('data', (d: Buffer) => read(d.toString()))
      child.on('close', (code) => resolve(code))
    })
    expect(first).toBeNull() // killed
    expect(cloud.tasks.get(t.id)!.status).toBe('upgrading')
    const r = await runCli(agentArgs(deviceId, dataDir, b), { timeoutMs: 90_000 })
    expect(r.code, explain(r)).toBe(0)
    expect(b.device.image.equals(pkg)).toBe(true)
    expect((await cloud.waitForTask(t.id, 20_000)).status).toBe('succeeded')
  }, 120_000)

  it('gateway children: an order for a child is flashed on its own port and reported on the gateway topic', async () => {
    const { deviceId: gw, dataDir } = newDevice()
    const childId = `${gw}_child`
    const gwBench = await bench()
    const childBench = await bench('0.9.0')
    cloud.addChild(gw, childId)
    const { pkg, task: t } = task(childId, '3.0.0')
    const r = await runCli(agentArgs(gw, dataDir, gwBench, ['--child', `${childId},${childBench.pair.a},0.9.0`]), { timeoutMs: 60_000 })
    expect(r.code, explain(r)).toBe(0)
    const closed = await cloud.waitForTask(t.id, 10_000)
    expect(closed.status, closed.detail).toBe('succeeded')
    expect(closed.versionReports[0]).toEqual({ fw_version: '0.9.0', sw_version: '0.9.0' })
    expect(childBench.device.image.equals(pkg)).toBe(true)
    expect(gwBench.device.received).toHaveLength(0)
    const ups = cloud.uplinks.filter((u) => u.payload.includes(childId))
    expect(ups.length).toBeGreaterThan(2)
    expect(ups.every((u) => u.topic === `$oc/devices/${gw}/sys/events/up`)).toBe(true)
  }, 90_000)

  it('a device already on the target version closes the task without any download', async () => {
    const { deviceId, dataDir } = newDevice()
    const b = await bench('2.9.0')
    const { task: t } = task(deviceId, '2.9.0')
    const args = agentArgs(deviceId, dataDir, b).map((a) => (a === '1.0.0' ? '2.9.0' : a)).filter((a) => a !== '--once')
    const child = spawn(process.execPath, [join(__dirname, '..', 'bin', 'flashline.js'), ...args], { stdio: 'ignore' })
    try {
      const closed = await cloud.waitForTask(t.id, 20_000)
      expect(closed.status).toBe('succeeded')
      expect(closed.detail).toMatch(/no download/)
      expect(closed.versionReports.at(-1)).toEqual({ fw_version: '2.9.0', sw_version: '2.9.0' })
      expect(server.requests.filter((q) => q.path.includes(t.id))).toHaveLength(0)
    } finally {
      child.kill('SIGINT')
      await new Promise((res) => child.once('exit', res))
    }
  }, 60_000)
})

describe('flashline agent over mqtts (mosquitto TLS listener)', () => {
  let tlsBroker: Broker
  let tlsCloud: IotdaCloud
  let tlsPort: number

  beforeAll(async () => {
    const { freePort } = await import('./harness/mosquitto')
    tlsPort = await freePort()
    const dir = join(__dirname, '..', 'resources', 'sim-tls')
    tlsBroker = await startMosquitto({
      extraConfig: [`listener ${tlsPort} 127.0.0.1`, `cafile ${join(dir, 'ca.pem')}`, `certfile ${join(dir, 'cert.pem')}`, `keyfile ${join(dir, 'key.pem')}`].join('\n')
    })
    tlsCloud = await IotdaCloud.start({ packageServer: server, brokerUrl: tlsBroker.url, queryIntervalMs: 1000 })
  })
  afterAll(async () => {
    await tlsCloud?.close()
    await tlsBroker?.close()
  })

  function args(deviceId: string, dataDir: string, b: Bench, withCa: boolean): string[] {
    const a = agentArgs(deviceId, dataDir, b)
    a[a.indexOf('--broker') + 1] = `mqtts://localhost:${tlsPort}`
    if (!withCa) {
      const i = a.indexOf('--ca')
      a.splice(i, 2)
    }
    return a
  }

  it('connects with TLS verified against --ca and completes the upgrade', async () => {
    const { deviceId, dataDir } = newDevice()
    const b = await bench()
    const pkg = makeFirmwareImage({ version: '5.0.0', size: 20_000, seed: 3 })
    const t = tlsCloud.createTask({ deviceId, targetVersion: '5.0.0', package: pkg })
    // the package server uses the same private CA, so --ca serves both the broker and the download
    const r = await runCli(args(deviceId, dataDir, b, true), { timeoutMs: 60_000 })
    expect(r.code, explain(r)).toBe(0)
    expect((await tlsCloud.waitForTask(t.id, 10_000)).status).toBe('succeeded')
    expect(b.device.image.equals(pkg)).toBe(true)
  }, 90_000)

  it('refuses a broker certificate it cannot verify: exit 6 with a hint to pass --ca', async () => {
    const { deviceId, dataDir } = newDevice()
    const b = await bench()
    const r = await runCli([...args(deviceId, dataDir, b, false), '--connect-timeout', '10'], { timeoutMs: 60_000 })
    expect(r.code, explain(r)).toBe(6)
    expect(r.stderr).toMatch(/--ca/)
  }, 90_000)
})
