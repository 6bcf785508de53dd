import { readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { API_METHODS, type AppEvent, type ApiMethod, type JobView, type Result } from '../preload/contract'
import { Bench, useSimulators } from '../main/engine'
import { makeFirmwareImage } from '../main/engine/sim/firmware-image'
import { createHost, DemoController, KeyFileSecretStore, MemorySecretStore, OPERATOR_METHODS, SCHEMAS, type Host, type HostOptions } from '../main/host'
import { tempDir } from './harness/tmp'

useSimulators()

let tmp: ReturnType<typeof tempDir>
let hosts: Host[] = []

beforeEach(() => {
  tmp = tempDir('flashline-host-')
})
afterEach(async () => {
  for (const h of hosts) await h.close()
  hosts = []
  tmp.cleanup()
})

function makeHost(extra: Partial<HostOptions> = {}, dataDir = join(tmp.dir, 'data')): Host {
  const host = createHost({
    bench: new Bench({ dataDir }),
    secrets: new MemorySecretStore(),
    settingsFile: join(dataDir, 'settings.json'),
    pinPolicy: { delayMs: 200, maxFailures: 3, lockoutMs: 60_000 },
    portsIntervalMs: 60_000,
    ...extra
  })
  hosts.push(host)
  return host
}

async function ok<T = unknown>(p: Promise<Result<unknown>>): Promise<T> {
  const r = await p
  if (!r.ok) throw new Error(`expected ok, got ${JSON.stringify(r.error)}`)
  return r.value as T
}

async function fails(p: Promise<Result<unknown>>): Promise<{ kind: string; code: string; message: string; field?: string }> {
  const r = await p
  if (r.ok) throw new Error(`expected an error, got ${JSON.stringify(r.value)}`)
  return r.error
}

/** Events until `until` says stop, or a deadline. */
function collect(host: Host, until: (e: AppEvent, all: AppEvent[]) => boolean, timeoutMs = 30_000): Promise<AppEvent[]> {
  return new Promise((resolve, reject) => {
    const all: AppEvent[] = []
    const timer = setTimeout(() => {
      off()
      reject(new Error(`no matching event in ${timeoutMs} ms; got ${all.map((e) => e.type).join(',')}`))
    }, timeoutMs)
    const off = host.onEvent((e) => {
      all.push(e)
      if (until(e, all)) {
        clearTimeout(timer)
        off()
        resolve(all)
      }
    })
  })
}

const image = (version: string, size = 8 * 1024) => makeFirmwareImage({ version, size, seed: 7 })

async function upload(host: Host, data: Buffer, name = 'fw.bin'): Promise<string> {
  const pkg = await ok<{ sha256: string }>(host.call('uploadPackage', { name, dataBase64: data.toString('base64') }))
  return pkg.sha256
}

describe('the API surface', () => {
  it('has a schema and a handler for every contract method, and checks every argument', async () => {
    expect(Object.keys(SCHEMAS).sort()).toEqual([...API_METHODS].sort())
    const host = makeHost()
    expect([...host.methods].sort()).toEqual([...API_METHODS].sort())
    for (const m of API_METHODS) {
      const e = await fails(host.call(m, { bogusField: 1 }))
      expect(e, m).toMatchObject({ kind: 'usage', code: 'bad-argument' })
    }
    expect(await fails(host.call('nope' as ApiMethod, undefined))).toMatchObject({ code: 'unknown-method' })
  })

  it('names the bad field: the argument schema and the engine configuration schema alike', async () => {
    const host = makeHost()
    expect(await fails(host.call('saveSlot', { settings: { port: 'sim:ymodem', protocol: 'ymodem', baud: 'fast' } }))).toMatchObject({ kind: 'usage', code: 'bad-argument', field: 'settings.baud' })
    expect(await fails(host.call('saveSlot', { settings: { port: 'sim:ymodem', protocol: 'xmodem' } }))).toMatchObject({ field: 'settings.protocol' })
    expect(await fails(host.call('saveSlot', { settings: { port: 'sim:ymodem', protocol: 'ymodem', color: 'red' } }))).toMatchObject({ field: 'settings.color', message: 'settings.color: unknown field' })
    // a field of another protocol: only the engine knows which protocol owns which option
    const e = await fails(host.call('saveSlot', { settings: { port: 'sim:stm32', protocol: 'stm32', menuCommand: '1' } }))
    expect(e).toMatchObject({ kind: 'usage', field: 'settings.menuCommand' })
    expect(e.message).toMatch(/^settings\.menuCommand: applies to ymodem/)
    expect(await fails(host.call('flash', { sha256: 'a'.repeat(64) }))).toMatchObject({ field: 'slotId' })
    expect(await fails(host.call('updateSettings', { serialPattern: '([' }))).toMatchObject({ field: 'serialPattern' })
    expect(await fails(host.call('queryRecords', { since: 'yesterday' }))).toMatchObject({ field: 'since' })
  })
})

describe('slots and profiles', () => {
  it('keeps slots in a 0600 file, mirrored into the bench, and restores them on the next start', async () => {
    const dataDir = join(tmp.dir, 'data')
    const host = makeHost({}, dataDir)
    const slot = await ok<{ id: string }>(host.call('saveSlot', { label: 'Fixture A', settings: { port: 'sim:ymodem:a', protocol: 'ymodem', baud: 115200 } }))
    expect(slot).toMatchObject({ id: 'slot-1', label: 'Fixture A', settings: { port: 'sim:ymodem:a', protocol: 'ymodem', baud: 115200 } })
    expect(await fails(host.call('saveSlot', { settings: { port: 'sim:ymodem:a', protocol: 'ymodem' } }))).toMatchObject({ code: 'port-in-use', field: 'settings.port' })
    const file = join(dataDir, 'app', 'slots.json')
    expect(statSync(file).mode & 0o777).toBe(0o600)
    await hosts.pop()!.close()
    const again = makeHost({}, dataDir)
    expect(await ok(again.call('listSlots', undefined))).toEqual([{ id: 'slot-1', label: 'Fixture A', settings: { port: 'sim:ymodem:a', protocol: 'ymodem', baud: 115200 } }])
    await ok(again.call('removeSlot', { id: 'slot-1' }))
    expect(await ok(again.call('listSlots', undefined))).toEqual([])
  })

  it('keeps profile secrets in the secret store only: the renderer learns which are set, never their values', async () => {
    const dataDir = join(tmp.dir, 'data')
    const secrets = new KeyFileSecretStore(dataDir)
    const host = makeHost({ secrets }, dataDir)
    await ok(host.call('saveSlot', { id: 'bench1', settings: { port: 'sim:ymodem:p', protocol: 'ymodem' } }))
    const secret = 'S3cr3t-device-value-42'
    const profile = { name: 'Line 3 IoTDA', platform: 'iotda', broker: 'mqtts://iot.example.com:8883', iotda: { deviceId: 'dev_1' }, devices: [{ id: 'dev_1', slotId: 'bench1', currentVersion: '1.0.0' }] }
    // the device secret is required, and named as a secrets field
    expect(await fails(host.call('saveProfile', { profile }))).toMatchObject({ kind: 'usage', field: 'secrets.secret' })
    expect(await fails(host.call('saveProfile', { profile: { ...profile, broker: 'http://x' }, secrets: { secret } }))).toMatchObject({ field: 'profile.broker' })
    expect(await fails(host.call('saveProfile', { profile: { ...profile, devices: [{ id: 'dev_1', slotId: 'nope', currentVersion: '1' }] }, secrets: { secret } }))).toMatchObject({ field: 'profile.devices[0].slotId' })
    const view = await ok<Record<string, unknown>>(host.call('saveProfile', { profile, secrets: { secret } }))
    expect(view).toMatchObject({ id: 'line-3-iotda-1', secretsSet: { secret: true, deviceSecret: false, password: false, cert: false, key: false } })
    const listed = await ok(host.call('listProfiles', undefined))
    expect(JSON.stringify(listed)).not.toContain(secret)
    for (const f of ['app/profiles.json', 'secrets.json', 'secrets.key', 'settings.json'].map((f) => join(dataDir, f))) {
      let text = ''
      try {
        text = readFileSync(f, 'utf8')
        expect(statSync(f).mode & 0o777, f).toBe(0o600)
      } catch {
        /* not every file exists */
      }
      expect(text, f).not.toContain(secret)
    }
    expect(secrets.get('profile.line-3-iotda-1.secret')).toBe(secret)
    // saving again without secrets keeps them; "" removes one
    await ok(host.call('saveProfile', { profile: { ...profile, id: 'line-3-iotda-1', name: 'renamed' } }))
    expect(secrets.get('profile.line-3-iotda-1.secret')).toBe(secret)
    await ok(host.call('removeProfile', { id: 'line-3-iotda-1' }))
    expect(secrets.has('profile.line-3-iotda-1.secret')).toBe(false)
  })
})

describe('settings and operator mode', () => {
  it('stores the admin PIN as a scrypt hash, allows only the operator methods, refuses wrong PINs slowly and locks out', async () => {
    const dataDir = join(tmp.dir, 'data')
    const host = makeHost({}, dataDir)
    expect(await fails(host.call('updateSettings', { operatorMode: true }))).toMatchObject({ code: 'no-admin-pin' })
    await ok(host.call('setAdminPin', { pin: '482916' }))
    const file = readFileSync(join(dataDir, 'settings.json'), 'utf8')
    expect(file).not.toContain('482916')
    expect(JSON.parse(file).adminPin).toMatchObject({ scrypt: { N: 16384 }, salt: expect.any(String), hash: expect.any(String) })
    // changing it needs the current one
    expect(await fails(host.call('setAdminPin', { pin: '111111' }))).toMatchObject({ field: 'currentPin' })

    await ok(host.call('updateSettings', { operatorMode: true, station: 'line-3', operator: 'ana' }))
    for (const m of API_METHODS) {
      if (OPERATOR_METHODS.has(m)) continue
      expect(await fails(host.call(m, undefined)), m).toMatchObject({ kind: 'forbidden', code: 'operator-mode' })
    }
    expect(await ok(host.call('listSlots', undefined))).toEqual([])
    expect(await ok(host.call('getSettings', undefined))).toMatchObject({ operatorMode: true, adminPinSet: true, station: 'line-3', operator: 'ana' })

    const t0 = Date.now()
    expect(await fails(host.call('unlockOperatorMode', { pin: '000000' }))).toMatchObject({ kind: 'forbidden', code: 'bad-pin', field: 'pin' })
    expect(Date.now() - t0).toBeGreaterThanOrEqual(190)
    // guesses in parallel wait for each other: the third wrong PIN in a row locks
    const [a, b] = await Promise.all([host.call('unlockOperatorMode', { pin: '1' }), host.call('unlockOperatorMode', { pin: '2' })])
    expect(Date.now() - t0).toBeGreaterThanOrEqual(3 * 190)
    expect([a, b].map((r) => !r.ok && r.error.code)).toEqual(['bad-pin', 'pin-locked'])
    expect(await fails(host.call('unlockOperatorMode', { pin: '482916' }))).toMatchObject({ kind: 'forbidden', code: 'pin-locked' })
    // the lockout survives a restart
    await hosts.pop()!.close()
    const again = makeHost({}, dataDir)
    expect(await fails(again.call('unlockOperatorMode', { pin: '482916' }))).toMatchObject({ code: 'pin-locked' })
  })

  it('leaves operator mode with the right PIN', async () => {
    const host = makeHost()
    await ok(host.call('setAdminPin', { pin: '2468' }))
    await ok(host.call('updateSettings', { operatorMode: true }))
    expect(await ok(host.call('unlockOperatorMode', { pin: '2468' }))).toMatchObject({ operatorMode: false })
    await ok(host.call('saveSlot', { settings: { port: 'sim:ymodem', protocol: 'ymodem' } }))
  })

  it('keeps the records database URL as a secret and hands it to a new bench', async () => {
    const dataDir = join(tmp.dir, 'data')
    const secrets = new MemorySecretStore()
    const made: Array<string | undefined> = []
    const host = makeHost({ secrets, recreateBench: (db) => (made.push(db), new Bench({ dataDir, recordsDb: db })) }, dataDir)
    const url = 'postgres://flash:pw-9f8e@127.0.0.1:1/records'
    expect(await ok(host.call('updateSettings', { recordsDb: url }))).toMatchObject({ recordsDb: { set: true } })
    expect(made).toEqual([url])
    expect(secrets.get('settings.recordsDb')).toBe(url)
    expect(readFileSync(join(dataDir, 'settings.json'), 'utf8')).not.toContain('pw-9f8e')
    expect(await fails(host.call('updateSettings', { recordsDb: 'mysql://x' }))).toMatchObject({ kind: 'usage', field: 'recordsDb' })
    expect(secrets.get('settings.recordsDb')).toBe(url)
    expect(await ok(host.call('updateSettings', { recordsDb: null }))).toMatchObject({ recordsDb: { set: false } })
  })
})

describe('packages, jobs and records', () => {
  it('flashes an uploaded package onto a simulated board: job events with progress, the serial number and station in the record', async () => {
    const host = makeHost()
    await ok(host.call('updateSettings', { serialPattern: 'SN-[0-9]{4}', station: 'line-3', operator: 'ana' }))
    const sha256 = await upload(host, image('3.1.0', 32 * 1024), 'app-3.1.0.bin')
    expect(await ok(host.call('listPackages', undefined))).toEqual([{ sha256, size: 32 * 1024, name: 'app-3.1.0.bin', md5: expect.stringMatching(/^[0-9a-f]{32}$/) }])
    await ok(host.call('saveSlot', { id: 'f1', settings: { port: 'sim:ymodem:host-flash', protocol: 'ymodem', probe: { timeoutSeconds: 5 } } }))
    expect(await fails(host.call('flash', { slotId: 'f1', sha256, serialNumber: 'SN-12' }))).toMatchObject({ code: 'bad-serial', field: 'serialNumber' })
    expect(await fails(host.call('flash', { slotId: 'f1', sha256: 'b'.repeat(64) }))).toMatchObject({ code: 'not-in-cache', field: 'sha256' })

    const events = collect(host, (e) => e.type === 'job' && e.job.result !== undefined)
    const { jobId } = await ok<{ jobId: string }>(host.call('flash', { slotId: 'f1', sha256, serialNumber: 'SN-1234' }))
    const all = await events
    const jobs = all.filter((e): e is Extract<AppEvent, { type: 'job' }> => e.type === 'job').map((e) => e.job)
    expect(jobs.every((j) => j.id === jobId)).toBe(true)
    expect(jobs.at(-1)).toMatchObject({ result: 'succeeded', slotId: 'f1', serialNumber: 'SN-1234', origin: 'local', package: { sha256, name: 'app-3.1.0.bin' } })
    const progress = all.filter((e) => e.type === 'progress')
    expect(progress.length).toBeGreaterThan(0)
    expect(progress.some((e) => e.type === 'progress' && e.progress.stage === 'write' && e.progress.total === 32 * 1024)).toBe(true)
    expect(all.some((e) => e.type === 'log' && e.line.jobId === jobId)).toBe(true)

    const listed = await ok<JobView[]>(host.call('listJobs', { limit: 5 }))
    expect(listed[0]).toMatchObject({ id: jobId, result: 'succeeded' })
    expect(await ok<string>(host.call('jobLog', { jobId }))).toMatch(/phase succeeded/)
    const records = await ok<Array<Record<string, unknown>>>(host.call('queryRecords', { serialNumber: 'SN-1234' }))
    expect(records).toHaveLength(1)
    expect(records[0]).toMatchObject({ job_id: jobId, serial_number: 'SN-1234', station: 'line-3', operator: 'ana', result: 'succeeded' })
    const csv = await ok<{ fileName: string; content: string }>(host.call('exportRecords', { filter: {}, format: 'csv' }))
    expect(csv.fileName).toMatch(/^flashline-records-\d{8}-\d{6}\.csv$/)
    expect(csv.content.split('\r\n')[0]).toMatch(/^job_id,origin,station,operator,/)
    expect(csv.content).toContain(jobId)
  })

  it('refuses an upload that is no base64, a path import in the browser, and the file dialog without one', async () => {
    const host = makeHost()
    expect(await fails(host.call('uploadPackage', { name: 'x.bin', dataBase64: 'not base64!' }))).toMatchObject({ field: 'dataBase64' })
    expect(await fails(host.call('uploadPackage', { name: 'x.bin', dataBase64: 'A'.repeat(90 * 1024 * 1024) }))).toMatchObject({ field: 'dataBase64', message: expect.stringMatching(/64 MiB/) })
    expect(await fails(host.call('importPackage', { path: '/etc/hostname' }))).toMatchObject({ code: 'unsupported' })
    expect(await fails(host.call('pickPackageFile', undefined))).toMatchObject({ code: 'unsupported' })
    // a package that does not match the expected hash is not kept
    expect(await fails(host.call('uploadPackage', { name: 'x.bin', dataBase64: Buffer.from('abc').toString('base64'), sha256: 'c'.repeat(64) }))).toMatchObject({ kind: 'integrity' })
    expect(await ok(host.call('listPackages', undefined))).toEqual([])
  })

  it('imports by path and picks files by dialog in the desktop app', async () => {
    const file = join(tmp.dir, 'app-1.2.bin')
    writeFileSync(file, image('1.2.0'))
    const host = makeHost({ info: { host: 'electron' }, pickFile: async () => file })
    expect(await ok(host.call('pickPackageFile', undefined))).toBe(file)
    expect(await fails(host.call('importPackage', { path: 'relative.bin' }))).toMatchObject({ field: 'path' })
    expect(await ok(host.call('importPackage', { path: file }))).toMatchObject({ name: 'app-1.2.bin', size: 8 * 1024 })
  })

  it('detects the bootloader and chip on a slot without writing anything', async () => {
    const host = makeHost()
    const found = await ok(host.call('detect', { slot: { port: 'sim:stm32:host-detect', protocol: 'stm32' } }))
    expect(found).toMatchObject({ protocol: 'stm32', chip: expect.stringMatching(/^STM32F10/), chipId: expect.stringMatching(/^[0-9a-f]{24}$/) })
    expect(await fails(host.call('detect', { slot: { port: 'sim:stm32:host-detect', protocol: 'stm32', baud: 'fast' } }))).toMatchObject({ kind: 'usage', field: 'slot.baud' })
  })
})

describe('batches', () => {
  it('runs a batch over saved slots with batch events, ends with a notice, and retries the failed units', async () => {
    const notices: string[] = []
    const host = makeHost({ notify: (e) => notices.push(e.text) })
    const sha256 = await upload(host, image('4.0.0'))
    await ok(host.call('saveSlot', { id: 'a', settings: { port: 'sim:stm32:batch-a', protocol: 'stm32' } }))
    await ok(host.call('saveSlot', { id: 'b', settings: { port: 'sim:stm32:batch-b', protocol: 'stm32' } }))
    await ok(host.call('saveSlot', { id: 'bad', settings: { port: 'sim:nosuchkind', protocol: 'stm32' } }))
    await ok(host.call('saveSlot', { id: 'y', settings: { port: 'sim:ymodem:batch-y', protocol: 'ymodem' } }))
    expect(await fails(host.call('startBatch', { slotIds: ['a', 'y'], sha256 }))).toMatchObject({ code: 'mixed-slots', field: 'slotIds[1]' })

    const ended = collect(host, (e) => e.type === 'batch' && e.batch.state === 'ended')
    const started = await ok<{ id: string; state: string }>(host.call('startBatch', { slotIds: ['a', 'b', 'bad'], sha256 }))
    expect(started.state).toBe('running')
    const events = await ended
    const last = events.filter((e) => e.type === 'batch').at(-1) as Extract<AppEvent, { type: 'batch' }>
    expect(last.batch).toMatchObject({ id: started.id, state: 'ended', passed: 2, failed: 1, cancelled: 0 })
    expect(last.batch.yield).toBeCloseTo(2 / 3)
    expect(last.batch.units.map((u) => [u.slotId, u.state]).sort()).toEqual([['a', 'succeeded'], ['b', 'succeeded'], ['bad', 'failed']])
    expect(last.batch.units.find((u) => u.slotId === 'a')!.chipId).toMatch(/^[0-9a-f]{24}$/i)
    // the units' jobs name the slot whose port they ran on (the page shows them on that slot's tile)
    const unitJobs = events.filter((e): e is Extract<AppEvent, { type: 'job' }> => e.type === 'job' && e.job.origin === 'batch' && e.job.result !== undefined).map((e) => [e.job.slotId, e.job.result])
    expect(unitJobs.sort()).toEqual([['a', 'succeeded'], ['b', 'succeeded'], ['bad', 'failed']])
    expect((await ok<Array<{ origin: string; slotId?: string }>>(host.call('listJobs', undefined))).filter((j) => j.origin === 'batch').map((j) => j.slotId).sort()).toEqual(['a', 'b', 'bad'])
    expect(notices).toContain('Batch ended: 2 passed, 1 failed')
    expect(await ok(host.call('currentBatch', undefined))).toMatchObject({ id: started.id, state: 'ended' })

    const retryEnded = collect(host, (e) => e.type === 'batch' && e.batch.state === 'ended')
    const retry = await ok<{ id: string; units: unknown[] }>(host.call('retryFailed', { batchId: started.id }))
    expect(retry.id).not.toBe(started.id)
    const r = (await retryEnded).filter((e) => e.type === 'batch').at(-1) as Extract<AppEvent, { type: 'batch' }>
    expect(r.batch.units.map((u) => u.port)).toEqual(['sim:nosuchkind'])
    expect(await fails(host.call('stopBatch', { batchId: started.id }))).toMatchObject({ code: 'unknown-batch' })
  })
})

describe('demo mode', () => {
  it('runs the three simulated platform upgrades through the host: profiles and slots made, jobs and connections as events', async () => {
    const demo = new DemoController()
    await demo.start()
    const host = makeHost({ demo })
    try {
      expect(await ok(host.call('appInfo', undefined))).toMatchObject({ demo: true })
      const ports = await ok<Array<{ path: string; simulated?: boolean }>>(host.call('listPorts', undefined))
      expect(ports.filter((p) => p.simulated).map((p) => p.path)).toEqual(expect.arrayContaining(['sim:ymodem', 'sim:stm32', 'sim:demo-iotda', 'sim:demo-fog', 'sim:demo-wudun']))
      const done = new Set<string>()
      const verdicts: string[] = []
      // the clouds' own verdicts on their tasks come as log lines after the jobs end
      const events = collect(host, (e) => {
        if (e.type === 'job' && e.job.origin === 'platform' && e.job.result) done.add(e.job.connectionId!)
        if (e.type === 'log' && e.line.source === 'demo') verdicts.push(e.line.message)
        return done.size === 3 && verdicts.length === 3
      }, 60_000)
      await ok(host.call('runDemo', undefined))
      const all = await events
      const finals = all.filter((e): e is Extract<AppEvent, { type: 'job' }> => e.type === 'job' && e.job.result !== undefined).map((e) => e.job)
      expect(finals.map((j) => j.result)).toEqual(['succeeded', 'succeeded', 'succeeded'])
      expect(verdicts.map((v) => /^the (\w+) cloud's task \S+ \(firmware \S+\) closed: (\w+)/.exec(v)?.slice(1).join(' ')).sort()).toEqual(['FogCloud succeeded', 'IoTDA succeeded', 'Wudun succeeded'])
      expect(all.some((e) => e.type === 'connection' && e.connection.status === 'online' && e.connection.profileId === 'demo-iotda')).toBe(true)
      const profiles = await ok<Array<{ id: string; connectionId?: string; secretsSet: Record<string, boolean> }>>(host.call('listProfiles', undefined))
      expect(profiles.map((p) => p.id).sort()).toEqual(['demo-fogcloud', 'demo-iotda', 'demo-wudun'])
      expect(profiles.every((p) => p.connectionId)).toBe(true)
      expect(profiles.find((p) => p.id === 'demo-iotda')!.secretsSet.secret).toBe(true)
    } finally {
      await hosts.pop()!.close()
      await demo.close()
    }
  })
})
