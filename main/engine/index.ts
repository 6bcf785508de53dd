/**
 * The engine's front door. The CLI, the Electron main process, `flashline ui` and the tests drive
 * the engine only through `Bench` and the types exported here.
 */
import { appendFileSync, readFileSync, statSync } from 'node:fs'
import { hostname } from 'node:os'
import { basename, join, resolve } from 'node:path'
import { readConnection, ConfigProblem, type ConnectionConfig } from './config/connection'
import { formatPath } from './config/fields'
import { check, slotSchema } from './config/schema'
import { BatchRun, type BatchOptions } from './batch'
import { Connection, type ConnectionStatus } from './connection'
import { hashBuffer } from './download/hashers'
import { FlashlineError, asFlashlineError } from './errors'
import { Coalescer, TypedEmitter, type LogLevel, type LogLine } from './events'
import { loadEspManifest } from './flash/esp'
import { flashSlot, openSlot } from './jobs/flash-slot'
import { describeUsbUnit } from './jobs/unit'
import { isTerminal, type JobContext, type JobRecord, type PackageOnDisk } from './jobs/job-record'
import { CANCELLED, JobRunner, type JobEvent } from './jobs/job-runner'
import type { SlotSettings } from './jobs/slot'
import type { StationEvent } from './jobs/station'
import type { DeviceIdentity, FlashProgress, JobOrigin, JobPhase, PackageExpectation, PackageSource, PlatformName, ProtocolName } from './model'
import { PackageCache, type DownloadOptions, type PackageInfo } from './package-cache'
import { detectOn, type DetectedDevice } from './protocols'
import type { PlatformAdapter } from './platforms/adapter'
import { recordOf } from './records/from-job'
import type { Replicator, SyncResult } from './records/replicator'
import { parseRecordsDb } from './records/db-target'
import { RecordStore, type RecordFilter, type RecordQuery } from './records/store'
import { mkdirPrivate, PRIVATE_FILE_MODE } from './store/atomic-file'
import { alive } from './store/dir-lock'
import { Journal } from './store/journal'
import { prepareDataDir } from './util/data-dir'
import { redactUrl } from './util/redact'
import { openTransport, registerSimPorts } from './transport/open'

export interface BenchOptions {
  /** Where journals, outboxes, the package cache, job logs and records live (checked up front). */
  dataDir: string
  /** Station and operator names written into every record. */
  station?: string
  operator?: string
  /**
   * PostgreSQL URL that every record is also replicated to (at least once, in the background; a
   * database that is down never fails or slows a job). The local record store stays the source of truth.
   */
  recordsDb?: string
  /** Where `recordsDb` came from, for messages (--records-db, FLASHLINE_RECORDS_DB, the station file). */
  recordsDbSource?: string
  /** Warnings from record replication (database unreachable, back again); default: the log event. */
  downloadRetries?: number
  downloadIdleTimeoutMs?: number
  /** Progress events per job are sent at most this often (default 100 ms: ≤ 10 per second). */
  progressIntervalMs?: number
}

export interface SlotInfo {
  id: string
  settings: SlotSettings
  /** The job using the slot now, if any. */
  jobId?: string
}

export interface ConnectionInfo {
  id: string
  platform: PlatformName
  identity: string
  /** The broker without user info. */
  broker: string
  status: ConnectionStatus
  error?: string
  /** Reports queued and not yet acknowledged by the broker. */
  outbox: number
  /** Jobs of this connection not yet ended (running or waiting for acknowledgement). */
  activeJobs: number
  devices: Array<{ deviceId: string; port: string; protocol: ProtocolName; version?: string }>
}

export interface JobInfo {
  id: string
  origin: JobOrigin
  phase: JobPhase
  connectionId?: string
  slotId?: string
  deviceId?: string
  port?: string
  protocol?: ProtocolName
  orderId?: string
  taskId?: string
  targetVersion?: string
  startVersion: string
  package?: { name?: string; sha256?: string; size?: number }
  identity?: DeviceIdentity
  bytesWritten?: number
  verified?: 'device' | 'none'
  /** The version the device printed after its reset (probe). */
  probedVersion?: string
  result?: 'succeeded' | 'failed' | 'cancelled'
  reason?: string
  message?: string
  /** Error kind and code when the job failed on an error (exit code mapping, hints). */
  error?: { kind: string; code: string }
  version?: string
  unverified?: boolean
  retries?: number
  context?: JobContext
  createdAt: number
  updatedAt: number
  history: Array<{ phase: JobPhase; at: number }>
  logFile: string
}

export interface ProgressInfo {
  jobId: string
  slotId?: string
  port?: string
  connectionId?: string
  deviceId?: string
  stage: 'download' | FlashProgress['stage']
  done: number
  total?: number
  bytesPerSec: number
}

export interface ReportInfo {
  connectionId: string
  jobId?: string
  topic: string
  payload: string
  state: 'queued' | 'acked'
}

export interface DownlinkInfo {
  connectionId: string
  topic: string
  outcome: 'ignored' | 'error' | 'answered'
  reason: string
}

/** Every event of the engine, typed end to end; each carries the ids it belongs to. */
export interface BenchEvents {
  job: [JobInfo]
  progress: [ProgressInfo]
  log: [LogLine]
  connection: [ConnectionInfo]
  report: [ReportInfo]
  downlink: [DownlinkInfo]
}

/** What to flash onto a slot without a platform (recovery) or as a unit of a batch run. */
export interface FlashRequest {
  /** A slot id added with addSlot, or slot settings for a one-off job (as a station file's device, without id and currentVersion). */
  slot: string | Record<string, unknown>
  /** One image file, an ESP Web Tools manifest, or a package already in the cache (by SHA-256). */
  file?: string
  manifest?: string
  sha256?: string
  /** What the file must hash to; a mismatch flashes nothing. */
  expect?: PackageExpectation
  origin?: Exclude<JobOrigin, 'platform'>
  context?: JobContext
  /** The first value of `retries` in the record (a batch retrying a unit). */
  retries?: number
  /** A package already in the cache and checked (a batch hashes it once for all units). */
  prepared?: PackageInfo
  /** Decides, once the unit is known, whether it was seen before (a batch's duplicates). */
  classify?(unit: { identity?: DeviceIdentity; usbSerial?: string }): { duplicate: boolean }
}

export interface JobHandle {
  id: string
  /** Settles with the job's final state (never rejects: a failure is a result). */
  done: Promise<JobInfo>
}

interface LocalRun {
  job: JobRecord
  abort: AbortController
  slotId?: string
  settings: SlotSettings
}

/**
 * A bench: the slots (ports) it flashes, the platform connections whose orders it carries out, the
 * package cache, and every job of every origin with its journal, log file and record.
 */
export class Bench extends TypedEmitter<BenchEvents> {
  readonly dataDir: string
  readonly cache: PackageCache
  private readonly localJournal: Journal
  private readonly logsDir: string
  private readonly slots = new Map<string, SlotSettings>()
  private readonly connectionsById = new Map<string, Connection>()
  private readonly local = new Map<string, LocalRun>()
  private readonly progress: Coalescer<ProgressInfo>
  private closed = false
  /** Every finished job's record, under `<dataDir>/records`. */
  readonly records: RecordStore
  private readonly replicator?: Promise<Replicator>

  constructor(readonly options: BenchOptions) {
    super()
    this.dataDir = prepareDataDir(options.dataDir)
    this.cache = new PackageCache(join(this.dataDir, 'cache'))
    this.logsDir = join(this.dataDir, 'logs')
    mkdirPrivate(this.logsDir)
    this.localJournal = new Journal(join(this.dataDir, 'local'), (level, message) => this.log({ level, source: 'journal', message }))
    this.progress = new Coalescer(options.progressIntervalMs ?? 100, (p) => this.emit('progress', p))
    this.records = new RecordStore(this.dataDir)
    if (options.recordsDb) {
      // checked now (a bad URL is a usage error), connected in the background
      parseRecordsDb(options.recordsDb, options.recordsDbSource)
      this.replicator = newReplicator(this.records, options.recordsDb, options.recordsDbSource, (message) => this.log({ level: 'warn', source: 'records', message }))
      void this.replicator.then((r) => r.start())
    }
    this.recoverLocalJobs()
  }

  // ---- slots ------------------------------------------------------------------------------

  /** Adds (or replaces) a slot; the settings are checked with the same schema as the station file. */
  addSlot(id: string, settings: unknown): SlotInfo {
    const parsed = parseSlot(settings)
    this.slots.set(id, parsed)
    return this.slotInfo(id)
  }

  removeSlot(id: string): boolean {
    if (this.runningOn(id)) throw new FlashlineError('usage', 'slot-busy', `slot ${id} is flashing; cancel its job first`)
    return this.slots.delete(id)
  }

  listSlots(): SlotInfo[] {
    return [...this.slots.keys()].map((id) => this.slotInfo(id))
  }

  private slotInfo(id: string): SlotInfo {
    return { id, settings: this.slots.get(id)!, jobId: this.runningOn(id)?.job.id }
  }

  private runningOn(slotId: string): LocalRun | undefined {
    return [...this.local.values()].find((r) => r.slotId === slotId)
  }

  /**
   * Tells what answers on a port (bootloader, chip, unit id) without erasing or writing anything.
   * `settings` are a slot's, checked with the same schema; a port that a job is using or about to
   * use is refused. Nothing answering is a device error 'no-answer' saying how to enter the bootloader.
   */
  async detect(settings: unknown, options: { signal?: AbortSignal } = {}): Promise<DetectedDevice> {
    if (this.closed) throw new FlashlineError('usage', 'closed', 'the bench is closed')
    const slot = checkSlotSettings(settings)
    const busy = this.listJobs().find((j) => j.port === slot.port && ['received', 'downloading', 'checking', 'verified', 'flashing', 'proving'].includes(j.phase))
    if (busy) throw new FlashlineError('usage', 'slot-busy', `${slot.port} is busy with job ${busy.id} (${busy.phase}); detect once it has finished, or cancel it`)
    if (this.detecting.has(slot.port)) throw new FlashlineError('usage', 'slot-busy', `${slot.port} is already being detected`)
    this.detecting.add(slot.port)
    try {
      const transport = await openSlot(slot)
      try {
        return await detectOn(transport, slot, { signal: options.signal })
      } finally {
        await transport.close()
      }
    } finally {
      this.detecting.delete(slot.port)
    }
  }

  /** Ports a detect is talking to right now: no job may start on them meanwhile. */
  private readonly detecting = new Set<string>()

  // ---- platform connections ------------------------------------------------------------

  /**
   * Adds a platform connection and connects it. `config` is checked with the configuration schema
   * (inline secrets allowed: they come from the app's secure store or the CLI); rejects with a usage
   * error naming the field, or a platform error when the broker cannot be reached.
   */
  async addConnection(config: unknown, options: { id?: string; baseDir?: string; adapter?: PlatformAdapter } = {}): Promise<ConnectionInfo> {
    const resolved = isResolved(config) ? config : readConfig(config, options.baseDir)
    const id = options.id ?? resolved.identity
    if (this.connectionsById.has(id)) throw new FlashlineError('usage', 'duplicate-connection', `a connection named ${id} is already open`)
    for (const other of this.connectionsById.values()) {
      if (other.config.identity === resolved.identity) throw new FlashlineError('usage', 'duplicate-connection', `${resolved.identity} is already connected (${other.id}); one device identity can have one connection`)
    }
    const ports = new Map<string, string>()
    for (const other of this.connectionsById.values()) for (const d of other.config.devices) ports.set(d.port, `${d.deviceId} of ${other.id}`)
    for (const d of resolved.devices) {
      const owner = ports.get(d.port)
      if (owner) throw new FlashlineError('usage', 'port-in-use', `${d.port} (${d.deviceId}) is already the port of ${owner}; every device needs its own bench port`)
      ports.set(d.port, d.deviceId)
    }
    const c = new Connection({
      id,
      config: resolved,
      dataDir: this.dataDir,
      cache: this.cache,
      adapter: options.adapter,
      downloadRetries: this.options.downloadRetries,
      downloadIdleTimeoutMs: this.options.downloadIdleTimeoutMs,
      portBusy: (port) => [...this.local.values()].find((r) => r.settings.port === port)?.job.id ?? (this.detecting.has(port) ? 'detect' : undefined)
    })
    this.connectionsById.set(id, c)
    c.on('status', () => this.emit('connection', this.connectionInfo(c)))
    c.on('log', (level, message) => this.log({ level, source: 'connection', connectionId: id, message }))
    c.on('station', (e) => this.onStationEvent(c, e))
    this.emit('connection', this.connectionInfo(c))
    try {
      await c.start()
    } catch (e) {
      await c.stop().catch(() => undefined)
      this.connectionsById.delete(id)
      throw e
    }
    return this.connectionInfo(c)
  }

  async removeConnection(id: string): Promise<boolean> {
    const c = this.connectionsById.get(id)
    if (!c) return false
    await c.stop()
    this.connectionsById.delete(id)
    this.emit('connection', this.connectionInfo(c))
    return true
  }

  listConnections(): ConnectionInfo[] {
    return [...this.connectionsById.values()].map((c) => this.connectionInfo(c))
  }

  private connectionInfo(c: Connection): ConnectionInfo {
    return {
      id: c.id,
      platform: c.config.platform,
      identity: c.config.identity,
      broker: redactUrl(c.config.broker),
      status: c.status,
      error: c.status === 'failed' ? c.lastError : undefined,
      outbox: c.station.outbox.size,
      activeJobs: c.station.activeJobs,
      devices: c.config.devices.map((d) => ({ deviceId: d.deviceId, port: d.port, protocol: d.protocol, version: c.station.context.currentVersion(d.deviceId) }))
    }
  }

  private onStationEvent(c: Connection, e: StationEvent): void {
    const connectionId = c.id
    switch (e.type) {
      case 'phase':
        return this.jobChanged(e.job)
      case 'job-closed':
        this.jobChanged(e.job)
        this.emit('connection', this.connectionInfo(c))
        return
      case 'download-progress':
      case 'flash-progress':
      case 'log':
        return this.jobEvent(e)
      case 'report-queued':
      case 'report-acked':
        this.emit('report', { connectionId, jobId: e.entry.jobId, topic: e.entry.message.topic, payload: e.entry.message.payload, state: e.type === 'report-queued' ? 'queued' : 'acked' })
        if (e.type === 'report-acked') this.emit('connection', this.connectionInfo(c))
        return
      case 'reply-queued':
        this.emit('downlink', { connectionId, topic: e.messages[0]?.topic ?? '', outcome: 'answered', reason: 'version query answered' })
        return
      case 'downlink-ignored':
        this.emit('downlink', { connectionId, topic: e.topic, outcome: 'ignored', reason: e.reason })
        this.log({ level: 'info', source: 'station', connectionId, message: `ignored a message${e.topic ? ` on ${e.topic}` : ''}: ${e.reason}` })
        return
      case 'downlink-error':
        this.emit('downlink', { connectionId, topic: e.topic, outcome: 'error', reason: e.error })
        this.log({ level: 'error', source: 'station', connectionId, message: `could not decode a message on ${e.topic} (a defect of Flashline, please report it): ${e.error}` })
        return
      case 'station-log':
        return this.log({ level: e.level ?? 'info', source: 'station', connectionId, message: e.message })
    }
  }

  // ---- package cache ---------------------------------------------------------------------

  /** Copies a local package into the cache, checked against `expect`. */
  importPackage(file: string, expect: PackageExpectation = {}): Promise<PackageInfo> {
    return this.cache.import(file, expect)
  }

  /** Downloads a package into the cache (resumable, verified). */
  fetchPackage(source: PackageSource, expect: PackageExpectation, options: DownloadOptions = {}): Promise<PackageInfo> {
    return this.cache.fetch(source, expect, options)
  }

  listPackages(): PackageInfo[] {
    return this.cache.list()
  }

  removePackage(sha256: string): boolean {
    return this.cache.remove(sha256)
  }

  // ---- jobs ------------------------------------------------------------------------------

  /**
   * Flashes a local package onto a slot (recovery, no platform) or one unit of a batch: checks the
   * package, flashes, verifies and probes, journals every phase, writes the job's log and record.
   */
  flash(request: FlashRequest): JobHandle {
    if (this.closed) throw new FlashlineError('usage', 'closed', 'the bench is closed')
    const slotId = typeof request.slot === 'string' ? request.slot : undefined
    const settings = slotId !== undefined ? this.slots.get(slotId) : parseSlot(request.slot)
    if (!settings) throw new FlashlineError('usage', 'unknown-slot', `there is no slot ${slotId}; add it first`)
    const sources = [request.file, request.manifest, request.sha256, request.prepared].filter((x) => x !== undefined).length
    if (sources !== 1) throw new FlashlineError('usage', 'bad-request', 'give exactly one of file, manifest or sha256 to flash')
    if (request.manifest !== undefined && settings.protocol !== 'esp') throw new FlashlineError('usage', 'bad-request', 'a manifest is for the esp protocol (ESP Web Tools style manifest of parts and offsets)')
    const busy = [...this.local.values()].find((r) => (slotId !== undefined && r.slotId === slotId) || r.settings.port === settings.port)
    if (busy) throw new FlashlineError('usage', 'slot-busy', `${settings.port} is busy with job ${busy.job.id}`)
    if (this.detecting.has(settings.port)) throw new FlashlineError('usage', 'slot-busy', `${settings.port} is busy: a detect is talking to it`)
    for (const c of this.connectionsById.values()) {
      const platformJob = c.station.runningJobs().find((j) => j.slot?.port === settings.port && j.phase !== 'reporting' && !isTerminal(j))
      if (platformJob) throw new FlashlineError('usage', 'slot-busy', `${settings.port} is busy with the platform job ${platformJob.id} (${c.id})`)
    }
    const now = Date.now()
    const job: JobRecord = {
      id: `${now.toString(36)}-${Math.random().toString(36).slice(2, 10)}`,
      origin: request.origin ?? 'local',
      request: { file: request.file && resolve(request.file), manifest: request.manifest && resolve(request.manifest), expect: request.expect },
      slot: { id: slotId, port: settings.port, protocol: settings.protocol },
      context: { station: this.options.station, operator: this.options.operator, ...request.context },
      owner: { pid: process.pid, host: hostname() },
      phase: 'received',
      createdAt: now,
      updatedAt: now,
      startVersion: 'unknown',
      runs: 0,
      retries: request.retries,
      history: [{ phase: 'received', at: now }]
    }
    const run: LocalRun = { job, abort: new AbortController(), slotId, settings }
    this.local.set(job.id, run)
    this.localJournal.save(job)
    this.jobChanged(job)
    const runner = new JobRunner(job, {
      journal: this.localJournal,
      obtain: () => this.localPackage(request),
      describeUnit: describeUsbUnit,
      flash: (j, pkg, signal, onProgress, onPhase) =>
        flashSlot(settings, { path: pkg.path, size: pkg.size, name: pkg.name ?? basename(pkg.path), manifest: pkg.manifest }, {
          signal,
          onProgress,
          onProving: () => onPhase('proving'),
          log: (message) => this.jobEvent({ type: 'log', job: j, message })
        }),
      emit: (e) => {
        if (e.type !== 'phase') return this.jobEvent(e)
        if (isTerminal(e.job) && request.classify) {
          const { duplicate } = request.classify({ identity: e.job.identity, usbSerial: e.job.context?.usbSerial })
          if (duplicate) e.job.context = { ...e.job.context, duplicate }
        }
        this.jobChanged(e.job)
      }
    })
    const done = runner
      .run(run.abort.signal)
      .catch((e) => {
        // a local job is never resumed: whatever stopped the runner ends the job here, truthfully
        if (isTerminal(job)) return job
        const err = asFlashlineError(e)
        const result = err.kind === 'interrupted' ? 'cancelled' : 'failed'
        job.outcome = { result, reason: result === 'cancelled' ? 'cancelled' : 'internal', message: err.message, version: job.startVersion }
        job.error ??= { kind: err.kind, code: err.code, message: err.message }
        job.phase = result
        job.updatedAt = Date.now()
        job.history.push({ phase: result, at: job.updatedAt })
        this.localJournal.save(job)
        this.jobChanged(job)
        return job
      })
      .then((j) => {
        this.local.delete(j.id)
        return this.jobInfo(j)
      })
    return { id: job.id, done }
  }

  private async localPackage(request: FlashRequest): Promise<PackageOnDisk> {
    if (request.manifest !== undefined) {
      const manifest = loadEspManifest(request.manifest)
      // which build applies is known once the chip is detected: announce the largest
      let size = 0
      for (const b of manifest.builds) {
        let sum = 0
        for (const p of b.parts) sum += fileSize(resolve(manifest.baseDir, p.path), `manifest part ${p.path}`)
        size = Math.max(size, sum)
      }
      const text = readFileSync(request.manifest)
      return { path: request.manifest, size, name: basename(request.manifest), manifest, sha256: hashBuffer(text).sha256 }
    }
    if (request.prepared) return request.prepared
    if (request.sha256 !== undefined) {
      const hit = await this.cache.get(request.sha256)
      if (!hit) throw new FlashlineError('usage', 'not-in-cache', `no package with SHA-256 ${request.sha256} is in the cache`)
      return hit
    }
    return this.cache.import(request.file!, request.expect)
  }

  /**
   * A batch run: the same package onto many units, on fixed ports or as units arrive (station mode).
   * Call `start()`; `done` settles with the summary.
   */
  batch(options: BatchOptions): BatchRun {
    return new BatchRun(
      {
        importPackage: (file, expect) => this.importPackage(file, expect),
        flashUnit: (r) => this.flash({ slot: r.slot, prepared: r.prepared, manifest: r.manifest, origin: 'batch', context: r.context, retries: r.retries, classify: r.classify }),
        cancel: (jobId) => this.cancel(jobId)
      },
      options
    )
  }

  /** Cancels one job of any origin. False when no such job is running. */
  cancel(jobId: string): boolean {
    const run = this.local.get(jobId)
    if (run) {
      run.abort.abort(CANCELLED)
      return true
    }
    for (const c of this.connectionsById.values()) if (c.cancel(jobId)) return true
    return false
  }

  /** Every job this bench knows: local and batch jobs, and the jobs of open connections. */
  listJobs(): JobInfo[] {
    const all: JobRecord[] = [...this.localJournal.all()]
    for (const c of this.connectionsById.values()) all.push(...c.station.jobs())
    return all.sort((a, b) => a.createdAt - b.createdAt).map((j) => this.jobInfo(j))
  }

  getJob(jobId: string): JobInfo | undefined {
    const live = this.live.get(jobId)
    if (live) return live
    const local = this.localJournal.load(jobId)
    if (local) return this.jobInfo(local)
    for (const c of this.connectionsById.values()) {
      const job = c.station.journal.load(jobId)
      if (job) return this.jobInfo(job)
    }
    return undefined
  }

  /** The last state of every job that changed in this process (getJob without reading the journal). */
  private readonly live = new Map<string, JobInfo>()

  // ---- events, logs, records -------------------------------------------------------------

  private jobChanged(job: JobRecord): void {
    this.progress.flush(job.id)
    const info = this.jobInfo(job)
    this.live.set(job.id, info)
    if (this.live.size > 1000) {
      // a station runs for months: forget finished jobs here (the journal still has them)
      for (const [id, j] of this.live) if (j.result && this.live.size > 500) this.live.delete(id)
    }
    this.jobLog(info, 'info', `phase ${job.phase}${job.outcome && isTerminal(job) ? `: ${job.outcome.result}${job.outcome.message ? ` (${job.outcome.message})` : ''}` : ''}`)
    this.emit('job', info)
    if (isTerminal(job)) {
      this.progress.drop(job.id)
      this.writeRecord(job, info)
    }
  }

  private jobEvent(e: Exclude<JobEvent, { type: 'phase' }>): void {
    const info = this.idsOf(e.job)
    if (e.type === 'log') {
      this.jobLog({ ...info, id: e.job.id }, e.level ?? 'info', e.message)
      return
    }
    if (e.type === 'download-progress') {
      const p = e.progress
      this.progress.push(e.job.id, { jobId: e.job.id, ...info, stage: 'download', done: p.done, total: p.total, bytesPerSec: p.bytesPerSec }, p.total !== undefined && p.done === p.total)
    } else {
      const p = e.progress
      const started = this.flashStarted.get(e.job.id) ?? this.flashStarted.set(e.job.id, Date.now()).get(e.job.id)!
      const secs = Math.max(0.001, (Date.now() - started) / 1000)
      this.progress.push(e.job.id, { jobId: e.job.id, ...info, stage: p.stage, done: p.done, total: p.total, bytesPerSec: p.stage === 'write' ? p.done / secs : 0 }, p.done === p.total)
    }
  }

  private readonly flashStarted = new Map<string, number>()

  private idsOf(job: JobRecord): { slotId?: string; connectionId?: string; deviceId?: string; port?: string } {
    return { slotId: job.slot?.id, connectionId: job.connectionId, deviceId: job.order?.deviceId, port: job.slot?.port }
  }

  private jobInfo(job: JobRecord): JobInfo {
    const o = job.outcome
    return {
      id: job.id,
      origin: job.origin ?? 'platform',
      phase: job.phase,
      ...this.idsOf(job),
      port: job.slot?.port,
      protocol: job.slot?.protocol,
      orderId: job.order?.orderId,
      taskId: typeof job.order?.wire['task_id'] === 'string' ? (job.order.wire['task_id'] as string) : undefined,
      targetVersion: job.order?.targetVersion,
      startVersion: job.startVersion,
      package: job.package ? { name: job.package.name ?? job.order?.source.fileName, sha256: job.package.sha256, size: job.package.size } : undefined,
      identity: job.identity,
      bytesWritten: job.bytesFlashed,
      verified: job.verified,
      probedVersion: job.probedVersion,
      result: o && isTerminal(job) ? o.result : undefined,
      reason: o?.reason,
      message: o?.message,
      error: job.error && { kind: job.error.kind, code: job.error.code },
      version: o?.version,
      unverified: job.unverified,
      retries: job.retries,
      context: job.context,
      createdAt: job.createdAt,
      updatedAt: job.updatedAt,
      history: job.history,
      logFile: join(this.logsDir, `${job.id}.log`)
    }
  }

  private jobLog(info: Pick<JobInfo, 'id' | 'slotId' | 'connectionId' | 'deviceId'>, level: LogLevel, message: string): void {
    const line: LogLine = { time: new Date().toISOString(), level, source: 'job', jobId: info.id, slotId: info.slotId, connectionId: info.connectionId, deviceId: info.deviceId, message }
    try {
      appendFileSync(join(this.logsDir, `${info.id}.log`), `${line.time} ${level.toUpperCase().padEnd(5)} ${message}\n`, { mode: PRIVATE_FILE_MODE })
    } catch {
      // a job log that cannot be written (full disk) must not stop the job; the event still goes out
    }
    this.emit('log', line)
  }

  private log(line: Omit<LogLine, 'time'>): void {
    this.emit('log', { time: new Date().toISOString(), ...line })
  }

  private writeRecord(job: JobRecord, info: JobInfo): void {
    this.flashStarted.delete(job.id)
    try {
      this.records.append(recordOf(job, { logFile: info.logFile, platform: job.order?.platform, taskId: info.taskId }))
      void this.replicator?.then((r) => r.notify())
    } catch (e) {
      this.log({ level: 'error', source: 'records', jobId: job.id, message: `cannot write the record of job ${job.id}: ${(e as Error).message}` })
    }
  }

  // ---- records ---------------------------------------------------------------------------

  /** The records of finished jobs, filtered; damaged lines are skipped and named in `warnings`. */
  queryRecords(filter: RecordFilter = {}): RecordQuery {
    return this.records.query(filter)
  }

  /**
   * Sends the records a database has not acknowledged yet (the bench's own recordsDb, or `url`);
   * rejects with a platform error when the database cannot be reached.
   */
  async syncRecords(target?: { url: string; source?: string }): Promise<SyncResult & { target: string }> {
    const replicator = await (target ? newReplicator(this.records, target.url, target.source, (message) => this.log({ level: 'warn', source: 'records', message })) : this.replicator)
    if (!replicator) throw new FlashlineError('usage', 'no-records-db', 'no records database is configured (recordsDb)')
    const result = await replicator.syncOnce()
    return { ...result, target: replicator.target.label }
  }

  /**
   * Local jobs a killed process left unfinished: they cannot resume (the device state is unknown), so
   * they end as failed, with a record. Jobs of another live process on the same data dir are left alone.
   */
  private recoverLocalJobs(): void {
    for (const job of this.localJournal.all()) {
      if (isTerminal(job)) continue
      // another process on this data dir is still running it
      if (job.owner && job.owner.host === hostname() && job.owner.pid !== process.pid && alive(job.owner.pid)) continue
      job.outcome = { result: 'failed', reason: 'internal', message: `the process ended during phase "${job.phase}"; the device may hold a partial image — flash it again`, version: job.startVersion }
      job.phase = 'failed'
      job.updatedAt = Date.now()
      job.history.push({ phase: 'failed', at: job.updatedAt })
      this.localJournal.save(job)
      this.jobChanged(job)
    }
  }

  /** Cancels local jobs, stops every connection (their jobs resume on the next start). */
  async close(): Promise<void> {
    this.closed = true
    const runs = [...this.local.values()]
    for (const r of runs) r.abort.abort(CANCELLED)
    await Promise.all([...this.connectionsById.values()].map((c) => c.stop()))
    this.connectionsById.clear()
    await (await this.replicator)?.stop()
  }
}

/**
 * Makes the built-in simulated boards (`sim:ymodem`, `sim:stm32`, `sim:esp`, `sim:mcuboot`) available
 * as ports. Their code is loaded only when the first one is opened.
 */
export function useSimulators(): void {
  registerSimPorts(async (name, options) => {
    ;(await import('./sim/sim-ports')).registerBuiltinSimPorts()
    return openTransport(`sim:${name}`, options)
  })
}

/** The replicator's code (and the PostgreSQL client) is loaded only when a records database is configured. */
async function newReplicator(store: RecordStore, url: string, source: string | undefined, onWarning: (m: string) => void): Promise<Replicator> {
  const { Replicator: R } = await import('./records/replicator')
  return new R(store, { url, urlSource: source, onWarning })
}

/** Checks slot settings (as a station file's device without id and currentVersion); a usage error names the field. */
export function checkSlotSettings(settings: unknown): SlotSettings {
  return parseSlot(settings)
}

function parseSlot(settings: unknown): SlotSettings {
  const parsed = check(slotSchema, settings)
  if (!parsed.ok) throw new FlashlineError('usage', 'bad-config', `${formatPath(parsed.problem.path)}: ${parsed.problem.message}`, { path: formatPath(parsed.problem.path) })
  return parsed.value
}

function isResolved(c: unknown): c is ConnectionConfig {
  return typeof c === 'object' && c !== null && typeof (c as ConnectionConfig).identity === 'string' && typeof (c as ConnectionConfig).connectTimeoutMs === 'number'
}

function readConfig(raw: unknown, baseDir = process.cwd()): ConnectionConfig {
  try {
    return readConnection(raw, { baseDir, env: process.env, inlineSecrets: true })
  } catch (e) {
    if (e instanceof ConfigProblem) throw new FlashlineError('usage', 'bad-config', `${formatPath(e.path)}: ${e.message}`, { path: formatPath(e.path) })
    throw e
  }
}

function fileSize(path: string, what: string): number {
  try {
    const st = statSync(path)
    if (!st.isFile()) throw new Error('not a file')
    return st.size
  } catch (e) {
    throw new FlashlineError('usage', 'unreadable-file', `${what} ${path}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`)
  }
}

export { FlashlineError, EXIT_CODES, exitCodeOf, asFlashlineError, type ErrorKind } from './errors'
export type { LogLine, LogLevel } from './events'
export { ConfigProblem, readConnection, type ConnectionConfig } from './config/connection'
export { readStationFile, type StationFile } from './config/station-file'
export { formatPath } from './config/fields'
export type { ConnectionStatus } from './connection'
export type { SlotSettings, SlotConfig, ProbeConfig } from './jobs/slot'
export type { PackageInfo } from './package-cache'
export { RECORD_FIELDS, type FlashRecord } from './records/record'
export { BatchRun, worthRetrying, type BatchOptions, type BatchSummary, type UnitInfo } from './batch'
export type { RecordFilter, RecordQuery } from './records/store'
export type { SyncResult } from './records/replicator'
export { EXPORT_FORMATS, toCsv, toJsonl, toTable, type ExportFormat } from './records/export'
export type { JobOrigin, JobPhase, PackageExpectation, PackageSource, PlatformName, ProtocolName, DeviceIdentity } from './model'
export { PROTOCOLS, PROTOCOL_NAMES } from './protocols'
export type { DetectedDevice } from './protocols'
export { listPorts, PortWatcher, bridgeName, type PortListing, type PortChange } from './ports'
export { defaultDataDir } from './util/data-dir'
export { writeFileAtomic as writePrivateFile, PRIVATE_DIR_MODE, PRIVATE_FILE_MODE } from './store/atomic-file'
export { parsePackageUrl } from './download/package-url'
export type { LockWait } from './download/package-lock'
export { redactUrl } from './util/redact'
