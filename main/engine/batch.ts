import { randomUUID } from 'node:crypto'
import { FlashlineError } from './errors'
import { TypedEmitter } from './events'
import type { DeviceIdentity, PackageExpectation } from './model'
import type { PackageInfo } from './package-cache'
import { PortWatcher, type PortListing } from './ports'

/** What a batch run needs from the bench (kept narrow so the run can be followed on its own). */
export interface BatchHost {
  importPackage(file: string, expect?: PackageExpectation): Promise<PackageInfo>
  flashUnit(request: UnitRequest): { id: string; done: Promise<UnitJob> }
  cancel(jobId: string): boolean
}

export interface UnitRequest {
  slot: Record<string, unknown>
  prepared?: PackageInfo
  manifest?: string
  retries: number
  context: { operator?: string; station?: string; batchId: string }
  /** Called once the unit has named itself (or failed to): returns whether it was seen before in this run. */
  classify(unit: { identity?: DeviceIdentity; usbSerial?: string }): { duplicate: boolean }
}

export interface UnitJob {
  id: string
  result?: 'succeeded' | 'failed' | 'cancelled'
  reason?: string
  message?: string
  error?: { kind: string; code: string }
  identity?: DeviceIdentity
  context?: { usbSerial?: string; duplicate?: boolean }
}

export interface BatchOptions {
  /** The settings every unit is flashed with, as a station file's device without id and port (protocol, baud, options, probe). */
  slot: Record<string, unknown>
  /** One image file (hashed once, before anything is flashed) or an ESP manifest. */
  file?: string
  manifest?: string
  expect?: PackageExpectation
  /** Fixed ports: every one is a slot, all start at once (up to `concurrency`). */
  ports?: string[]
  /** Station mode: a unit starts when a port whose USB VID:PID is on the allow-list appears. */
  watch?: {
    match: Array<{ vendorId: string; productId: string }>
    /** Stop after this many units have ended. */
    count?: number
    /** Injectable port listing and poll interval (tests, the app's simulated ports). */
    list?: () => Promise<PortListing[]>
    intervalMs?: number
  }
  concurrency?: number
  /** Attempts after a failure worth retrying (no sync, timeout, port lost); never after integrity, size or protection failures. */
  retries?: number
  operator?: string
  station?: string
}

export interface UnitInfo {
  port: string
  jobId: string
  /** 0 for the first attempt. */
  attempt: number
  state: 'running' | 'retrying' | 'succeeded' | 'failed' | 'cancelled'
  chipId?: string
  duplicate?: boolean
  reason?: string
  message?: string
}

export interface BatchSummary {
  id: string
  passed: number
  failed: number
  cancelled: number
  /** passed / (passed + failed); 1 when no unit ended. */
  yield: number
  unitsPerHour: number
  startedAt: string
  endedAt: string
  units: UnitInfo[]
}

export interface BatchEvents {
  unit: [UnitInfo]
  /** Station mode: a flashed unit is still on the fixture; its port takes the next unit once it is gone. */
  'waiting-removal': [{ port: string }]
  /** A port appeared that is not on the allow-list: it is never touched. */
  ignored: [{ port: string; vendorId?: string; productId?: string }]
  summary: [BatchSummary]
}

/** Failures another attempt cannot fix: the package, the image size, the chip's protection, the configuration. */
const FINAL_CODES = new Set(['image-too-large', 'stm32-protected', 'stm32-unsupported', 'mcuboot-tlv', 'manifest-no-build', 'not-mcuboot-image', 'empty-image'])

export function worthRetrying(job: UnitJob): boolean {
  if (job.result !== 'failed' || !job.error) return false
  if (job.error.kind !== 'device') return false
  if (FINAL_CODES.has(job.error.code)) return false
  return !/protect/i.test(job.error.code)
}

/**
 * One batch run: the same package onto many units, on fixed ports or as units arrive at a station.
 * Each slot runs its own jobs; a slot that fails never disturbs the others.
 */
export class BatchRun extends TypedEmitter<BatchEvents> {
  readonly id = randomUUID()
  readonly done: Promise<BatchSummary>
  private readonly units: UnitInfo[] = []
  private readonly running = new Map<string, string>() // port → job id
  private readonly queue: string[] = []
  private readonly waitingRemoval = new Set<string>()
  private readonly seen = new Map<string, string>() // unit identity → first job id
  private readonly concurrency: number
  private stopping = false
  private cancelled = false
  private finished = false
  private watcher?: PortWatcher
  private ended = 0
  private started = 0
  private readonly startedAt = Date.now()
  private finish: (s: BatchSummary) => void = () => undefined
  private prepared?: PackageInfo

  constructor(
    private readonly host: BatchHost,
    private readonly options: BatchOptions
  ) {
    super()
    if (!options.ports?.length && !options.watch) throw new FlashlineError('usage', 'bad-batch', 'a batch needs ports, or watch with an allow-list of USB VID:PID')
    if (options.ports?.length && options.watch) throw new FlashlineError('usage', 'bad-batch', 'a batch uses fixed ports or watches for arrivals, not both')
    if (options.watch && options.watch.match.length === 0) throw new FlashlineError('usage', 'bad-batch', 'station mode needs an allow-list of USB VID:PID: a port outside it is never touched')
    if (options.file === undefined && options.manifest === undefined) throw new FlashlineError('usage', 'bad-batch', 'a batch needs a file or a manifest to flash')
    const dup = options.ports?.find((p, i) => options.ports!.indexOf(p) !== i)
    if (dup) throw new FlashlineError('usage', 'bad-batch', `port ${dup} is listed twice`)
    this.concurrency = Math.max(1, options.concurrency ?? (options.ports?.length || 16))
    this.done = new Promise((resolve) => (this.finish = resolve))
  }

  /** Hashes the package once, then starts the units. Rejects (nothing flashed) when the package does not match. */
  async start(): Promise<void> {
    if (this.options.file !== undefined) this.prepared = await this.host.importPackage(this.options.file, this.options.expect)
    if (this.options.ports) {
      this.queue.push(...this.options.ports)
      this.pump()
      this.checkDone()
      return
    }
    const w = this.options.watch!
    this.watcher = new PortWatcher((change) => this.onPortChange(change.type, change.port), w.list, w.intervalMs ?? 500)
    this.watcher.start()
  }

  private onPortChange(type: 'arrived' | 'removed', port: PortListing): void {
    if (type === 'removed') {
      this.waitingRemoval.delete(port.path)
      const q = this.queue.indexOf(port.path)
      if (q >= 0) this.queue.splice(q, 1)
      return
    }
    const allowed = this.options.watch!.match.some((m) => m.vendorId.toLowerCase() === port.vendorId?.toLowerCase() && m.productId.toLowerCase() === port.productId?.toLowerCase())
    if (!allowed) {
      this.emit('ignored', { port: port.path, vendorId: port.vendorId, productId: port.productId })
      return
    }
    if (this.stopping || this.waitingRemoval.has(port.path) || this.running.has(port.path) || this.queue.includes(port.path)) return
    this.queue.push(port.path)
    this.pump()
  }

  private pump(): void {
    while (!this.stopping && this.queue.length && this.running.size < this.concurrency && !this.countReached()) {
      this.run(this.queue.shift()!, 0)
    }
  }

  private countReached(): boolean {
    const count = this.options.watch?.count
    return count !== undefined && this.started >= count
  }

  private run(port: string, attempt: number): void {
    if (attempt === 0) this.started++
    let handle: { id: string; done: Promise<UnitJob> }
    try {
      handle = this.host.flashUnit({
        slot: { ...this.options.slot, port },
        prepared: this.prepared,
        manifest: this.options.manifest,
        retries: attempt,
        context: { operator: this.options.operator, station: this.options.station, batchId: this.id },
        classify: (u) => this.classify(u)
      })
    } catch (e) {
      const unit: UnitInfo = { port, jobId: '', attempt, state: 'failed', reason: 'internal', message: (e as Error).message }
      this.ended++
      this.units.push(unit)
      this.emit('unit', unit)
      this.afterUnit(port)
      return
    }
    this.running.set(port, handle.id)
    const unit: UnitInfo = { port, jobId: handle.id, attempt, state: 'running' }
    this.emit('unit', unit)
    void handle.done.then((job) => {
      this.running.delete(port)
      const again = !this.cancelled && worthRetrying(job) && attempt < (this.options.retries ?? 0)
      const done: UnitInfo = {
        ...unit,
        state: again ? 'retrying' : (job.result ?? 'failed'),
        chipId: job.identity?.id ?? job.context?.usbSerial,
        duplicate: job.context?.duplicate,
        reason: job.reason,
        message: job.message
      }
      this.emit('unit', done)
      if (again) return this.run(port, attempt + 1)
      this.ended++
      this.units.push(done)
      this.afterUnit(port)
    })
  }

  private afterUnit(port: string): void {
    // the same unit left on the fixture is never flashed twice by accident: wait for it to go away
    if (this.watcher) {
      this.waitingRemoval.add(port)
      this.emit('waiting-removal', { port })
      if (this.options.watch?.count !== undefined && this.ended >= this.options.watch.count) this.stop()
    }
    this.pump()
    this.checkDone()
  }

  private classify(u: { identity?: DeviceIdentity; usbSerial?: string }): { duplicate: boolean } {
    const key = u.identity?.id ?? u.usbSerial
    if (!key) return { duplicate: false }
    const duplicate = this.seen.has(key)
    if (!duplicate) this.seen.set(key, key)
    return { duplicate }
  }

  /** No new units; running ones finish (the first Ctrl-C). */
  stop(): void {
    this.stopping = true
    this.watcher?.stop()
    this.queue.length = 0
    this.checkDone()
  }

  /** Stops and cancels the running units too (the second Ctrl-C). */
  cancel(): void {
    this.cancelled = true
    this.stop()
    for (const jobId of this.running.values()) this.host.cancel(jobId)
  }

  private checkDone(): void {
    if (this.finished || this.running.size > 0) return
    const portsDone = this.options.ports !== undefined && this.queue.length === 0
    if (!portsDone && !this.stopping) return
    this.finished = true
    this.watcher?.stop()
    const summary = this.summary()
    this.emit('summary', summary)
    this.finish(summary)
  }

  summary(): BatchSummary {
    const passed = this.units.filter((u) => u.state === 'succeeded').length
    const failed = this.units.filter((u) => u.state === 'failed').length
    const cancelled = this.units.filter((u) => u.state === 'cancelled').length
    const hours = Math.max(1e-9, (Date.now() - this.startedAt) / 3_600_000)
    return {
      id: this.id,
      passed,
      failed,
      cancelled,
      yield: passed + failed === 0 ? 1 : passed / (passed + failed),
      unitsPerHour: this.units.length / hours,
      startedAt: new Date(this.startedAt).toISOString(),
      endedAt: new Date().toISOString(),
      units: [...this.units]
    }
  }
}
