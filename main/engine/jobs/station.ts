import { createHash } from 'node:crypto'
import { EventEmitter } from 'node:events'
import { asFlashlineError, FlashlineError } from '../errors'
import type { FailureReason, JobReport, OutboundMessage, UpgradeOrder } from '../model'
import type { AdapterContext, PlatformAdapter } from '../platforms/adapter'
import { DeviceVersions } from '../store/device-versions'
import { Journal, type LostJob } from '../store/journal'
import { lockDir } from '../store/dir-lock'
import { Outbox, type OutboxEntry } from '../store/outbox'
import { forgetCredentials, isPlatformJob, isTerminal, type JobRecord, type PackageOnDisk, type PlatformJob } from './job-record'
import { CANCELLED, JobRunner, type FlashOutcome, type JobEvent, type DownloadProgress } from './job-runner'
import type { SlotConfig } from './slot'
import type { FlashProgress } from '../model'

/** The MQTT side as the station sees it: publish with acknowledgement. */
export interface Publisher {
  readonly connected: boolean
  publish(message: OutboundMessage): Promise<void>
  on(event: 'connect', listener: () => void): unknown
}

/** The work a job delegates; the agent provides the real download and flash, tests may substitute. */
export interface StationWork {
  download(job: PlatformJob, signal: AbortSignal, onProgress: (p: DownloadProgress) => void): Promise<PackageOnDisk>
  describeUnit?(job: JobRecord): Promise<void>
  flash(job: PlatformJob, slot: SlotConfig, pkg: PackageOnDisk, signal: AbortSignal, onProgress: (p: FlashProgress) => void, onPhase: (phase: 'proving') => void): Promise<FlashOutcome>
}

export type StationEvent =
  | JobEvent
  | { type: 'job-closed'; job: JobRecord }
  | { type: 'report-queued'; entry: OutboxEntry }
  | { type: 'report-acked'; entry: OutboxEntry }
  | { type: 'downlink-ignored'; topic: string; reason: string }
  /** The platform adapter failed on a downlink (a defect of ours, not of the message). */
  | { type: 'downlink-error'; topic: string; error: string }
  | { type: 'reply-queued'; messages: OutboundMessage[] }
  | { type: 'station-log'; message: string; level?: 'info' | 'warn' | 'error' }

export interface StationOptions {
  dataDir: string
  adapter: PlatformAdapter
  slots: SlotConfig[]
  work: StationWork
  /** Who serves this state directory, named when a second process tries to use it ("iotda-dev01"). */
  name?: string
  /** Another job (a local flash, a batch unit) is using this port: its id, or undefined when the port is free. */
  portBusy?(port: string): string | undefined
  /** Carry out orders that name no digest (no SHA-256, MD5 or checksum); refused by default. */
  allowUnverified?: boolean
}

/** How long a failed job's order id is treated as a redelivery (answered with the recorded result) rather than a retry. */
export const FAILED_REPLAY_WINDOW_MS = 5 * 60_000

/**
 * A bench station: the devices it serves (slots), the jobs running on them, and the outbox that
 * carries every report to the platform until acknowledged. Platform-neutral: the adapter decodes
 * orders and encodes reports, the publisher moves messages.
 */
export class Station extends EventEmitter {
  readonly journal: Journal
  readonly outbox: Outbox
  readonly versions: DeviceVersions
  private readonly slots = new Map<string, SlotConfig>()
  private readonly running = new Map<string, { runner: JobRunner; done: Promise<void>; abort: AbortController }>()
  private stopping = false
  /** Jobs not yet ended (running, or waiting for the platform to acknowledge their final report). */
  private readonly open = new Set<string>()
  /** The latest job per (device, order id), for recognising an order that arrives again. */
  private readonly byOrder = new Map<string, string>()
  private publisher: Publisher | null = null
  private pumping = false
  private pumpAgain = false

  constructor(private readonly options: StationOptions) {
    super()
    for (const slot of options.slots) {
      if (this.slots.has(slot.deviceId)) throw new FlashlineError('usage', 'duplicate-device', `device "${slot.deviceId}" is listed twice`)
      this.slots.set(slot.deviceId, slot)
    }
    this.releaseLock = lockDir(options.dataDir, options.name ?? 'this station', () => Outbox.releaseReserve(options.dataDir))
    const problem = (level: 'warn' | 'error', message: string) => this.log(message, level)
    this.journal = new Journal(options.dataDir, problem)
    this.outbox = new Outbox(options.dataDir, problem)
    const scan = this.journal.scan()
    this.lost = scan.lost
    const jobs = scan.jobs.filter(isPlatformJob)
    for (const job of jobs) {
      this.byOrder.set(orderKey(job.order), job.id)
      if (!isTerminal(job)) this.open.add(job.id)
    }
    this.versions = new DeviceVersions(
      options.dataDir,
      Object.fromEntries(options.slots.map((s) => [s.deviceId, s.currentVersion])),
      { problem, flashedFromJournal: () => flashedVersions(jobs) }
    )
  }

  private readonly releaseLock: () => void
  /** Job files found unreadable at start-up; answered as failed once the station is attached. */
  private lost: LostJob[]

  readonly context: AdapterContext = {
    currentVersion: (deviceId) => (this.slots.has(deviceId) ? this.versions.get(deviceId) : undefined),
    now: () => new Date()
  }

  /** Starts sending the outbox through `publisher` and resumes jobs a previous run left unfinished. */
  attach(publisher: Publisher): void {
    this.publisher = publisher
    publisher.on('connect', () => {
      const hello = this.options.adapter.onConnected(this.context)
      if (hello.length) this.queue(hello)
      void this.pump()
    })
    this.recover()
    void this.pump()
  }

  /** Jobs left unfinished by a previous run: resume them, or close them if their final report went out. */
  private recover(): void {
    const finals = new Set(this.outbox.pending().filter((e) => e.final && e.jobId).map((e) => e.jobId!))
    for (const l of this.lost.splice(0)) {
      if (!l.order) {
        this.log(`job file ${l.file} is unreadable (${l.why}) and names no order that could be answered; moved to ${l.movedTo}`, 'error')
        continue
      }
      if (finals.has(l.id)) {
        this.log(`job file ${l.file} is unreadable (${l.why}); moved to ${l.movedTo}. Its final report is still queued and will be sent`, 'warn')
        continue
      }
      this.log(`job file ${l.file} is unreadable (${l.why}); moved to ${l.movedTo}. Order ${l.order.orderId} for ${l.order.deviceId} is reported failed: its state was lost, so success cannot be claimed`, 'error')
      this.refuse(l.order, 'internal', 'the job state was lost (its journal file was unreadable); the device may or may not hold the new firmware, so the upgrade is reported failed')
    }
    for (const job of this.jobs()) {
      if (isTerminal(job)) continue
      if (job.phase === 'reporting') {
        if (!finals.has(job.id)) this.close(job) // acknowledged just before the crash
        continue
      }
      if (finals.has(job.id)) {
        // The final report was queued but the phase change was not journalled: the outcome stands.
        job.phase = 'reporting'
        this.journal.save(job)
        continue
      }
      this.log(`resuming job ${job.id} for ${job.order.deviceId} from phase "${job.phase}"`)
      this.start(job)
    }
  }

  handleDownlink(topic: string, payload: Buffer): void {
    const actions = this.options.adapter.decode(topic, payload, this.context)
    for (const action of actions) {
      if (action.type === 'ignored') this.emitEvent({ type: 'downlink-ignored', topic, reason: action.reason })
      else if (action.type === 'decode-error') this.emitEvent({ type: 'downlink-error', topic, error: action.error })
      else if (action.type === 'reply') {
        this.queue(action.messages)
        this.emitEvent({ type: 'reply-queued', messages: action.messages })
      } else if (action.type === 'refuse') {
        if (this.slots.has(action.order.deviceId) && !this.isDuplicate(action.order)) this.refuse(action.order, action.reason, action.message)
      } else this.accept(action.order)
    }
  }

  /**
   * The same order again (a QoS 1 redelivery, a platform repeating an unanswered command): never a
   * second flash. While its job runs or waits for acknowledgement, nothing is done; once it ended,
   * its recorded result is reported again (a failed one only within FAILED_REPLAY_WINDOW_MS, after
   * which the same order id is taken as the platform's retry).
   */
  private isDuplicate(order: UpgradeOrder): boolean {
    const prior = this.lastJobFor(order)
    if (!prior) return false
    if (!isTerminal(prior)) {
      this.log(`order ${order.orderId} for ${order.deviceId} is already being carried out (phase ${prior.phase}); duplicate ignored`)
      return true
    }
    const outcome = prior.outcome
    if (!outcome) return false
    if (outcome.result === 'failed' && Date.now() - prior.updatedAt > FAILED_REPLAY_WINDOW_MS) return false
    // a failed order that comes back with another package address or token (the fresh URL a refused
    // download asked for) is the platform's retry, not a redelivery
    if (outcome.result === 'failed' && prior.sourceKey !== undefined && prior.sourceKey !== sourceKeyOf(order)) return false
    this.log(`order ${order.orderId} for ${order.deviceId} was already carried out (job ${prior.id}, ${outcome.result}); reporting that result again instead of flashing twice`)
    const report: JobReport =
      outcome.result === 'succeeded'
        ? { type: 'succeeded', order: prior.order, version: outcome.version }
        : { type: 'failed', order: prior.order, reason: outcome.reason ?? 'internal', message: outcome.message ?? 'failed', currentVersion: outcome.version, replay: true }
    this.queue(this.options.adapter.encodeReport(report, this.context))
    return true
  }

  private lastJobFor(order: UpgradeOrder): PlatformJob | undefined {
    const id = this.byOrder.get(orderKey(order))
    const job = id ? this.journal.load(id) : undefined
    return job && isPlatformJob(job) ? job : undefined
  }

  private accept(order: UpgradeOrder): void {
    const slot = this.slots.get(order.deviceId)
    if (!slot) {
      this.emitEvent({ type: 'downlink-ignored', topic: '', reason: `order for ${order.deviceId}, which no slot serves` })
      return
    }
    if (this.isDuplicate(order)) return
    // a job that reached 'reporting' no longer uses the device, even if its runner has not returned yet
    if ([...this.running.values()].some((r) => r.runner.job.order?.deviceId === order.deviceId && r.runner.job.phase !== 'reporting' && !isTerminal(r.runner.job))) {
      this.refuse(order, 'busy', `device ${order.deviceId} is busy with another upgrade`)
      return
    }
    const other = this.options.portBusy?.(slot.port)
    if (other) {
      this.refuse(order, 'busy', `device ${order.deviceId} is busy: its port ${slot.port} is in use by job ${other} on this bench`)
      return
    }
    const { sha256, md5, sum32 } = order.expect
    const unverified = !sha256 && !md5 && !sum32
    if (unverified && !this.options.allowUnverified) {
      this.refuse(
        order,
        'verification-failed',
        'the order names no checksum (SHA-256, MD5 or additive checksum), so the package could not be verified; refusing to flash it (a station may accept such orders with allowUnverified)'
      )
      return
    }
    const job = this.newJob(order)
    if (unverified) {
      job.unverified = true
      this.journal.save(job)
      this.log(`order ${order.orderId} for ${order.deviceId} names no checksum; flashing it unverified because the station allows unverified packages`)
    }
    this.start(job)
  }

  /** Records an order we will not carry out and reports why, without touching the network or the device. */
  private refuse(order: UpgradeOrder, reason: FailureReason, message: string): void {
    const job = this.newJob(order)
    job.outcome = { result: 'failed', reason, message, version: job.startVersion }
    this.report(job, { type: 'failed', order, reason, message, currentVersion: job.startVersion }, true)
    forgetCredentials(job)
    job.phase = 'reporting'
    job.updatedAt = Date.now()
    job.history.push({ phase: 'reporting', at: job.updatedAt })
    this.journal.save(job)
    this.emitEvent({ type: 'phase', job })
  }

  private newJob(order: UpgradeOrder): PlatformJob {
    const now = Date.now()
    const id = `${now.toString(36)}-${createHash('sha256').update(order.platform + order.deviceId + order.orderId).digest('hex').slice(0, 10)}`
    const slot = this.slots.get(order.deviceId)
    const job: PlatformJob = {
      id,
      origin: 'platform',
      order,
      sourceKey: sourceKeyOf(order),
      slot: slot && { port: slot.port, protocol: slot.protocol },
      connectionId: this.options.name,
      phase: 'received',
      createdAt: now,
      updatedAt: now,
      startVersion: this.versions.get(order.deviceId) ?? 'unknown',
      runs: 0,
      history: [{ phase: 'received', at: now }]
    }
    this.journal.save(job)
    this.byOrder.set(orderKey(order), id)
    this.open.add(id)
    this.emitEvent({ type: 'phase', job })
    return job
  }

  private start(job: PlatformJob): void {
    const slot = this.slots.get(job.order.deviceId)
    if (!slot) {
      this.log(`job ${job.id} is for ${job.order.deviceId}, which is no longer configured; left in the journal`)
      return
    }
    const runner = new JobRunner(job, {
      journal: this.journal,
      report: (j, report, final) => this.report(j as PlatformJob, report, final),
      obtain: (j, signal, onProgress) => this.options.work.download(j as PlatformJob, signal, onProgress),
      describeUnit: this.options.work.describeUnit,
      flash: (j, pkg, signal, onProgress, onPhase) => this.options.work.flash(j as PlatformJob, slot, pkg, signal, onProgress, onPhase),
      emit: (e) => this.emitEvent(e)
    })
    const abort = new AbortController()
    if (this.stopping) abort.abort()
    const done = runner
      .run(abort.signal)
      .then((j) => {
        if (j.outcome?.result === 'succeeded') this.versions.set(job.order.deviceId, j.outcome.version)
      })
      .catch((e) => this.log(`job ${job.id} stopped: ${asFlashlineError(e).message}`))
      .finally(() => this.running.delete(job.id))
    this.running.set(job.id, { runner, done, abort })
  }

  /**
   * Cancels one running job: it stops where it is, and the platform is told it failed (cancelled by
   * the operator). False when no such job is running.
   */
  cancel(jobId: string): boolean {
    const r = this.running.get(jobId)
    if (!r || r.runner.job.phase === 'reporting') return false
    r.abort.abort(CANCELLED)
    return true
  }

  runningJobs(): PlatformJob[] {
    return [...this.running.values()].map((r) => r.runner.job as PlatformJob)
  }

  private report(job: PlatformJob, report: JobReport, final: boolean): void {
    const messages = this.options.adapter.encodeReport(report, this.context)
    if (messages.length === 0 && final) {
      // Nothing to send (the platform has no such report): the job can close right away.
      queueMicrotask(() => this.close(job))
      return
    }
    for (const entry of this.outbox.add(messages, { jobId: job.id, final })) this.emitEvent({ type: 'report-queued', entry })
    void this.pump()
  }

  private queue(messages: OutboundMessage[]): void {
    for (const entry of this.outbox.add(messages)) this.emitEvent({ type: 'report-queued', entry })
    void this.pump()
  }

  /** Sends the outbox in order, one message in flight, removing each only on PUBACK. */
  private async pump(): Promise<void> {
    if (!this.publisher) return
    if (this.pumping) {
      this.pumpAgain = true
      return
    }
    this.pumping = true
    try {
      for (;;) {
        const next = this.outbox.next()
        if (!next) break
        try {
          await this.publisher.publish(next.message)
        } catch (e) {
          this.log(`report not sent yet (${asFlashlineError(e).message}); kept in the outbox`)
          break
        }
        this.outbox.acknowledge(next.id)
        this.emitEvent({ type: 'report-acked', entry: next })
        if (next.final && next.jobId) {
          const job = this.journal.load(next.jobId)
          if (job && isPlatformJob(job)) this.close(job)
        }
      }
    } finally {
      this.pumping = false
      if (this.pumpAgain) {
        this.pumpAgain = false
        void this.pump()
      }
    }
  }

  private close(job: PlatformJob): void {
    this.open.delete(job.id)
    if (isTerminal(job)) return
    job.phase = job.outcome?.result ?? 'failed'
    job.updatedAt = Date.now()
    job.history.push({ phase: job.phase, at: job.updatedAt })
    this.journal.save(job)
    this.emitEvent({ type: 'job-closed', job })
  }

  jobs(): PlatformJob[] {
    return this.journal.all().filter(isPlatformJob)
  }

  /** How many jobs have not ended, without reading the journal. */
  get activeJobs(): number {
    return this.open.size
  }

  get busy(): boolean {
    return this.running.size > 0 || this.outbox.size > 0
  }

  /** Stops running jobs (they stay resumable in the journal). */
  async stop(): Promise<void> {
    this.stopping = true
    for (const r of this.running.values()) r.abort.abort()
    await Promise.all([...this.running.values()].map((r) => r.done))
    this.releaseLock()
  }

  private emitEvent(event: StationEvent): void {
    this.emit('event', event)
  }

  private log(message: string, level: 'info' | 'warn' | 'error' = 'info'): void {
    this.emitEvent({ type: 'station-log', message, level })
  }
}

function orderKey(order: UpgradeOrder): string {
  return `${order.platform}\n${order.deviceId}\n${order.orderId}`
}

/** The version each device was last proven to run, from the succeeded jobs (oldest first). */
function flashedVersions(jobs: PlatformJob[]): Record<string, string> {
  const out: Record<string, string> = {}
  for (const j of jobs) if (j.phase === 'succeeded' && j.outcome?.result === 'succeeded' && j.outcome.version !== 'unknown') out[j.order.deviceId] = j.outcome.version
  return out
}

/** Names where the package comes from (address and token) without keeping them: they are dropped from the journal once the job ends. */
function sourceKeyOf(order: UpgradeOrder): string {
  return createHash('sha256').update(`${order.source.url}\n${order.source.bearerToken ?? ''}`).digest('hex').slice(0, 32)
}
