/**
 * The soak's plan, made from the seed alone: which jobs run on which board, from which origin, with
 * which fault. Timing decides the rest (where exactly a kill or a broker drop lands).
 */
import type { PackageFaults } from '../../main/engine/sim/package-server'
import { unitsOf, type BoardSpec, type DeviceFault } from './boards'
import { Rng } from './rng'

export type Platform = 'iotda' | 'fogcloud' | 'wudun'

export const FAULT_KINDS = ['stall', 'lose', 'corrupt', 'http-drop', 'http-401', 'http-200', 'hash-mismatch', 'broker-drop', 'kill'] as const
export type FaultKind = (typeof FAULT_KINDS)[number]

export interface PlannedJob {
  /** Numbers the job in the plan; names its package version (`4.0.<n>`). */
  n: number
  /** A main-bench board index, or a kill episode's slot index. */
  board: number
  version: string
  size: number
  fault?: FaultKind
  device?: DeviceFault
  /** Platform jobs: what the package server does to this download. */
  http?: PackageFaults
  /** Platform jobs: the broker goes down when the job reaches this phase. */
  brokerDrop?: { phase: 'downloading' | 'flashing' | 'proving'; downMs: number }
  /** The order (or the local request) names a digest the package does not have. */
  hashMismatch?: boolean
}

export type Item =
  | { type: 'platform'; platform: Platform; job: PlannedJob; presigned: boolean }
  | { type: 'local'; job: PlannedJob; namesDigest: boolean }
  | { type: 'batch'; boards: number[]; units: PlannedJob[]; retries: number }

export interface Episode {
  n: number
  slots: BoardSpec[]
  items: Item[]
  /** SIGKILL the first process when item `target` reaches `phase` (plus `delayMs`). */
  kill: { target: number; phase: string; delayMs: number }
}

export interface Plan {
  seed: number
  /** Jobs planned (first attempts; a batch's retries add more). */
  jobs: number
  boards: Array<BoardSpec & { platform: Platform }>
  /** Each main board's work, in order; a batch appears in the lane of every board it uses. */
  lanes: Item[][]
  /** Every item of the main bench in plan order. */
  items: Item[]
  episodes: Episode[]
}

/** The eight slots of the main bench; each also serves one platform device. */
export const MAIN_BOARDS: Array<BoardSpec & { platform: Platform }> = [
  { protocol: 'ymodem', personality: 'st-iap', platform: 'iotda' },
  { protocol: 'ymodem', personality: 'lrz', platform: 'fogcloud' },
  { protocol: 'ymodem', personality: 'mico', platform: 'wudun' },
  { protocol: 'stm32', personality: 'f1', platform: 'iotda' },
  { protocol: 'stm32', personality: 'f1-crc', platform: 'fogcloud' },
  { protocol: 'stm32', personality: 'f4', platform: 'wudun' },
  { protocol: 'mcuboot', personality: 'mcuboot', platform: 'iotda' },
  { protocol: 'mcuboot', personality: 'zephyr', platform: 'fogcloud' }
]

const EPISODE_SPECS: BoardSpec[] = [
  { protocol: 'ymodem', personality: 'st-iap' },
  { protocol: 'stm32', personality: 'f1-crc' },
  { protocol: 'mcuboot', personality: 'mcuboot' }
]

/** One kill episode (two jobs in a child process) for about every this many jobs. */
const JOBS_PER_EPISODE = 50

export function makePlan(seed: number, jobs: number): Plan {
  const rng = new Rng(seed)
  const episodeCount = Math.max(1, Math.round(jobs / JOBS_PER_EPISODE))
  let n = 0
  const newJob = (board: number, spec: BoardSpec): PlannedJob => {
    n++
    return { n, board, version: `4.0.${n}`, size: rng.int(1024, 6144) + (spec.protocol === 'stm32' ? 0 : rng.int(0, 3)) }
  }
  // a hung YMODEM device costs the flasher 10 attempts × 10 s: one in a big run, early, where other boards have work to overlap it
  let ymodemStalls = jobs >= 300 ? 1 : 0

  /** A device-side fault: `forced` picks the kind, else it is drawn (hangs are kept rare where the flasher waits long). */
  const deviceFault = (spec: BoardSpec, size: number, forced?: DeviceFault['kind']): DeviceFault => {
    for (;;) {
      // MCUboot's slow answers (3 s a lost answer, 15 s a hung device) are kept rarer, or its two boards would set the pace
      const kind = forced ?? rng.weighted(spec.protocol === 'mcuboot' ? { stall: 0.3, corrupt: 0.6, lose: 1.2 } : { stall: 1, corrupt: 1.2, lose: 1.2 })
      const units = unitsOf(spec.protocol, size)
      if (kind === 'lose') return { kind, afterBytes: rng.int(64, Math.max(65, Math.floor(size / 2))) }
      if (kind === 'corrupt') {
        // not MCUboot's first answer: the host waits 30 s for it (the slot erase)
        const at = rng.int(spec.protocol === 'mcuboot' ? Math.min(2, units) : 1, units)
        // instead of the ACK: a 'C', a NAK, or line noise
        if (spec.protocol === 'ymodem') return { kind, at, byte: { C: 0x43, NAK: 0x15, noise: 0x86 }[rng.weighted({ C: 2, NAK: 2, noise: 1 })] }
        if (spec.protocol === 'stm32') return { kind, at, byte: rng.pick([0xf9, 0x1f]) }
        return { kind, at }
      }
      // a hung MCUboot costs 5 attempts × 3 s
      if (!forced && spec.protocol === 'ymodem') {
        if (ymodemStalls === 0 || n > jobs / 4 || rng.next() < 0.5) continue
        ymodemStalls--
      }
      return { kind, at: rng.int(1, Math.max(1, units - 1)) }
    }
  }

  const platformFault = (job: PlannedJob, spec: BoardSpec, kind: FaultKind | 'device'): void => {
    if (kind === 'device' || kind === 'stall' || kind === 'lose' || kind === 'corrupt') {
      job.device = deviceFault(spec, job.size, kind === 'device' ? undefined : kind)
      job.fault = job.device.kind
      return
    }
    job.fault = kind
    if (kind === 'http-drop') job.http = { dropAfterBytes: rng.int(100, job.size - 100), dropTimes: 1 }
    else if (kind === 'http-200') job.http = { dropAfterBytes: rng.int(100, job.size - 100), dropTimes: 1, ignoreRange: true }
    else if (kind === 'http-401') job.http = { status: 401, statusTimes: 1 }
    else if (kind === 'hash-mismatch') job.hashMismatch = true
    else if (kind === 'broker-drop') job.brokerDrop = { phase: rng.pick(['downloading', 'flashing', 'proving'] as const), downMs: rng.int(200, 1500) }
  }

  const items: Item[] = []
  const mainJobs = jobs - 2 * episodeCount
  while (n < mainJobs) {
    const type = rng.weighted({ platform: 45, local: 30, batch: 25 })
    if (type === 'platform') {
      const platform = rng.pick(['iotda', 'fogcloud', 'wudun'] as const)
      const board = rng.pick(MAIN_BOARDS.flatMap((b, i) => (b.platform === platform ? [i] : [])))
      const spec = MAIN_BOARDS[board]!
      const job = newJob(board, spec)
      const kind = rng.weighted<FaultKind | 'none' | 'device'>({ none: 45, device: 20, 'http-drop': 7, 'http-401': 5, 'http-200': 6, 'hash-mismatch': platform === 'fogcloud' ? 0 : 6, 'broker-drop': 5 })
      if (kind !== 'none') platformFault(job, spec, kind)
      items.push({ type, platform, job, presigned: rng.next() < 0.4 })
    } else if (type === 'local') {
      const board = rng.int(0, MAIN_BOARDS.length - 1)
      const spec = MAIN_BOARDS[board]!
      const job = newJob(board, spec)
      const kind = rng.weighted({ none: 55, device: 30, 'hash-mismatch': 8 })
      if (kind === 'device') {
        job.device = deviceFault(spec, job.size)
        job.fault = job.device.kind
      } else if (kind === 'hash-mismatch') {
        job.fault = 'hash-mismatch'
        job.hashMismatch = true
      }
      items.push({ type, job, namesDigest: job.hashMismatch === true || rng.next() < 0.5 })
    } else {
      const protocol = rng.pick(['ymodem', 'stm32', 'mcuboot'] as const)
      const group = MAIN_BOARDS.flatMap((b, i) => (b.protocol === protocol ? [i] : []))
      const boards = rng.sample(group, rng.int(2, group.length)).sort((a, b) => a - b)
      const first = newJob(boards[0]!, MAIN_BOARDS[boards[0]!]!)
      const units = boards.map((board, i): PlannedJob => {
        const unit: PlannedJob = i === 0 ? first : { n: ++n, board, version: first.version, size: first.size }
        if (rng.next() < 0.4) {
          unit.device = deviceFault(MAIN_BOARDS[board]!, unit.size)
          unit.fault = unit.device.kind
        }
        return unit
      })
      items.push({ type, boards, units, retries: 1 })
    }
  }
  cover(items, rng, platformFault)

  const episodes: Episode[] = []
  for (let e = 0; e < episodeCount; e++) episodes.push(makeEpisode(e, rng, newJob))

  const lanes: Item[][] = MAIN_BOARDS.map(() => [])
  for (const item of items) {
    const boards = item.type === 'batch' ? item.boards : [item.job.board]
    for (const b of boards) lanes[b]!.push(item)
  }
  return { seed, jobs: n, boards: MAIN_BOARDS, lanes, items, episodes }
}

/** Makes sure every fault kind but the kill (every episode has one) is planned at least once. */
function cover(items: Item[], rng: Rng, platformFault: (job: PlannedJob, spec: BoardSpec, kind: FaultKind) => void): void {
  const planned = (kind: FaultKind) => items.some((i) => (i.type === 'batch' ? i.units.some((u) => u.fault === kind) : i.job.fault === kind))
  for (const kind of FAULT_KINDS) {
    if (kind === 'kill' || planned(kind)) continue
    const candidates = items.filter(
      (i): i is Extract<Item, { type: 'platform' }> =>
        i.type === 'platform' &&
        i.job.fault === undefined &&
        (kind !== 'hash-mismatch' || i.platform !== 'fogcloud') &&
        // a covering stall goes where the flasher gives up fastest
        (kind !== 'stall' || MAIN_BOARDS[i.job.board]!.protocol === 'stm32')
    )
    if (!candidates.length) continue
    const item = rng.pick(candidates)
    platformFault(item.job, MAIN_BOARDS[item.job.board]!, kind)
  }
}

function makeEpisode(e: number, rng: Rng, newJob: (board: number, spec: BoardSpec) => PlannedJob): Episode {
  const batch = rng.next() < 0.25
  const slots: BoardSpec[] = batch ? Array(2).fill(rng.pick(EPISODE_SPECS)) : [rng.pick(EPISODE_SPECS), rng.pick(EPISODE_SPECS)]
  const items: Item[] = []
  if (batch) {
    const first = newJob(0, slots[0]!)
    items.push({ type: 'batch', boards: [0, 1], units: [first, { ...newJob(1, slots[1]!), version: first.version, size: first.size }], retries: 0 })
  } else {
    const platforms = rng.sample(['iotda', 'fogcloud', 'wudun'] as const, 2)
    slots.forEach((spec, slot) => {
      const job = newJob(slot, spec)
      if (rng.next() < 0.65) items.push({ type: 'platform', platform: platforms[slot]!, job, presigned: rng.next() < 0.4 })
      else items.push({ type: 'local', job, namesDigest: rng.next() < 0.5 })
    })
  }
  for (const item of items) for (const j of item.type === 'batch' ? item.units : [item.job]) j.fault = 'kill'
  const target = rng.int(0, items.length - 1)
  const t = items[target]!
  // flashing lasts longest, so most kills land there; the others are short and often missed
  const phase = t.type === 'platform' ? rng.weighted({ downloading: 1, flashing: 4, proving: 1, reporting: 1 }) : t.type === 'local' ? rng.weighted({ checking: 1, flashing: 4, proving: 1 }) : rng.weighted({ flashing: 4, proving: 1 })
  return { n: e, slots, items, kill: { target, phase, delayMs: rng.int(0, 20) } }
}
