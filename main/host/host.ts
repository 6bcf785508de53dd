import { randomBytes } from 'node:crypto'
import { mkdirSync, mkdtempSync, openSync, readFileSync, closeSync, readSync, fstatSync, rmSync, writeFileSync } from 'node:fs'
import { basename, isAbsolute, join } from 'node:path'
import {
  API_METHODS,
  type ApiError,
  type ApiMethod,
  type ApiValue,
  type AppEvent,
  type BatchView,
  type ConnectionView,
  type DetectResult,
  type JobView,
  type PackageView,
  type PortInfo,
  type ProfileSecrets,
  type ProfileView,
  type ProgressView,
  type RecordFilter as RecordFilterView,
  type RecordView,
  type Result,
  type Settings,
  type SlotSettings,
  type SlotView,
  type UnitView
} from '../../preload/contract'
import {
  asFlashlineError,
  BatchRun,
  Bench,
  checkSlotSettings,
  ConfigProblem,
  FlashlineError,
  formatPath,
  listPorts,
  PortWatcher,
  readConnection,
  toCsv,
  toJsonl,
  type ConnectionConfig,
  type ConnectionInfo,
  type JobInfo,
  type LogLine,
  type ProgressInfo,
  type RecordFilter,
  type UnitInfo
} from '../engine'
import type { DemoController, DemoHostOps } from './demo'
import { LogLimiter } from './log-limit'
import { MAX_UPLOAD_BYTES, badArgument, parseArgs, type ParsedArgs } from './schemas'
import type { SecretStore } from './secrets'
import { DEFAULT_PIN_POLICY, SettingsStore, type PinPolicy } from './settings'
import { hostFiles, ListFile, RECORDS_DB_KEY, SECRET_NAMES, secretKey, type SavedProfile, type SavedSlot } from './stores'
import { batchView, connectionView, jobView, logView, portView, progressView, unitView } from './views'
import { writePrivateFile } from './private-file'

export type NoticeEvent = Extract<AppEvent, { type: 'notice' }>

export interface HostOptions {
  /** The engine. The host owns it from now on: close() closes it. */
  bench: Bench
  secrets: SecretStore
  /** The settings file (language, serial pattern, operator mode, the admin PIN's hash). */
  settingsFile: string
  /** Demo mode: the simulated platforms and boards. */
  demo?: DemoController
  /** Electron: the native open dialog. Absent in the browser (`flashline ui`), where files are uploaded. */
  pickFile?: () => Promise<string | null>
  /** A job failed or a batch ended (the shell shows a system notification). */
  notify?(e: NoticeEvent): void
  /** Makes a new bench with another records database (applied when nothing runs). Without it the setting is only saved. */
  recreateBench?: (recordsDb: string | undefined) => Bench
  /** Every log line (secrets masked), debug included, for a log file. */
  logSink?: (line: LogLine) => void
  info?: { version?: string; host?: 'electron' | 'browser'; systemLocale?: string }
  pinPolicy?: PinPolicy
  /** Log events per job (or source) per second to the renderer (default 20). */
  logsPerSecond?: number
  /** How often the serial ports are listed for 'ports' events while someone listens (default 2 s). */
  portsIntervalMs?: number
}

export interface Host {
  call(method: ApiMethod, args: unknown): Promise<Result<unknown>>
  onEvent(listener: (event: AppEvent) => void): () => void
  /** The methods it answers (every contract method). */
  readonly methods: readonly ApiMethod[]
  close(): Promise<void>
}

/** What operator mode still allows: start, scan, retry, cancel and what those screens show. */
export const OPERATOR_METHODS: ReadonlySet<ApiMethod> = new Set<ApiMethod>([
  'appInfo',
  'listPorts',
  'getSettings',
  'unlockOperatorMode',
  'listSlots',
  'listJobs',
  'jobLog',
  'flash',
  'startBatch',
  'retryFailed',
  'cancelJob',
  'stopBatch',
  'cancelBatch',
  'currentBatch',
  'listPackages',
  'detect'
])

/** Newest records returned by queryRecords (the export has them all). */
export const MAX_RECORDS = 10_000
/** The end of a job's log file that jobLog returns. */
const MAX_JOB_LOG = 2 * 1024 * 1024

const usage = (code: string, message: string, field?: string) => new FlashlineError('usage', code, message, field ? { field } : undefined)

type Handlers = { [M in ApiMethod]: (args: ParsedArgs<M>) => Promise<ApiValue<M>> | ApiValue<M> }

interface CurrentBatch {
  run: BatchRun
  state: BatchView['state']
  startedAt: number
  units: UnitView[]
  /** What a retry needs: the same slot settings and package. */
  slot: Record<string, unknown>
  sha256: string
  file: string
  retries?: number
  concurrency?: number
  serialNumber?: string
}

/** Builds the transport-independent API implementation (Electron IPC and the `flashline ui` bridge share it). */
export function createHost(options: HostOptions): Host {
  return new HostImpl(options)
}

class HostImpl implements Host {
  readonly methods = API_METHODS
  private bench: Bench
  private readonly settings: SettingsStore
  private readonly slots: ListFile<SavedSlot>
  private readonly profiles: ListFile<SavedProfile>
  private readonly packageNames: { file: string; names: Record<string, { name?: string; md5?: string }> }
  private readonly files: ReturnType<typeof hostFiles>
  private readonly listeners = new Set<(e: AppEvent) => void>()
  private readonly progress = new Map<string, ProgressView>()
  private readonly connectionProfiles = new Map<string, string>()
  private readonly limiter: LogLimiter<LogLine>
  private batch?: CurrentBatch
  private portWatcher?: PortWatcher
  private portsTimer?: NodeJS.Timeout
  private closed = false
  private readonly handlers: Handlers
  private unwire: () => void = () => undefined

  constructor(private readonly options: HostOptions) {
    this.bench = options.bench
    this.settings = new SettingsStore(options.settingsFile, options.pinPolicy ?? DEFAULT_PIN_POLICY)
    this.files = hostFiles(this.bench.dataDir)
    this.slots = new ListFile<SavedSlot>(this.files.slots)
    this.profiles = new ListFile<SavedProfile>(this.files.profiles)
    let names: Record<string, { name?: string; md5?: string }> = {}
    try {
      names = JSON.parse(readFileSync(this.files.packages, 'utf8')).names ?? {}
    } catch {
      /* none yet */
    }
    this.packageNames = { file: this.files.packages, names }
    this.limiter = new LogLimiter<LogLine>(options.logsPerSecond ?? 20, (line, dropped) =>
      this.emit({ type: 'log', line: logView(line, dropped ? `${dropped} more log lines of ${line.jobId ? `job ${line.jobId}` : line.source} in the last second are not shown here (the job's log file has them)` : line.message) })
    )
    this.wire(this.bench)
    this.restoreSlots()
    this.handlers = this.makeHandlers()
    if (options.demo?.started) void options.demo.prepare(this.demoOps()).catch((e) => this.hostLog('warn', `demo: ${(e as Error).message}`))
  }

  // ---- calls ------------------------------------------------------------------------------

  async call(method: ApiMethod, args: unknown): Promise<Result<unknown>> {
    if (this.closed) return { ok: false, error: { kind: 'internal', code: 'closed', message: 'the app is shutting down' } }
    if (!Object.prototype.hasOwnProperty.call(this.handlers, method)) return { ok: false, error: { kind: 'usage', code: 'unknown-method', message: `there is no method "${String(method)}"` } }
    if (this.settings.operatorMode && !OPERATOR_METHODS.has(method)) {
      return { ok: false, error: { kind: 'forbidden', code: 'operator-mode', message: `${method} is not available in operator mode; an administrator can leave it with the admin PIN` } }
    }
    const parsed = parseArgs(method, args)
    if (!parsed.ok) return parsed
    try {
      const handler = this.handlers[method] as (a: unknown) => Promise<unknown> | unknown
      return { ok: true, value: await handler(parsed.value) }
    } catch (e) {
      return { ok: false, error: toApiError(e) }
    }
  }

  onEvent(listener: (event: AppEvent) => void): () => void {
    this.listeners.add(listener)
    this.startPortWatch()
    return () => {
      this.listeners.delete(listener)
      if (this.listeners.size === 0) this.stopPortWatch()
    }
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    this.stopPortWatch()
    this.limiter.close()
    this.batch?.run.cancel()
    this.unwire()
    this.listeners.clear()
    await this.bench.close()
  }

  private emit(e: AppEvent): void {
    for (const l of this.listeners) {
      try {
        l(e)
      } catch {
        // a listener's failure (a closed window) must not stop the others
      }
    }
    if (e.type === 'notice') this.options.notify?.(e)
  }

  // ---- engine events ----------------------------------------------------------------------

  private wire(bench: Bench): void {
    const onJob = (j: JobInfo) => {
      if (j.result) this.progress.delete(j.id)
      const view = this.jobView(j)
      this.emit({ type: 'job', job: view })
      if (view.slotId && (j.phase === 'received' || j.result)) this.emit({ type: 'slots', slots: this.slotViews() })
      if (j.result === 'failed' && j.origin !== 'batch') {
        this.emit({ type: 'notice', kind: 'job-failed', text: `Job on ${j.port ?? j.deviceId ?? j.id} failed: ${j.message ?? j.reason ?? 'see its log'}` })
      }
    }
    const onProgress = (p: ProgressInfo) => {
      const view = progressView(p)
      this.progress.set(p.jobId, view)
      this.emit({ type: 'progress', jobId: p.jobId, slotId: p.slotId ?? this.slotIdOfPort(p.port), progress: view })
    }
    const onLog = (l: LogLine) => {
      const line = { ...l, message: this.maskSecrets(l.message) }
      this.options.logSink?.(line)
      this.limiter.push(line)
    }
    const onConnection = (c: ConnectionInfo) => {
      this.rememberVersions(c)
      this.emit({ type: 'connection', connection: this.connectionView(c) })
    }
    bench.on('job', onJob)
    bench.on('progress', onProgress)
    bench.on('log', onLog)
    bench.on('connection', onConnection)
    this.unwire = () => {
      bench.off('job', onJob)
      bench.off('progress', onProgress)
      bench.off('log', onLog)
      bench.off('connection', onConnection)
    }
  }

  /** The secrets' values, read from the store once per change (a keychain read per log line would be slow). */
  private secretValues?: string[]

  /** Every secret the host holds is masked in log lines, whatever part of the engine wrote them. */
  private maskSecrets(message: string): string {
    if (!this.secretValues) {
      const values = this.profiles.all().flatMap((p) => SECRET_NAMES.map((n) => this.secretOf(p.id, n)))
      try {
        values.push(this.options.secrets.get(RECORDS_DB_KEY))
      } catch {
        /* unreadable: nothing to mask */
      }
      // longest first: a secret that contains another is masked whole
      this.secretValues = values.filter((v): v is string => typeof v === 'string' && v.length >= 4).sort((a, b) => b.length - a.length)
    }
    let out = message
    for (const v of this.secretValues) if (out.includes(v)) out = out.split(v).join('***')
    return out
  }

  private secretOf(profileId: string, name: keyof ProfileSecrets): string | undefined {
    try {
      return this.options.secrets.get(secretKey(profileId, name))
    } catch {
      return undefined
    }
  }

  private hostLog(level: LogLine['level'], message: string, source = 'app'): void {
    const line: LogLine = { time: new Date().toISOString(), level, source, message: this.maskSecrets(message) }
    this.options.logSink?.(line)
    this.limiter.push(line)
  }

  /** After an upgrade the profile's device runs the new version: the next connect starts from it. */
  private rememberVersions(c: ConnectionInfo): void {
    const profileId = this.connectionProfiles.get(c.id)
    const p = profileId ? this.profiles.get(profileId) : undefined
    if (!p) return
    let changed = false
    const devices = p.devices.map((d) => {
      const v = c.devices.find((x) => x.deviceId === d.id)?.version
      if (v && v !== 'unknown' && v !== d.currentVersion) {
        changed = true
        return { ...d, currentVersion: v }
      }
      return d
    })
    if (changed) this.profiles.put({ ...p, devices })
  }

  private connectionView(c: ConnectionInfo): ConnectionView {
    return connectionView(c, this.connectionProfiles.get(c.id))
  }

  // ---- ports ------------------------------------------------------------------------------

  private async portList(): Promise<PortInfo[]> {
    const real = (await listPorts()).map((p) => portView(p))
    return this.options.demo ? [...real, ...this.options.demo.ports()] : real
  }

  private startPortWatch(): void {
    if (this.portWatcher || this.closed) return
    const send = () => {
      this.portsTimer = undefined
      void this.portList()
        .then((ports) => this.emit({ type: 'ports', ports }))
        .catch(() => undefined)
    }
    // one 'ports' event per poll that saw a change, with the whole list
    this.portWatcher = new PortWatcher(
      () => {
        if (!this.portsTimer) this.portsTimer = setTimeout(send, 0)
      },
      undefined,
      this.options.portsIntervalMs ?? 2000
    )
    this.portWatcher.start()
  }

  private stopPortWatch(): void {
    this.portWatcher?.stop()
    this.portWatcher = undefined
    if (this.portsTimer) clearTimeout(this.portsTimer)
    this.portsTimer = undefined
  }

  // ---- slots ------------------------------------------------------------------------------

  private restoreSlots(): void {
    for (const s of this.slots.all()) {
      try {
        this.bench.addSlot(s.id, s.settings)
      } catch (e) {
        this.hostLog('warn', `saved slot ${s.id} cannot be used: ${(e as Error).message}; edit it`)
      }
    }
  }

  /** The saved slot on a port: a batch unit, a platform device or a one-off flash there is that slot's job. */
  private slotIdOfPort(port: string | undefined): string | undefined {
    return port === undefined ? undefined : this.slots.all().find((s) => s.settings.port === port)?.id
  }

  /**
   * The engine names a job's slot only when the job was started on a slot id; batch units, platform
   * devices and one-off flashes are started with the slot's settings, so their job is matched to the
   * saved slot by its port (the page shows a slot's job on its tile).
   */
  private jobView(j: JobInfo): JobView {
    const view = jobView(j, this.progress.get(j.id))
    return view.slotId === undefined && view.port !== undefined ? { ...view, slotId: this.slotIdOfPort(view.port) } : view
  }

  private slotViews(): SlotView[] {
    const running = new Map(this.bench.listSlots().map((s) => [s.id, s.jobId]))
    return this.slots.all().map((s) => ({ id: s.id, label: s.label, settings: s.settings, jobId: running.get(s.id) }))
  }

  private saveSlot(id: string | undefined, label: string | undefined, settings: SlotSettings): SlotView {
    const slotId = id ?? this.slots.freshId('slot')
    const clash = this.slots.all().find((s) => s.id !== slotId && s.settings.port === settings.port)
    if (clash) throw usage('port-in-use', `settings.port: ${settings.port} is already the port of slot "${clash.label}"; every slot needs its own port`, 'settings.port')
    try {
      this.bench.addSlot(slotId, settings)
    } catch (e) {
      throw withField(e, 'settings')
    }
    const saved: SavedSlot = { id: slotId, label: label ?? this.slots.get(slotId)?.label ?? settings.port, settings }
    this.slots.put(saved)
    const views = this.slotViews()
    this.emit({ type: 'slots', slots: views })
    return views.find((v) => v.id === slotId)!
  }

  // ---- profiles and connections -----------------------------------------------------------

  private profileView(p: SavedProfile): ProfileView {
    const connectionId = [...this.connectionProfiles].find(([, pid]) => pid === p.id)?.[0]
    const set = (n: keyof ProfileSecrets) => this.options.secrets.has(secretKey(p.id, n))
    return { ...p, secretsSet: { secret: set('secret'), deviceSecret: set('deviceSecret'), password: set('password'), cert: set('cert'), key: set('key') }, connectionId }
  }

  private saveProfile(input: ParsedArgs<'saveProfile'>['profile'], given: ProfileSecrets = {}): ProfileView {
    const id = input.id ?? this.profiles.freshId(slug(input.name))
    if (this.connectionIdOf(id)) throw usage('profile-connected', `profile ${id} is connected; disconnect it before changing it`)
    const profile: SavedProfile = { ...input, id }
    // stored secrets, changed by the ones given ("" removes one)
    const secrets: ProfileSecrets = {}
    for (const n of SECRET_NAMES) {
      const v = given[n] !== undefined ? given[n] : this.secretOf(id, n)
      if (v) secrets[n] = v
    }
    this.buildConnection(profile, secrets) // checks everything before anything is saved
    for (const n of SECRET_NAMES) if (given[n] !== undefined) this.options.secrets.set(secretKey(id, n), given[n] || null)
    this.profiles.put(profile)
    this.secretValues = undefined
    return this.profileView(profile)
  }

  private connectionIdOf(profileId: string): string | undefined {
    return [...this.connectionProfiles].find(([, pid]) => pid === profileId)?.[0]
  }

  /**
   * The profile as a station file's connection (secrets inline, devices' ports from their slots),
   * checked and resolved by the engine's configuration schema. The CA, certificate and key (PEM text)
   * are written to 0600 files that live only while the configuration is read.
   */
  private buildConnection(p: SavedProfile, secrets: ProfileSecrets): ConnectionConfig {
    const devices = p.devices.map((d, i) => {
      const slot = this.slots.get(d.slotId)
      if (!slot) throw usage('unknown-slot', `profile.devices[${i}].slotId: there is no slot "${d.slotId}"; save the slot first`, `profile.devices[${i}].slotId`)
      return { id: d.id, currentVersion: d.currentVersion, ...slot.settings }
    })
    const missing = (name: keyof ProfileSecrets, what: string): never => {
      throw usage('missing-secret', `secrets.${name}: ${what}`, `secrets.${name}`)
    }
    if (p.platform === 'iotda' && !secrets.secret && !(secrets.cert && secrets.key)) missing('secret', 'an IoTDA device logs in with its device secret (or an X.509 certificate and key)')
    if (p.platform === 'iotda' && secrets.secret && (secrets.cert || secrets.key)) throw usage('bad-secrets', 'secrets.cert: a device logs in with a secret or with an X.509 certificate, not both', 'secrets.cert')
    if (p.platform === 'fogcloud' && !secrets.deviceSecret && !p.username) missing('deviceSecret', 'a FogCloud device logs in with its device secret (or a username and password for a private broker)')
    if (secrets.password && !p.username) throw usage('bad-argument', 'profile.username: is required when a password is set', 'profile.username')
    mkdirSync(this.files.scratch, { recursive: true, mode: 0o700 })
    const dir = mkdtempSync(join(this.files.scratch, 'conn-'))
    const file = (name: string, content: string) => {
      const f = join(dir, name)
      writePrivateFile(f, content)
      return f
    }
    try {
      const raw: Record<string, unknown> = {
        platform: p.platform,
        broker: p.broker,
        ca: p.ca ? file('ca.pem', p.ca) : undefined,
        allowHttp: p.allowHttp,
        allowUnverified: p.allowUnverified,
        username: p.username,
        password: secrets.password,
        iotda: p.iotda && {
          deviceId: p.iotda.deviceId,
          secret: secrets.secret,
          certFile: secrets.cert ? file('cert.pem', secrets.cert) : undefined,
          keyFile: secrets.key ? file('key.pem', secrets.key) : undefined,
          checkTimestamp: p.iotda.checkTimestamp
        },
        fogcloud: p.fogcloud && { ...p.fogcloud, deviceSecret: secrets.deviceSecret },
        wudun: p.wudun,
        devices
      }
      return readConnection(dropUndefined(raw), { baseDir: dir, env: {}, inlineSecrets: true })
    } catch (e) {
      if (e instanceof ConfigProblem) {
        const field = profileField(e.path)
        throw usage('bad-config', `${field}: ${e.message.replace(dir + '/', '')}`, field)
      }
      throw e
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  }

  private async connect(profileId: string): Promise<ConnectionView> {
    const p = this.profiles.get(profileId)
    if (!p) throw usage('unknown-profile', `there is no profile "${profileId}"`, 'profileId')
    if (this.connectionIdOf(profileId)) throw usage('already-connected', `profile ${p.name} is connected already`, 'profileId')
    const secrets: ProfileSecrets = {}
    for (const n of SECRET_NAMES) {
      const v = this.secretOf(profileId, n)
      if (v) secrets[n] = v
    }
    const config = this.buildConnection(p, secrets)
    this.connectionProfiles.set(config.identity, profileId)
    try {
      const info = await this.bench.addConnection(config, { id: config.identity })
      return this.connectionView(info)
    } catch (e) {
      this.connectionProfiles.delete(config.identity)
      throw e
    }
  }

  // ---- packages ---------------------------------------------------------------------------

  private packageViews(): PackageView[] {
    return this.bench.listPackages().map((p) => ({ sha256: p.sha256, size: p.size, name: this.packageNames.names[p.sha256]?.name, md5: this.packageNames.names[p.sha256]?.md5 }))
  }

  private rememberPackage(sha256: string, name: string | undefined, md5: string | undefined): PackageView {
    this.packageNames.names[sha256] = { name, md5 }
    writePrivateFile(this.packageNames.file, JSON.stringify({ version: 1, names: this.packageNames.names }, null, 1) + '\n')
    return this.packageViews().find((p) => p.sha256 === sha256)!
  }

  private async upload(a: ParsedArgs<'uploadPackage'>): Promise<PackageView> {
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(a.dataBase64) || a.dataBase64.length % 4 !== 0) throw usage('bad-argument', 'dataBase64: is not base64 (RFC 4648)', 'dataBase64')
    const data = Buffer.from(a.dataBase64, 'base64')
    if (data.length > MAX_UPLOAD_BYTES) throw usage('too-large', `dataBase64: the file is larger than ${MAX_UPLOAD_BYTES / 1024 / 1024} MiB; copy it to the station and import it there`, 'dataBase64')
    const name = safeName(a.name)
    mkdirSync(this.files.uploads, { recursive: true, mode: 0o700 })
    const tmp = join(this.files.uploads, `${randomBytes(8).toString('hex')}-${name}`)
    try {
      writeFileSync(tmp, data, { mode: 0o600 })
      const info = await this.bench.importPackage(tmp, { sha256: a.sha256?.toLowerCase(), md5: a.md5?.toLowerCase() })
      return this.rememberPackage(info.sha256, name, info.md5)
    } finally {
      rmSync(tmp, { force: true })
    }
  }

  private async cachedPackage(sha256: string, field: string) {
    const hit = await this.bench.cache.get(sha256.toLowerCase())
    if (!hit) throw usage('not-in-cache', `${field}: no package with SHA-256 ${sha256} is in the cache; import it first`, field)
    return { ...hit, name: this.packageNames.names[hit.sha256]?.name }
  }

  // ---- jobs -------------------------------------------------------------------------------

  private checkSerial(serial: string | undefined, field: string): void {
    if (serial === undefined) return
    const pattern = this.settings.serialPattern
    const ok = pattern ? new RegExp(`^(?:${pattern})$`).test(serial) : serial.trim() !== ''
    if (!ok) throw usage('bad-serial', `${field}: "${serial}" does not match the serial number pattern ${pattern || '(anything non-empty)'}`, field)
  }

  private async flash(a: ParsedArgs<'flash'>): Promise<{ jobId: string }> {
    this.checkSerial(a.serialNumber, 'serialNumber')
    if (a.slotId !== undefined && !this.slots.get(a.slotId)) throw usage('unknown-slot', `slotId: there is no slot "${a.slotId}"`, 'slotId')
    if (a.slot) checkSlot(a.slot, 'slot')
    const prepared = await this.cachedPackage(a.sha256, 'sha256')
    const handle = this.bench.flash({
      slot: a.slotId ?? (a.slot as Record<string, unknown>),
      prepared,
      context: { serialNumber: a.serialNumber, operator: this.settings.operator, station: this.settings.station }
    })
    return { jobId: handle.id }
  }

  private async detect(slot: SlotSettings): Promise<DetectResult> {
    checkSlot(slot, 'slot')
    const d = await this.bench.detect(slot)
    return { protocol: d.protocol, chip: d.chip, chipId: d.chipId, details: d.details }
  }

  private listJobs(limit = 200): JobView[] {
    return this.bench
      .listJobs()
      .slice(-limit)
      .reverse()
      .map((j) => this.jobView(j))
  }

  private jobLog(jobId: string): string {
    const job = this.bench.getJob(jobId)
    if (!job) throw usage('unknown-job', `jobId: there is no job "${jobId}"`, 'jobId')
    let fd: number
    try {
      fd = openSync(job.logFile, 'r')
    } catch {
      return ''
    }
    try {
      const size = fstatSync(fd).size
      const start = Math.max(0, size - MAX_JOB_LOG)
      const buf = Buffer.alloc(size - start)
      readSync(fd, buf, 0, buf.length, start)
      return this.maskSecrets((start > 0 ? `[… the first ${start} bytes are in ${job.logFile}]\n` : '') + buf.toString('utf8'))
    } finally {
      closeSync(fd)
    }
  }

  // ---- batch ------------------------------------------------------------------------------

  private async startBatch(a: ParsedArgs<'startBatch'>): Promise<BatchView> {
    this.checkSerial(a.serialNumber, 'serialNumber')
    if (this.batch && this.batch.state !== 'ended') throw usage('batch-running', `batch ${this.batch.run.id} is still running; stop it first`)
    let slot: Record<string, unknown>
    let ports: string[] | undefined
    if (a.slotIds) {
      const saved = a.slotIds.map((id, i) => {
        const s = this.slots.get(id)
        if (!s) throw usage('unknown-slot', `slotIds[${i}]: there is no slot "${id}"`, `slotIds[${i}]`)
        return s
      })
      const { port: _p, ...first } = saved[0]!.settings
      const differs = saved.findIndex((s) => JSON.stringify(withoutPort(s.settings)) !== JSON.stringify(first))
      if (differs > 0) throw usage('mixed-slots', `slotIds[${differs}]: slot "${saved[differs]!.label}" has other settings than "${saved[0]!.label}"; a batch flashes every unit the same way (same protocol and options)`, `slotIds[${differs}]`)
      slot = first
      ports = saved.map((s) => s.settings.port)
      const dup = ports.find((p, i) => ports!.indexOf(p) !== i)
      if (dup) throw usage('bad-argument', `slotIds: port ${dup} is listed twice`, 'slotIds')
    } else {
      slot = withoutPort(a.watch!.slot)
      checkSlot({ ...a.watch!.slot, port: a.watch!.slot.port || 'watch' }, 'watch.slot')
    }
    const pkg = await this.cachedPackage(a.sha256, 'sha256')
    return this.runBatch({ slot, ports, watch: a.watch && { match: a.watch.match, count: a.watch.count }, sha256: pkg.sha256, file: pkg.path, retries: a.retries, concurrency: a.concurrency, serialNumber: a.serialNumber })
  }

  private async runBatch(r: { slot: Record<string, unknown>; ports?: string[]; watch?: { match: Array<{ vendorId: string; productId: string }>; count?: number }; sha256: string; file: string; retries?: number; concurrency?: number; serialNumber?: string }): Promise<BatchView> {
    const bench = this.bench
    const serialNumber = r.serialNumber
    // as Bench.batch, plus the scanned serial number in every unit's record
    const run = new BatchRun(
      {
        importPackage: (file, expect) => bench.importPackage(file, expect),
        flashUnit: (u) => bench.flash({ slot: u.slot, prepared: u.prepared, manifest: u.manifest, origin: 'batch', context: { ...u.context, serialNumber }, retries: u.retries, classify: u.classify }),
        cancel: (jobId) => bench.cancel(jobId)
      },
      {
        slot: r.slot,
        file: r.file,
        expect: { sha256: r.sha256 },
        ports: r.ports,
        watch: r.watch && { match: r.watch.match.map((m) => ({ vendorId: m.vendorId.toLowerCase(), productId: m.productId.toLowerCase() })), count: r.watch.count },
        retries: r.retries,
        concurrency: r.concurrency,
        operator: this.settings.operator,
        station: this.settings.station
      }
    )
    const current: CurrentBatch = { run, state: 'running', startedAt: Date.now(), units: [], slot: r.slot, sha256: r.sha256, file: r.file, retries: r.retries, concurrency: r.concurrency, serialNumber }
    this.batch = current
    run.on('unit', (u) => {
      this.onUnit(current, u)
      this.emit({ type: 'batch', batch: this.batchView(current) })
    })
    run.on('summary', (s) => {
      current.state = 'ended'
      this.emit({ type: 'batch', batch: this.batchView(current) })
      this.emit({ type: 'notice', kind: 'batch-ended', text: `Batch ended: ${s.passed} passed, ${s.failed} failed${s.cancelled ? `, ${s.cancelled} cancelled` : ''}` })
    })
    try {
      await run.start()
    } catch (e) {
      current.state = 'ended'
      this.emit({ type: 'batch', batch: this.batchView(current) })
      throw e
    }
    return this.batchView(current)
  }

  private onUnit(b: CurrentBatch, u: UnitInfo): void {
    const slotId = this.slots.all().find((s) => s.settings.port === u.port)?.id
    const view = unitView(u, slotId)
    // a retry or the end of a unit replaces that unit's running row; a new unit on the port adds one
    const open = b.units.findIndex((x) => x.port === u.port && (x.state === 'running' || x.state === 'retrying'))
    if (open >= 0 && (u.attempt > 0 || b.units[open]!.jobId === u.jobId)) b.units[open] = view
    else b.units.push(view)
  }

  private batchView(b: CurrentBatch): BatchView {
    return batchView(b.run.id, b.state, b.startedAt, b.units)
  }

  private currentBatch(batchId: string): CurrentBatch {
    if (!this.batch || this.batch.run.id !== batchId) throw usage('unknown-batch', `batchId: there is no batch "${batchId}" (only the current batch can be stopped or retried)`, 'batchId')
    return this.batch
  }

  // ---- settings -----------------------------------------------------------------------------

  private settingsView(): Settings {
    return this.settings.view(this.options.secrets.has(RECORDS_DB_KEY))
  }

  private busy(): string | undefined {
    if (this.batch && this.batch.state !== 'ended') return 'a batch is running'
    if (this.bench.listJobs().some((j) => j.origin !== 'platform' && !j.result)) return 'a job is running'
    if (this.bench.listConnections().length) return 'a platform is connected'
    return undefined
  }

  private async updateSettings(a: ParsedArgs<'updateSettings'>): Promise<Settings> {
    if (a.serialPattern) {
      try {
        new RegExp(a.serialPattern)
      } catch (e) {
        throw usage('bad-argument', `serialPattern: not a valid regular expression: ${(e as Error).message}`, 'serialPattern')
      }
    }
    if (a.operatorMode && !this.settingsView().adminPinSet) throw usage('no-admin-pin', 'operatorMode: set an admin PIN first; operator mode is left with it', 'operatorMode')
    if (a.recordsDb !== undefined) {
      const url = a.recordsDb ?? undefined
      if (this.options.recreateBench) {
        const why = this.busy()
        if (why) throw usage('busy', `recordsDb: ${why}; the records database can be changed when nothing runs`, 'recordsDb')
        let next: Bench
        try {
          next = this.options.recreateBench(url)
        } catch (e) {
          throw withField(e, 'recordsDb')
        }
        this.unwire()
        await this.bench.close()
        this.bench = next
        this.wire(next)
        this.restoreSlots()
      }
      this.options.secrets.set(RECORDS_DB_KEY, url ?? null)
      this.secretValues = undefined
    }
    this.settings.update(a)
    const view = this.settingsView()
    this.emit({ type: 'settings', settings: view })
    return view
  }

  private async unlock(pin: string, field: string): Promise<void> {
    const r = await this.settings.checkPin(pin)
    if (!r.ok) throw new ForbiddenError(r.code, `${field}: ${r.message}`, field)
  }

  // ---- demo ---------------------------------------------------------------------------------

  private demoOps(): DemoHostOps {
    return {
      saveSlot: (id, label, settings) => {
        const other = this.slots.all().find((s) => s.id !== id && s.settings.port === settings.port)
        if (other) this.slots.remove(other.id)
        this.saveSlot(id, label, settings)
      },
      saveProfile: (profile, secrets) => {
        if (this.connectionIdOf(profile.id)) return
        this.saveProfile(profile, secrets)
      },
      connect: async (profileId) => {
        const connectionId = this.connectionIdOf(profileId)
        if (connectionId) {
          if (this.bench.listConnections().find((c) => c.id === connectionId)?.activeJobs) throw usage('demo-running', 'the demo is still running; wait for its jobs to end')
          await this.bench.removeConnection(connectionId)
          this.connectionProfiles.delete(connectionId)
        }
        await this.connect(profileId)
      },
      log: (level, message) => {
        if (!this.closed) this.hostLog(level, message, 'demo')
      }
    }
  }

  // ---- the handlers -------------------------------------------------------------------------

  private makeHandlers(): Handlers {
    const o = this.options
    return {
      appInfo: () => ({
        version: o.info?.version ?? '0.0.0',
        platform: process.platform,
        dataDir: this.bench.dataDir,
        demo: Boolean(o.demo),
        systemLocale: o.info?.systemLocale ?? Intl.DateTimeFormat().resolvedOptions().locale,
        host: o.info?.host ?? 'browser'
      }),
      listPorts: () => this.portList(),
      getSettings: () => this.settingsView(),
      updateSettings: (a) => this.updateSettings(a),
      setAdminPin: async (a) => {
        if (this.settingsView().adminPinSet) {
          if (a.currentPin === undefined) throw usage('bad-argument', 'currentPin: the current admin PIN is required to change it', 'currentPin')
          await this.unlock(a.currentPin, 'currentPin')
        }
        await this.settings.setPin(a.pin)
        const view = this.settingsView()
        this.emit({ type: 'settings', settings: view })
        return view
      },
      unlockOperatorMode: async (a) => {
        await this.unlock(a.pin, 'pin')
        this.settings.update({ operatorMode: false })
        const view = this.settingsView()
        this.emit({ type: 'settings', settings: view })
        return view
      },
      listSlots: () => this.slotViews(),
      saveSlot: (a) => this.saveSlot(a.id, a.label, a.settings),
      removeSlot: (a) => {
        if (!this.slots.get(a.id)) throw usage('unknown-slot', `id: there is no slot "${a.id}"`, 'id')
        const user = this.profiles.all().find((p) => p.devices.some((d) => d.slotId === a.id))
        if (user) throw usage('slot-in-use', `id: slot ${a.id} is the bench port of a device of profile "${user.name}"; change the profile first`, 'id')
        this.bench.removeSlot(a.id)
        this.slots.remove(a.id)
        this.emit({ type: 'slots', slots: this.slotViews() })
      },
      listProfiles: () => this.profiles.all().map((p) => this.profileView(p)),
      saveProfile: (a) => this.saveProfile(a.profile, a.secrets),
      removeProfile: (a) => {
        if (!this.profiles.get(a.id)) throw usage('unknown-profile', `id: there is no profile "${a.id}"`, 'id')
        if (this.connectionIdOf(a.id)) throw usage('profile-connected', `id: profile ${a.id} is connected; disconnect it first`, 'id')
        for (const n of SECRET_NAMES) o.secrets.set(secretKey(a.id, n), null)
        this.profiles.remove(a.id)
        this.secretValues = undefined
      },
      connect: (a) => this.connect(a.profileId),
      disconnect: async (a) => {
        if (!(await this.bench.removeConnection(a.connectionId))) throw usage('unknown-connection', `connectionId: there is no connection "${a.connectionId}"`, 'connectionId')
        this.connectionProfiles.delete(a.connectionId)
      },
      listConnections: () => this.bench.listConnections().map((c) => this.connectionView(c)),
      listPackages: () => this.packageViews(),
      importPackage: async (a) => {
        if (o.info?.host !== 'electron') throw usage('unsupported', 'importPackage reads a file of the station by path, which only the desktop app does; upload the file (uploadPackage)')
        if (!isAbsolute(a.path)) throw usage('bad-argument', `path: expected an absolute path, got "${a.path}"`, 'path')
        const info = await this.bench.importPackage(a.path, { sha256: a.sha256?.toLowerCase(), md5: a.md5?.toLowerCase() })
        return this.rememberPackage(info.sha256, basename(a.path), info.md5)
      },
      uploadPackage: (a) => this.upload(a),
      pickPackageFile: async () => {
        if (!o.pickFile) throw usage('unsupported', 'there is no file dialog in the browser; upload the file (uploadPackage)')
        return o.pickFile()
      },
      removePackage: (a) => {
        if (this.batch && this.batch.state !== 'ended' && this.batch.sha256 === a.sha256.toLowerCase()) throw usage('package-in-use', 'sha256: the running batch flashes this package', 'sha256')
        if (!this.bench.removePackage(a.sha256.toLowerCase())) throw usage('not-in-cache', `sha256: no package with SHA-256 ${a.sha256} is in the cache`, 'sha256')
        delete this.packageNames.names[a.sha256.toLowerCase()]
      },
      flash: (a) => this.flash(a),
      detect: (a) => this.detect(a.slot),
      listJobs: (a) => this.listJobs(a?.limit),
      cancelJob: (a) => this.bench.cancel(a.jobId),
      jobLog: (a) => this.jobLog(a.jobId),
      startBatch: (a) => this.startBatch(a),
      stopBatch: (a) => {
        const b = this.currentBatch(a.batchId)
        if (b.state === 'running') b.state = 'stopping'
        b.run.stop()
        this.emit({ type: 'batch', batch: this.batchView(b) })
      },
      cancelBatch: (a) => {
        const b = this.currentBatch(a.batchId)
        if (b.state === 'running') b.state = 'stopping'
        b.run.cancel()
        this.emit({ type: 'batch', batch: this.batchView(b) })
      },
      retryFailed: async (a) => {
        const b = this.currentBatch(a.batchId)
        if (b.state !== 'ended') throw usage('batch-running', `batchId: batch ${a.batchId} is still running; retry its failures when it has ended`, 'batchId')
        const ports = [...new Set(b.units.filter((u) => u.state === 'failed').map((u) => u.port))]
        if (!ports.length) throw usage('nothing-to-retry', `batchId: batch ${a.batchId} has no failed unit`, 'batchId')
        const pkg = await this.cachedPackage(b.sha256, 'batchId')
        return this.runBatch({ slot: b.slot, ports, sha256: b.sha256, file: pkg.path, retries: b.retries, concurrency: b.concurrency, serialNumber: b.serialNumber })
      },
      currentBatch: () => (this.batch ? this.batchView(this.batch) : null),
      queryRecords: (a) => this.queryRecords(a ?? {}).slice(-MAX_RECORDS),
      exportRecords: (a) => {
        const records = this.bench.queryRecords(recordFilter(a.filter)).records
        const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*$/, '').replace('T', '-')
        return { fileName: `flashline-records-${stamp}.${a.format}`, content: a.format === 'csv' ? toCsv(records) : toJsonl(records) }
      },
      runDemo: async () => {
        if (!o.demo) throw usage('not-demo', 'the demo runs only in demo mode (first launch, or flashline ui --demo)')
        await o.demo.run(this.demoOps())
      }
    }
  }

  private queryRecords(f: RecordFilterView): RecordView[] {
    return this.bench.queryRecords(recordFilter(f)).records as unknown as RecordView[]
  }
}

function recordFilter(f: RecordFilterView): RecordFilter {
  return { since: f.since ? new Date(f.since) : undefined, until: f.until ? new Date(f.until) : undefined, result: f.result, origin: f.origin, chipId: f.chipId, serialNumber: f.serialNumber }
}

function withoutPort(s: SlotSettings): Record<string, unknown> {
  const { port: _port, ...rest } = s
  return rest
}

/** Checks slot settings with the engine's schema; a problem names `<field>.<path>`. */
function checkSlot(settings: SlotSettings, field: string): void {
  try {
    checkSlotSettings(settings)
  } catch (e) {
    throw withField(e, field)
  }
}

/** An engine error about a configuration path, as a usage error about the argument field holding it. */
function withField(e: unknown, prefix: string): FlashlineError {
  const err = asFlashlineError(e)
  const path = err.details?.['path']
  if (err.kind === 'usage' && typeof path === 'string') {
    const field = path === '(top level)' ? prefix : `${prefix}.${path}`
    return new FlashlineError('usage', 'bad-argument', `${field}: ${err.message.replace(/^[^:]*: /, '')}`, { field })
  }
  if (err.kind === 'usage' && !err.details?.['field']) return new FlashlineError('usage', err.code, `${prefix}: ${err.message}`, { field: prefix })
  return err
}

function profileField(path: Array<string | number>): string {
  const [head, ...rest] = path
  if (head === 'password') return 'secrets.password'
  if (head === 'iotda' && (rest[0] === 'secret' || rest[0] === 'certFile' || rest[0] === 'keyFile')) return `secrets.${rest[0] === 'certFile' ? 'cert' : rest[0] === 'keyFile' ? 'key' : 'secret'}`
  if (head === 'fogcloud' && rest[0] === 'deviceSecret') return 'secrets.deviceSecret'
  return formatPath(['profile', ...path])
}

/** A refusal of the host itself (operator mode, the admin PIN): error kind 'forbidden'. */
class ForbiddenError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly field?: string
  ) {
    super(message)
  }
}

function toApiError(e: unknown): ApiError {
  if (e instanceof ForbiddenError) return { kind: 'forbidden', code: e.code, message: e.message, field: e.field }
  const err = asFlashlineError(e)
  const field = err.details?.['field']
  return { kind: err.kind, code: err.code, message: err.message, field: typeof field === 'string' ? field : undefined }
}

function dropUndefined(o: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(o)) {
    if (v === undefined) continue
    out[k] = v && typeof v === 'object' && !Array.isArray(v) ? dropUndefined(v as Record<string, unknown>) : v
  }
  return out
}

/** A profile id from its name: "Line 3 IoTDA" → "line-3-iotda". */
function slug(name: string): string {
  return (
    name
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 40) || 'profile'
  )
}

/** A display and temp-file name: no directories, no control characters. */
function safeName(name: string): string {
  const base = name.split(/[\\/]/).pop() ?? ''
  // eslint-disable-next-line no-control-regex
  const clean = base.replace(/[\x00-\x1f\x7f]/g, '').slice(0, 200)
  return clean && clean !== '.' && clean !== '..' ? clean : 'package.bin'
}
