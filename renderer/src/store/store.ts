import type { AppEvent, AppInfo, BatchView, ConnectionView, JobView, LogLineView, PackageView, PortInfo, ProfileView, Settings, SlotView } from '../../../preload/contract'

/**
 * The renderer's state, kept outside React: engine events are applied as they arrive, and the
 * components that read what changed are told once per animation frame. Every topic has its own
 * listeners, so a progress event for one job wakes the one tile showing that job, nothing else.
 *
 * Values handed out are never mutated afterwards (a changed job is a new object), so they serve as
 * useSyncExternalStore snapshots directly.
 */

export type Schedule = (flush: () => void) => void

/**
 * Flushes in an animation frame, at most once per `minIntervalMs`: the engine sends each job's
 * progress at most 10 times a second, so a 16-slot bench would otherwise re-layout and repaint on
 * every single frame for changes nobody can read that fast. A hidden window (no frames) still flushes.
 */
export function frameSchedule(minIntervalMs = 100): Schedule {
  let last = -Infinity
  return (flush) => {
    const inFrame = (): void => {
      const run = (): void => {
        last = performance.now()
        flush()
      }
      if (typeof requestAnimationFrame === 'function' && (typeof document === 'undefined' || document.visibilityState !== 'hidden')) requestAnimationFrame(run)
      else setTimeout(run, 0)
    }
    const wait = last + minIntervalMs - performance.now()
    if (wait > 0) setTimeout(inFrame, wait)
    else inFrame()
  }
}

export interface Notice {
  id: number
  kind: 'batch-ended' | 'job-failed'
  /** The host's words (English): shown only when the page cannot say it in its own language. */
  text: string
  /** job-failed: the job that failed (the host sends its job event right before the notice). */
  jobId?: string
  /** batch-ended: the batch's counts when it ended (its batch event comes right before the notice). */
  counts?: { passed: number; failed: number; cancelled: number }
}

/** Finished jobs kept in memory for the views (the records hold all of them). */
const KEEP_FINISHED = 300
const KEEP_LOG_LINES = 500
const KEEP_NOTICES = 5

export const topic = {
  job: (id: string) => `job:${id}`,
  slotJob: (slotId: string) => `slot-job:${slotId}`,
  portJob: (port: string) => `port-job:${port}`,
  jobs: 'jobs',
  slots: 'slots',
  ports: 'ports',
  connections: 'connections',
  batch: 'batch',
  settings: 'settings',
  info: 'info',
  logs: 'logs',
  notices: 'notices',
  profiles: 'profiles',
  packages: 'packages',
  local: 'local',
  link: 'link'
} as const

/** The line to the engine: IPC never drops; the `flashline ui` socket can (then the page resyncs). */
export type LinkState = 'connecting' | 'ok' | 'lost' | 'refused'

const FINISHED = new Set(['succeeded', 'failed', 'cancelled'])
export const isFinished = (job: JobView): boolean => FINISHED.has(job.phase)

/** State the renderer keeps for itself (what the operator chose), not from the engine. */
export interface LocalState {
  /** The package the bench flashes (sha256). */
  benchPackage?: string
  /** The serial number scanned for the next flash or batch. */
  scannedSerial?: string
}

export class AppStore {
  info: AppInfo | null = null
  settings: Settings | null = null
  slots: SlotView[] = []
  ports: PortInfo[] = []
  connections: ConnectionView[] = []
  batch: BatchView | null = null
  profiles: ProfileView[] = []
  packages: PackageView[] = []
  logs: LogLineView[] = []
  notices: Notice[] = []
  /** Jobs newest first (re-sorted on flush when the set of jobs or a phase changed). */
  jobList: JobView[] = []
  local: LocalState = {}
  link: LinkState = 'connecting'
  /** The bridge's words when the link is lost or refused. */
  linkMessage = ''

  private readonly jobs = new Map<string, JobView>()
  private readonly slotJob = new Map<string, string>()
  private readonly portJob = new Map<string, string>()
  private readonly logRing: LogLineView[] = []
  /** The last job seen failing outside a batch: what a 'job-failed' notice right after it is about. */
  private lastFailure?: string
  private noticeSeq = 0
  private readonly dirty = new Set<string>()
  private readonly listeners = new Map<string, Set<() => void>>()
  private scheduled = false
  /** How many flushes notified anyone (tests and the performance check read it). */
  flushes = 0

  constructor(private readonly schedule: Schedule = frameSchedule()) {}

  subscribe(key: string, listener: () => void): () => void {
    let set = this.listeners.get(key)
    if (!set) this.listeners.set(key, (set = new Set()))
    set.add(listener)
    return () => {
      set.delete(listener)
      if (set.size === 0) this.listeners.delete(key)
    }
  }

  job(id: string | undefined): JobView | undefined {
    return id === undefined ? undefined : this.jobs.get(id)
  }

  /** The job a slot shows: the newest job that ran on it (the slot's own jobId until one is seen). */
  jobIdOfSlot(slotId: string): string | undefined {
    return this.slotJob.get(slotId) ?? this.slots.find((s) => s.id === slotId)?.jobId
  }

  jobIdOfPort(port: string): string | undefined {
    return this.portJob.get(port)
  }

  /** Applies one engine event now; listeners hear of it at the next frame. */
  apply(event: AppEvent): void {
    switch (event.type) {
      case 'job':
        this.putJob(event.job)
        break
      case 'progress': {
        const job = this.jobs.get(event.jobId)
        if (!job || isFinished(job)) break
        this.jobs.set(job.id, { ...job, progress: event.progress })
        this.mark(topic.job(job.id))
        break
      }
      case 'log':
        this.logRing.push(event.line)
        if (this.logRing.length > KEEP_LOG_LINES) this.logRing.splice(0, this.logRing.length - KEEP_LOG_LINES)
        this.mark(topic.logs)
        break
      case 'connection': {
        const i = this.connections.findIndex((c) => c.id === event.connection.id)
        this.connections = i < 0 ? [...this.connections, event.connection] : this.connections.map((c, j) => (j === i ? event.connection : c))
        this.mark(topic.connections)
        break
      }
      case 'batch':
        this.setBatch(event.batch)
        break
      case 'ports':
        this.ports = event.ports
        this.mark(topic.ports)
        break
      case 'slots':
        this.setSlots(event.slots)
        break
      case 'settings':
        this.setSettings(event.settings)
        break
      case 'notice': {
        const notice: Notice = { id: ++this.noticeSeq, kind: event.kind, text: event.text }
        if (event.kind === 'job-failed' && this.lastFailure) notice.jobId = this.lastFailure
        if (event.kind === 'batch-ended' && this.batch?.state === 'ended') notice.counts = { passed: this.batch.passed, failed: this.batch.failed, cancelled: this.batch.cancelled }
        this.lastFailure = undefined
        this.notices = [...this.notices, notice].slice(-KEEP_NOTICES)
        this.mark(topic.notices)
        break
      }
    }
  }

  putJob(incoming: JobView): void {
    const old = this.jobs.get(incoming.id)
    // a late answer (listJobs) must not roll a job back
    if (old && old.updatedAt > incoming.updatedAt) return
    // job events carry no progress of their own while progress events keep coming: keep the last one
    const job = incoming.progress === undefined && old?.progress && !isFinished(incoming) ? { ...incoming, progress: old.progress } : incoming
    this.jobs.set(job.id, job)
    if (job.result === 'failed' && !old?.result && job.origin !== 'batch') this.lastFailure = job.id
    this.mark(topic.job(job.id))
    if (!old || old.phase !== job.phase) this.mark(topic.jobs)
    if (job.slotId !== undefined) this.claim(this.slotJob, job.slotId, job, topic.slotJob(job.slotId))
    if (job.port !== undefined) this.claim(this.portJob, job.port, job, topic.portJob(job.port))
  }

  private claim(map: Map<string, string>, key: string, job: JobView, t: string): void {
    const current = map.get(key)
    if (current === job.id) return
    const other = current === undefined ? undefined : this.jobs.get(current)
    if (other && other.createdAt > job.createdAt) return
    map.set(key, job.id)
    this.mark(t)
  }

  setInfo(info: AppInfo): void {
    this.info = info
    this.mark(topic.info)
  }

  setSettings(settings: Settings): void {
    this.settings = settings
    this.mark(topic.settings)
  }

  setSlots(slots: SlotView[]): void {
    this.slots = slots
    this.mark(topic.slots)
    for (const s of slots) if (s.jobId && !this.slotJob.has(s.id)) this.mark(topic.slotJob(s.id))
  }

  setPorts(ports: PortInfo[]): void {
    this.ports = ports
    this.mark(topic.ports)
  }

  setConnections(connections: ConnectionView[]): void {
    this.connections = connections
    this.mark(topic.connections)
  }

  setBatch(batch: BatchView | null): void {
    this.batch = batch
    this.mark(topic.batch)
  }

  setProfiles(profiles: ProfileView[]): void {
    this.profiles = profiles
    this.mark(topic.profiles)
  }

  setPackages(packages: PackageView[]): void {
    this.packages = packages
    this.mark(topic.packages)
  }

  setLocal(patch: Partial<LocalState>): void {
    this.local = { ...this.local, ...patch }
    this.mark(topic.local)
  }

  setLink(state: LinkState, message = ''): void {
    if (state === this.link && message === this.linkMessage) return
    this.link = state
    this.linkMessage = message
    this.mark(topic.link)
  }

  dismissNotice(id: number): void {
    this.notices = this.notices.filter((n) => n.id !== id)
    this.mark(topic.notices)
  }

  private mark(key: string): void {
    this.dirty.add(key)
    if (!this.scheduled) {
      this.scheduled = true
      this.schedule(() => this.flush())
    }
  }

  /** Tells every listener whose topic changed since the last flush, once. */
  flush(): void {
    this.scheduled = false
    if (this.dirty.size === 0) return
    const keys = [...this.dirty]
    this.dirty.clear()
    if (keys.includes(topic.jobs)) this.rebuildJobList()
    if (keys.includes(topic.logs)) this.logs = this.logRing.slice()
    this.flushes++
    for (const key of keys) {
      const set = this.listeners.get(key)
      if (set) for (const listener of [...set]) listener()
    }
  }

  private rebuildJobList(): void {
    const all = [...this.jobs.values()].sort((a, b) => b.createdAt - a.createdAt)
    const finished = all.filter(isFinished)
    if (finished.length > KEEP_FINISHED) {
      const referenced = new Set([...this.slotJob.values(), ...this.portJob.values()])
      for (const job of finished.slice(KEEP_FINISHED)) if (!referenced.has(job.id)) this.jobs.delete(job.id)
    }
    this.jobList = all.filter((j) => this.jobs.has(j.id))
  }
}
