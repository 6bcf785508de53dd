import type { AppEvent, BatchView, FlashlineApi, JobView, PackageView, PortInfo, ProfileView, RecordView, Settings, SlotSettings, SlotView } from '../../preload/contract'

/**
 * A fake engine behind `window.api`, implementing preload/contract.ts in the page, for fast renderer
 * tests: Playwright injects it with page.addInitScript(installFakeApi, options), vitest calls it
 * directly under happy-dom. It must stay self-contained (Playwright sends the function's source to
 * the page): no imports but types, no references to anything outside the function.
 *
 * Jobs move through their phases on timers (stepMs apart); a port named in failPorts fails to open;
 * a slot named in protectedSlots fails as a read-protected STM32. window.__fake drives it from tests.
 */
export interface FakeOptions {
  host?: 'electron' | 'browser'
  platform?: string
  systemLocale?: string
  demo?: boolean
  language?: Settings['language']
  operatorMode?: boolean
  /** Admin PIN (set when given). */
  adminPin?: string
  serialPattern?: string
  /** How many saved slots (ttyUSB0…). */
  slots?: number
  /** 'mixed': slots start in every state (passed, failed, running, idle), for screenshots. */
  scenario?: 'idle' | 'mixed'
  /** Ports that refuse to open (EACCES). */
  failPorts?: string[]
  /** Slot ids whose STM32 is read-protected. */
  protectedSlots?: string[]
  /** Milliseconds between a simulated job's phases. */
  stepMs?: number
  /** A package in the cache from the start. */
  cachedPackage?: boolean
  /** Platform profiles and a connection from the start. */
  withPlatform?: boolean
}

export interface FakeControl {
  calls: Array<{ method: string; args: unknown }>
  emit(event: AppEvent): void
  /** `slots` jobs flashing, each sending `perSecond` progress events for `seconds`; resolves when done. */
  startBusy(opts: { slots: number; perSecond: number; seconds: number }): Promise<number>
  jobs(): JobView[]
}

export function installFakeApi(options: FakeOptions = {}): void {
  const o = { host: 'browser', platform: 'linux', systemLocale: 'en-US', slots: 4, stepMs: 120, scenario: 'idle', failPorts: [], protectedSlots: [], ...options } as Required<FakeOptions> & FakeOptions
  const T0 = Date.UTC(2025, 5, 2, 8, 0, 0)
  let clock = 0
  const now = (): number => T0 + ++clock * 1000
  const listeners = new Set<(e: AppEvent) => void>()
  const calls: Array<{ method: string; args: unknown }> = []
  const emit = (e: AppEvent): void => {
    for (const l of [...listeners]) l(e)
  }
  const ok = <T,>(value: T) => Promise.resolve({ ok: true as const, value })
  const fail = (kind: string, code: string, message: string, field?: string) => Promise.resolve({ ok: false as const, error: { kind, code, message, ...(field ? { field } : {}) } })
  const hex = (n: number, len: number): string => n.toString(16).padStart(len, '0').slice(-len)

  let settings: Settings = {
    language: o.language ?? 'system',
    operatorMode: o.operatorMode ?? false,
    adminPinSet: o.adminPin !== undefined,
    serialPattern: o.serialPattern ?? '',
    station: 'Line 3',
    operator: 'Li Wei',
    recordsDb: { set: false }
  }
  let adminPin = o.adminPin
  const ports: PortInfo[] = [
    { path: '/dev/ttyUSB0', vendorId: '1a86', productId: '7523', bridge: 'CH340', manufacturer: '1a86', serialNumber: 'A10001' },
    { path: '/dev/ttyUSB1', vendorId: '10c4', productId: 'ea60', bridge: 'CP210x', manufacturer: 'Silicon Labs', serialNumber: '0001' },
    { path: '/dev/ttyUSB2', vendorId: '0403', productId: '6001', manufacturer: 'FTDI' },
    { path: '/dev/ttyACM0', vendorId: '2fe3', productId: '0100', manufacturer: 'ZEPHYR' }
  ]
  for (let i = ports.length; i < o.slots; i++) ports.push({ path: `/dev/ttyUSB${i}`, vendorId: '1a86', productId: '7523', bridge: 'CH340' })
  ports.push({ path: '/dev/ttyS0' })
  if (o.demo) ports.push({ path: 'sim:stm32-1', simulated: true }, { path: 'sim:ymodem-1', simulated: true })
  let slots: SlotView[] = Array.from({ length: o.slots }, (_, i) => ({
    id: `slot-${i + 1}`,
    label: `Slot ${i + 1}`,
    settings: { port: i < 3 ? `/dev/ttyUSB${i}` : i === 3 ? '/dev/ttyACM0' : `/dev/ttyUSB${i}`, protocol: (i === 3 ? 'mcuboot' : 'stm32') as SlotSettings['protocol'] }
  }))
  const packages: PackageView[] = o.cachedPackage
    ? [{ sha256: '9f2c4e1b7a0d3c5e8f6a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f6a', size: 245_760, name: 'sensor-node-2.4.1.bin', md5: '5d41402abc4b2a76b9719d911017c592' }]
    : []
  const profiles: ProfileView[] = []
  const connections: Array<import('../../preload/contract').ConnectionView> = []
  const jobs = new Map<string, JobView>()
  const logs = new Map<string, string[]>()
  const records: RecordView[] = []
  let batch: BatchView | null = null
  let seq = 0
  const timers = new Set<ReturnType<typeof setTimeout>>()
  const later = (ms: number, f: () => void): void => {
    const h = setTimeout(() => {
      timers.delete(h)
      f()
    }, ms)
    timers.add(h)
  }

  if (o.withPlatform || o.demo) {
    profiles.push({
      id: 'p-iotda',
      name: o.demo ? 'IoTDA (simulated)' : 'IoTDA line 3',
      platform: 'iotda',
      broker: 'mqtts://iot-mqtts.cn-north-4.myhuaweicloud.com:8883',
      iotda: { deviceId: '6650e1f2_sensor-001' },
      devices: [{ id: '6650e1f2_sensor-001', slotId: 'slot-1', currentVersion: '2.4.0' }],
      secretsSet: { secret: true, deviceSecret: false, password: false, cert: false, key: false },
      connectionId: o.withPlatform ? 'c-1' : undefined
    })
    if (o.demo)
      profiles.push(
        { id: 'p-fog', name: 'FogCloud (simulated)', platform: 'fogcloud', broker: 'mqtt://127.0.0.1:1883', fogcloud: { productKey: 'pk01', deviceName: 'dev01' }, devices: [], secretsSet: { secret: false, deviceSecret: true, password: false, cert: false, key: false } },
        { id: 'p-wudun', name: 'Wudun (simulated)', platform: 'wudun', broker: 'mqtt://127.0.0.1:1883', wudun: { deviceUid: 'uid-01' }, devices: [], secretsSet: { secret: false, deviceSecret: false, password: true, cert: false, key: false } }
      )
    if (o.withPlatform)
      connections.push({ id: 'c-1', profileId: 'p-iotda', platform: 'iotda', identity: '6650e1f2_sensor-001', broker: 'mqtts://iot-mqtts.cn-north-4.myhuaweicloud.com:8883', status: 'online', outbox: 2, activeJobs: 1, devices: [{ deviceId: '6650e1f2_sensor-001', port: '/dev/ttyUSB0', protocol: 'stm32', version: '2.4.0' }] })
  }

  const record = (j: JobView): void => {
    records.unshift({
      job_id: j.id,
      origin: j.origin,
      port: j.port ?? '',
      protocol: j.protocol ?? '',
      chip: j.chip ?? null,
      chip_id: j.chipId ?? null,
      serial_number: j.serialNumber ?? null,
      package: j.package?.name ?? null,
      from_version: j.startVersion,
      to_version: j.result === 'succeeded' ? (j.version ?? null) : null,
      started_at: new Date(j.createdAt).toISOString(),
      result: j.result ?? 'failed',
      reason: j.reason ?? null
    })
  }
  const put = (j: JobView): JobView => {
    jobs.set(j.id, j)
    emit({ type: 'job', job: j })
    return j
  }
  const advance = (id: string, patch: Partial<JobView>): JobView | undefined => {
    const old = jobs.get(id)
    if (!old || old.result) return undefined
    const at = now()
    const next: JobView = { ...old, ...patch, updatedAt: at, history: patch.phase && patch.phase !== old.phase ? [...old.history, { phase: patch.phase, at }] : old.history }
    if (patch.phase) (logs.get(id) ?? logs.set(id, []).get(id)!).push(`${new Date(at).toISOString()} info job ${id}: ${patch.phase}`)
    put(next)
    if (next.result) {
      record(next)
      onJobEnd(next)
    }
    return next
  }
  const newJob = (init: Partial<JobView> & Pick<JobView, 'origin'>): JobView => {
    const id = `job-${++seq}`
    const at = now()
    logs.set(id, [`${new Date(at).toISOString()} info job ${id}: received`])
    return put({ id, phase: 'received', startVersion: '2.4.0', createdAt: at, updatedAt: at, history: [{ phase: 'received', at }], ...init })
  }
  const uidOf = (port: string): string => {
    let h = 0
    for (const c of port) h = (h * 31 + c.charCodeAt(0)) >>> 0
    return `0x${hex(h, 8)}${hex(h * 7, 8)}${hex(h * 13, 8)}`.toUpperCase().replace('0X', '0x')
  }

  /** Runs one job through its phases; platform jobs download first and report at the end. */
  const run = (j: JobView, slotId?: string): void => {
    const pkgSize = j.package?.size ?? 245_760
    const step = o.stepMs
    const portBad = j.port !== undefined && o.failPorts.includes(j.port)
    const protectedChip = slotId !== undefined && o.protectedSlots.includes(slotId)
    const phases: Array<() => void> = []
    if (j.origin === 'platform') {
      phases.push(() => advance(j.id, { phase: 'downloading', progress: { stage: 'download', done: 0, total: pkgSize, bytesPerSec: 0 } }))
      phases.push(() => advance(j.id, { progress: { stage: 'download', done: pkgSize / 2, total: pkgSize, bytesPerSec: 1_200_000 } }))
    } else phases.push(() => advance(j.id, { phase: 'checking' }))
    phases.push(() => advance(j.id, { phase: 'verified', progress: undefined }))
    if (portBad) phases.push(() => advance(j.id, { phase: 'failed', result: 'failed', reason: 'install-failed', error: { kind: 'device', code: 'port-open-failed' }, message: `cannot open ${j.port}: Error: EACCES: permission denied` }))
    else {
      phases.push(() => advance(j.id, { phase: 'flashing', chip: j.protocol === 'mcuboot' ? 'MCUboot image 0' : 'STM32F103xx (medium-density)', chipId: j.protocol === 'mcuboot' ? undefined : uidOf(j.port ?? j.id), progress: { stage: 'erase', done: 0, total: pkgSize, bytesPerSec: 0 } }))
      if (protectedChip) phases.push(() => advance(j.id, { phase: 'failed', result: 'failed', reason: 'install-failed', error: { kind: 'device', code: 'stm32-protected' }, message: 'the STM32 flash is read-protected; pass --unprotect to remove the protection (erases the flash)' }))
      else {
        for (const f of [0.25, 0.5, 0.75, 1]) phases.push(() => advance(j.id, { progress: { stage: 'write', done: Math.round(pkgSize * f), total: pkgSize, bytesPerSec: 92_000 } }))
        phases.push(() => advance(j.id, { phase: 'proving', progress: undefined }))
        if (j.origin === 'platform') phases.push(() => advance(j.id, { phase: 'reporting', probedVersion: j.targetVersion }))
        phases.push(() => advance(j.id, { phase: 'succeeded', result: 'succeeded', version: j.targetVersion ?? '2.4.1', probedVersion: j.targetVersion ?? '2.4.1', verified: 'device' }))
      }
    }
    phases.forEach((p, i) => later(step * (i + 1), p))
  }

  const onJobEnd = (j: JobView): void => {
    if (!batch || j.origin !== 'batch') return
    const units = batch.units.map((u) => (u.jobId === j.id ? { ...u, state: j.result!, chipId: j.chipId, reason: j.reason, message: j.message } : u))
    const passed = units.filter((u) => u.state === 'succeeded').length
    const failed = units.filter((u) => u.state === 'failed').length
    const cancelled = units.filter((u) => u.state === 'cancelled').length
    const done = units.every((u) => u.state !== 'running' && u.state !== 'retrying')
    batch = { ...batch, units, passed, failed, cancelled, yield: passed + failed ? passed / (passed + failed) : 0, unitsPerHour: passed * 120, state: done ? 'ended' : batch.state }
    emit({ type: 'batch', batch })
    if (done) emit({ type: 'notice', kind: 'batch-ended', text: `batch ${batch.id}: ${passed} passed, ${failed} failed` })
  }

  const pkgOf = (sha256: string): PackageView | undefined => packages.find((p) => p.sha256 === sha256)
  const flashSlot = (slot: SlotView | { id?: string; settings: SlotSettings }, sha256: string, origin: JobView['origin'], serialNumber?: string): JobView => {
    const p = pkgOf(sha256)
    const j = newJob({ origin, slotId: slot.id, port: slot.settings.port, protocol: slot.settings.protocol, package: p ? { name: p.name, sha256: p.sha256, size: p.size } : undefined, targetVersion: '2.4.1', serialNumber })
    run(j, slot.id)
    return j
  }

  if (o.scenario === 'mixed') {
    const p = packages[0] ?? { sha256: 'a'.repeat(64), size: 245_760, name: 'sensor-node-2.4.1.bin' }
    const mk = (slot: SlotView, patch: Partial<JobView>): JobView => {
      const j = newJob({ origin: 'batch', slotId: slot.id, port: slot.settings.port, protocol: slot.settings.protocol, package: { name: p.name, sha256: p.sha256, size: p.size }, targetVersion: '2.4.1', serialNumber: `SN2506${hex(seq + 100, 4)}` })
      const at = now()
      const phases: JobView['phase'][] = ['checking', 'verified', 'flashing', ...(patch.phase === 'succeeded' ? (['proving', 'succeeded'] as const) : patch.phase === 'failed' ? (['failed'] as const) : [])]
      const done = put({ ...j, ...patch, updatedAt: at, history: [...j.history, ...phases.map((ph) => ({ phase: ph, at }))] })
      if (done.result) record(done)
      return done
    }
    const s = slots
    const units: BatchView['units'] = []
    if (s[0]) units.push({ port: s[0].settings.port, slotId: s[0].id, attempt: 1, state: 'succeeded', jobId: mk(s[0], { phase: 'succeeded', result: 'succeeded', chip: 'STM32F103xx (medium-density)', chipId: uidOf(s[0].settings.port), version: '2.4.1', probedVersion: '2.4.1', verified: 'device' }).id })
    if (s[1]) units.push({ port: s[1].settings.port, slotId: s[1].id, attempt: 1, state: 'failed', jobId: mk(s[1], { phase: 'failed', result: 'failed', reason: 'install-failed', chip: 'STM32F103xx (medium-density)', chipId: uidOf(s[1].settings.port), error: { kind: 'device', code: 'stm32-protected' }, message: 'the STM32 flash is read-protected' }).id })
    if (s[2]) units.push({ port: s[2].settings.port, slotId: s[2].id, attempt: 1, state: 'running', jobId: mk(s[2], { phase: 'flashing', chip: 'STM32F103xx (medium-density)', chipId: uidOf(s[2].settings.port), progress: { stage: 'write', done: 103_219, total: 245_760, bytesPerSec: 92_160 } }).id })
    batch = { id: 'batch-1', state: 'running', passed: 41, failed: 2, cancelled: 0, yield: 41 / 43, unitsPerHour: 118, startedAt: new Date(T0).toISOString(), units }
    // a few older records for the Records screen
    for (let i = 0; i < 3; i++) records.push({ job_id: `job-old-${i}`, origin: 'batch', port: '/dev/ttyUSB0', protocol: 'stm32', chip: 'STM32F103xx (medium-density)', chip_id: `0x0668FF34${hex(i, 4)}`, serial_number: `SN2505${hex(900 + i, 4)}`, package: 'sensor-node-2.4.0.bin', from_version: '2.3.9', to_version: i === 1 ? null : '2.4.0', started_at: new Date(T0 - (i + 1) * 86_400_000).toISOString(), result: i === 1 ? 'failed' : 'succeeded', reason: i === 1 ? 'verification-failed' : null })
  }

  const sha256Hex = async (bytes: Uint8Array): Promise<string> => {
    const d = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes as unknown as ArrayBuffer))
    return Array.from(d, (b) => b.toString(16).padStart(2, '0')).join('')
  }
  const csvCell = (v: unknown): string => {
    const s = v === null || v === undefined ? '' : String(v)
    return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s
  }
  const filtered = (f: import('../../preload/contract').RecordFilter): RecordView[] =>
    records.filter(
      (r) =>
        (!f.since || String(r['started_at']) >= f.since) &&
        (!f.until || String(r['started_at']) < f.until) &&
        (!f.result || r['result'] === f.result) &&
        (!f.chipId || String(r['chip_id'] ?? '').toLowerCase() === f.chipId.toLowerCase()) &&
        (!f.serialNumber || r['serial_number'] === f.serialNumber)
    )

  const api: FlashlineApi = {
    appInfo: () => ok({ version: '0.1.0', platform: o.platform, dataDir: '/home/tech/.local/share/flashline', demo: o.demo ?? false, systemLocale: o.systemLocale, host: o.host }),
    listPorts: () => ok(ports),
    getSettings: () => ok(settings),
    updateSettings: (patch) => {
      if (patch.serialPattern !== undefined) {
        try {
          new RegExp(patch.serialPattern)
        } catch {
          return fail('usage', 'bad-pattern', 'settings.serialPattern is not a regular expression', 'settings.serialPattern')
        }
      }
      const { recordsDb, ...rest } = patch
      settings = { ...settings, ...rest, ...(recordsDb !== undefined ? { recordsDb: { set: recordsDb !== null } } : {}) }
      emit({ type: 'settings', settings })
      return ok(settings)
    },
    setAdminPin: ({ pin, currentPin }) => {
      if (adminPin !== undefined && currentPin !== adminPin) return fail('forbidden', 'bad-pin', 'the current PIN is wrong')
      adminPin = pin
      settings = { ...settings, adminPinSet: true }
      return ok(settings)
    },
    unlockOperatorMode: ({ pin }) => {
      if (pin !== adminPin) return fail('forbidden', 'bad-pin', 'the admin PIN is wrong')
      settings = { ...settings, operatorMode: false }
      emit({ type: 'settings', settings })
      return ok(settings)
    },
    listSlots: () => ok(slots),
    saveSlot: ({ id, label, settings: s }) => {
      if (!s.port) return fail('usage', 'bad-config', 'slot.settings.port is empty', 'slot.settings.port')
      const slot: SlotView = { id: id ?? `slot-${slots.length + 1}`, label: label ?? `Slot ${slots.length + 1}`, settings: s }
      slots = id ? slots.map((x) => (x.id === id ? slot : x)) : [...slots, slot]
      emit({ type: 'slots', slots })
      return ok(slot)
    },
    removeSlot: ({ id }) => {
      slots = slots.filter((s) => s.id !== id)
      emit({ type: 'slots', slots })
      return ok(undefined)
    },
    listProfiles: () => ok(profiles),
    saveProfile: ({ profile, secrets }) => {
      if (!/^(mqtts?|wss?):\/\//.test(profile.broker)) return fail('usage', 'bad-broker-url', `profile.broker "${profile.broker}" is not an mqtt://, mqtts://, ws:// or wss:// URL`, 'profile.broker')
      const old = profiles.find((p) => p.id === profile.id)
      const had = old?.secretsSet ?? { secret: false, deviceSecret: false, password: false, cert: false, key: false }
      const v: ProfileView = { ...profile, id: profile.id ?? `p-${profiles.length + 1}`, secretsSet: { secret: had.secret || !!secrets?.secret, deviceSecret: had.deviceSecret || !!secrets?.deviceSecret, password: had.password || !!secrets?.password, cert: had.cert || !!secrets?.cert, key: had.key || !!secrets?.key }, connectionId: old?.connectionId }
      const i = profiles.findIndex((p) => p.id === v.id)
      if (i >= 0) profiles[i] = v
      else profiles.push(v)
      return ok(v)
    },
    removeProfile: ({ id }) => {
      const i = profiles.findIndex((p) => p.id === id)
      if (i >= 0) profiles.splice(i, 1)
      return ok(undefined)
    },
    connect: ({ profileId }) => {
      const p = profiles.find((x) => x.id === profileId)
      if (!p) return fail('usage', 'unknown-profile', `no profile ${profileId}`)
      const c = { id: `c-${profileId}`, profileId, platform: p.platform, identity: p.iotda?.deviceId ?? p.fogcloud?.deviceName ?? p.wudun?.deviceUid ?? p.name, broker: p.broker, status: 'connecting' as const, outbox: 0, activeJobs: 0, devices: [] }
      p.connectionId = c.id
      const i = connections.findIndex((x) => x.id === c.id)
      if (i >= 0) connections[i] = c
      else connections.push(c)
      later(o.stepMs, () => {
        const online = { ...c, status: 'online' as const }
        connections[connections.findIndex((x) => x.id === c.id)] = online
        emit({ type: 'connection', connection: online })
      })
      return ok(c)
    },
    disconnect: ({ connectionId }) => {
      const i = connections.findIndex((x) => x.id === connectionId)
      if (i >= 0) {
        connections[i] = { ...connections[i]!, status: 'stopped' }
        emit({ type: 'connection', connection: connections[i]! })
      }
      for (const p of profiles) if (p.connectionId === connectionId) p.connectionId = undefined
      return ok(undefined)
    },
    listConnections: () => ok(connections),
    listPackages: () => ok(packages),
    importPackage: ({ path, sha256 }) => {
      const p: PackageView = { sha256: sha256 ?? 'c0ffee'.padEnd(64, '0'), size: 131_072, name: path.split('/').pop() }
      packages.push(p)
      return ok(p)
    },
    uploadPackage: async ({ name, dataBase64, sha256 }) => {
      const bin = atob(dataBase64)
      const bytes = Uint8Array.from(bin, (c) => c.charCodeAt(0))
      if (bytes.length === 0) return fail('usage', 'empty-image', `${name} is empty`)
      const digest = await sha256Hex(bytes)
      if (sha256 && sha256 !== digest) return fail('integrity', 'hash-mismatch', `${name}: SHA-256 is ${digest}, expected ${sha256}`)
      const p: PackageView = { sha256: digest, size: bytes.length, name }
      if (!pkgOf(digest)) packages.push(p)
      return { ok: true as const, value: p }
    },
    pickPackageFile: () => ok('/home/tech/firmware/sensor-node-2.5.0.bin'),
    removePackage: ({ sha256 }) => {
      const i = packages.findIndex((p) => p.sha256 === sha256)
      if (i >= 0) packages.splice(i, 1)
      return ok(undefined)
    },
    flash: ({ slotId, slot, sha256, serialNumber }) => {
      if (!pkgOf(sha256)) return fail('usage', 'not-in-cache', `no package ${sha256} in the cache`)
      const s = slotId ? slots.find((x) => x.id === slotId) : slot ? { settings: slot } : undefined
      if (!s) return fail('usage', 'unknown-slot', `no slot ${slotId}`)
      return ok({ jobId: flashSlot(s, sha256, 'local', serialNumber).id })
    },
    detect: ({ slot }) => {
      if (o.failPorts.includes(slot.port)) return fail('device', 'port-open-failed', `cannot open ${slot.port}: Error: EACCES: permission denied, open '${slot.port}'`)
      return new Promise((resolve) => later(o.stepMs, () => resolve({ ok: true, value: { protocol: slot.protocol, chip: slot.protocol === 'esp' ? 'ESP32-C3' : 'STM32F103xx (medium-density)', chipId: uidOf(slot.port), details: { bootloaderVersion: '2.2', flashSize: '128 KiB' } } })))
    },
    listJobs: ({ limit }) => ok([...jobs.values()].sort((a, b) => b.createdAt - a.createdAt).slice(0, limit ?? 100)),
    cancelJob: ({ jobId }) => {
      const j = jobs.get(jobId)
      if (!j || j.result) return ok(false)
      advance(jobId, { phase: 'cancelled', result: 'cancelled', reason: 'cancelled' })
      return ok(true)
    },
    jobLog: ({ jobId }) => ok((logs.get(jobId) ?? [`${new Date(T0).toISOString()} info job ${jobId}: flashed (from the records)`]).join('\n')),
    startBatch: (req) => {
      if (batch && batch.state !== 'ended') return fail('usage', 'batch-running', 'a batch is running already')
      if (!pkgOf(req.sha256)) return fail('usage', 'not-in-cache', `no package ${req.sha256} in the cache`)
      if (req.watch && !req.watch.slot.port) return fail('usage', 'bad-argument', 'watch.slot.port: must not be empty', 'watch.slot.port')
      const chosen = req.watch ? [] : slots.filter((s) => req.slotIds?.includes(s.id))
      batch = { id: `batch-${++seq}`, state: 'running', passed: 0, failed: 0, cancelled: 0, yield: 0, unitsPerHour: 0, startedAt: new Date(now()).toISOString(), units: [] }
      const units = chosen.map((s) => {
        const j = newJob({ origin: 'batch', slotId: s.id, port: s.settings.port, protocol: s.settings.protocol, package: { name: pkgOf(req.sha256)!.name, sha256: req.sha256, size: pkgOf(req.sha256)!.size }, targetVersion: '2.4.1', serialNumber: req.serialNumber })
        return { port: s.settings.port, slotId: s.id, jobId: j.id, attempt: 1, state: 'running' as const }
      })
      batch = { ...batch, units }
      emit({ type: 'batch', batch })
      units.forEach((u) => run(jobs.get(u.jobId)!, u.slotId))
      return ok(batch)
    },
    stopBatch: () => {
      if (batch) batch = { ...batch, state: 'stopping' }
      return ok(undefined)
    },
    cancelBatch: () => {
      if (batch) for (const u of batch.units) if (u.state === 'running') advance(u.jobId, { phase: 'cancelled', result: 'cancelled', reason: 'cancelled' })
      return ok(undefined)
    },
    retryFailed: ({ batchId }) => {
      if (!batch || batch.id !== batchId) return fail('usage', 'unknown-batch', `no batch ${batchId}`)
      const units = batch.units.map((u) => {
        if (u.state !== 'failed') return u
        const s = slots.find((x) => x.id === u.slotId)!
        const old = jobs.get(u.jobId)!
        const j = newJob({ origin: 'batch', slotId: s.id, port: s.settings.port, protocol: s.settings.protocol, package: old.package, targetVersion: '2.4.1', retries: (old.retries ?? 0) + 1 })
        return { ...u, jobId: j.id, attempt: u.attempt + 1, state: 'running' as const }
      })
      batch = { ...batch, units, failed: 0, state: 'running' }
      emit({ type: 'batch', batch })
      units.filter((u) => u.state === 'running').forEach((u) => run(jobs.get(u.jobId)!, u.slotId))
      return ok(batch)
    },
    currentBatch: () => ok(batch),
    queryRecords: (f) => ok(filtered(f)),
    exportRecords: ({ filter, format }) => {
      const rows = filtered(filter)
      const cols = ['job_id', 'origin', 'port', 'protocol', 'chip', 'chip_id', 'serial_number', 'package', 'from_version', 'to_version', 'started_at', 'result', 'reason']
      const content = format === 'csv' ? [cols.join(','), ...rows.map((r) => cols.map((c) => csvCell(r[c])).join(','))].join('\n') + '\n' : rows.map((r) => JSON.stringify(r)).join('\n') + (rows.length ? '\n' : '')
      return ok({ fileName: `flashline-records.${format}`, content })
    },
    runDemo: () => {
      if (!o.demo) return fail('usage', 'not-demo', 'the demo runs only in demo mode')
      profiles.forEach((p, i) => {
        // the connection names its profile; the profile view is not told (as a real host may do)
        const c = { id: `c-${p.id}`, profileId: p.id, platform: p.platform, identity: p.iotda?.deviceId ?? p.fogcloud?.deviceName ?? p.wudun?.deviceUid ?? p.name, broker: p.broker, status: 'online' as const, outbox: 0, activeJobs: 1, devices: [] }
        connections.push(c)
        emit({ type: 'connection', connection: c })
        const j = newJob({ origin: 'platform', connectionId: c.id, deviceId: c.identity, port: i === 0 ? 'sim:ymodem-1' : 'sim:stm32-1', protocol: i === 0 ? 'ymodem' : 'stm32', orderId: `task-${i + 1}`, targetVersion: '2.0.0', startVersion: '1.0.0', package: { name: 'demo-2.0.0.bin', size: 65_536 } })
        run(j)
      })
      // the call returns when the three upgrades are done, as the engine's does
      return new Promise((resolve) => later(o.stepMs * 14, () => resolve({ ok: true as const, value: undefined })))
    },
    onEvent: (listener) => {
      listeners.add(listener)
      return () => listeners.delete(listener)
    }
  }
  // what operator mode still allows (as the host does): start, scan, retry, cancel and what those screens show
  const operatorMethods = new Set(['appInfo', 'listPorts', 'getSettings', 'unlockOperatorMode', 'listSlots', 'listJobs', 'jobLog', 'flash', 'startBatch', 'retryFailed', 'cancelJob', 'stopBatch', 'cancelBatch', 'currentBatch', 'listPackages', 'detect'])
  // wrap every method to log its calls
  const logged = Object.fromEntries(
    Object.entries(api).map(([name, f]) => [
      name,
      name === 'onEvent'
        ? f
        : (args: unknown) => {
            calls.push({ method: name, args })
            if (settings.operatorMode && !operatorMethods.has(name)) return fail('forbidden', 'operator-mode', `${name} is not available in operator mode; an administrator can leave it with the admin PIN`)
            return (f as (a: unknown) => unknown)(args)
          }
    ])
  ) as unknown as FlashlineApi

  const control: FakeControl = {
    calls,
    emit,
    jobs: () => [...jobs.values()],
    startBusy: ({ slots: n, perSecond, seconds }) => {
      const total = 1_048_576
      const started = performance.now()
      const busy = Array.from({ length: n }, (_, i) => {
        const slot = slots[i] ?? { id: `slot-${i + 1}`, label: `Slot ${i + 1}`, settings: { port: `/dev/ttyUSB${i}`, protocol: 'stm32' as const } }
        if (!slots[i]) slots = [...slots, slot]
        return newJob({ origin: 'batch', slotId: slot.id, port: slot.settings.port, protocol: 'stm32', phase: 'flashing', chip: 'STM32F407xx', chipId: uidOf(slot.settings.port) })
      })
      emit({ type: 'slots', slots })
      let sent = 0
      return new Promise<number>((resolve) => {
        const interval = 1000 / perSecond
        // one timer per job, phase-shifted like independent coalescers in the engine
        busy.forEach((j, i) => {
          const tick = (): void => {
            const elapsed = performance.now() - started
            if (elapsed >= seconds * 1000) return
            const done = Math.min(total, Math.round((elapsed / (seconds * 1000)) * total))
            emit({ type: 'progress', jobId: j.id, slotId: j.slotId, progress: { stage: 'write', done, total, bytesPerSec: total / seconds } })
            sent++
            setTimeout(tick, interval)
          }
          setTimeout(tick, (i * interval) / n)
        })
        setTimeout(() => resolve(sent), seconds * 1000 + interval)
      })
    }
  }
  ;(globalThis as unknown as { api: FlashlineApi; __fake: FakeControl }).api = logged
  ;(globalThis as unknown as { __fake: FakeControl }).__fake = control
}
