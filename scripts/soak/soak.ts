/**
 * The soak: randomized jobs of every origin through the engine's front door (`Bench`) on eight
 * simulated slots, with faults injected in the devices, the port, the package server, the broker and
 * the process, checked against the two promises: a success means the device holds the verified
 * package, and nothing is lost (platform reports, records).
 */
import { createHash } from 'node:crypto'
import { appendFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Bench, type JobInfo } from '../../main/engine'
import { registerBuiltinSimPorts, registerSimBoard } from '../../main/engine/sim/sim-ports'
import { armDeviceFault, disarm, makePackage, slotSettings, SoakBoard, type SimDevice } from './boards'
import { runEpisode } from './episode'
import { Ledger, type Expectation } from './ledger'
import { FAULT_KINDS, makePlan, type FaultKind, type Item, type Plan, type Platform, type PlannedJob } from './plan'
import { World, type Order, type PlatformDevice } from './world'

export interface SoakOptions {
  seed: number
  jobs: number
  /** Where the data dirs go (default: a fresh temporary directory, removed afterwards unless `keep`). */
  dir?: string
  keep?: boolean
  /** Progress lines. */
  log?: (line: string) => void
  /** How long one job (or one kill episode) may take to settle before it is given up on. */
  settleMs?: number
}

export interface SoakReport {
  seed: number
  planned: number
  /** Every job the engine ran, retries of batch units and both processes of a kill episode included. */
  jobs: number
  byOrigin: Record<'platform' | 'local' | 'batch', number>
  successes: number
  failures: number
  cancelled: number
  /** Failed jobs by reason, each with the error codes behind it. */
  failuresByReason: Record<string, { count: number; codes: Record<string, number> }>
  /** How often each fault actually happened (not just planned). */
  faults: Record<FaultKind, number>
  falseSuccesses: string[]
  lostReports: string[]
  lostRecords: string[]
  /** Orders the broker never saw the engine acknowledge (a broker outage or a kill at that moment): the platform's to send again. */
  lostInTransit: string[]
  notes: string[]
  runtimeMs: number
  dir: string
}

let runs = 0

export async function runSoak(options: SoakOptions): Promise<SoakReport> {
  const started = Date.now()
  const log = options.log ?? (() => undefined)
  const settleMs = options.settleMs ?? 240_000
  const plan = makePlan(options.seed, options.jobs)
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'flashline-soak-'))
  mkdirSync(join(dir, 'packages'), { recursive: true })
  const ledger = new Ledger()
  const tag = `soak${process.pid}r${++runs}`

  // platform devices: one per main board on its platform, one per FogCloud job (a fresh connection each), two per kill episode
  const boardDevice = (i: number): string => `${tag}-${plan.boards[i]!.platform}-b${i}`
  const fogDevice = (n: number): string => `${tag}fog${n}`
  const episodeDevice = (platform: Platform, e: number, slot: number): string => `${tag}-${platform}-e${e}s${slot}`
  const devices: PlatformDevice[] = plan.boards.flatMap((b, i) => (b.platform === 'fogcloud' ? [] : [World.device(b.platform, boardDevice(i))]))
  for (const item of plan.items) if (item.type === 'platform' && item.platform === 'fogcloud') devices.push(World.device('fogcloud', fogDevice(item.job.n)))
  for (const ep of plan.episodes) for (const item of ep.items) if (item.type === 'platform') devices.push(World.device(item.platform, episodeDevice(item.platform, ep.n, item.job.board)))
  const world = await World.start(dir, devices)

  registerBuiltinSimPorts()
  const boards = plan.boards.map((spec, i) => {
    const board = new SoakBoard(i, `${tag}-${i}`, spec, createHash('sha256').update(`${tag}-${i}`).digest().subarray(0, 12))
    registerSimBoard(board.name, async () => board)
    board.on('fault', () => ledger.faults.lose++)
    board.device.on('log', (m: string) => appendFileSync(join(dir, 'devices.log'), `${new Date().toISOString()} board ${i}: ${m}\n`))
    board.device.on('error-log', (m: string) => appendFileSync(join(dir, 'devices.log'), `${new Date().toISOString()} board ${i}: ${m}\n`))
    countDeviceFaults(board.device, ledger)
    return board
  })
  const bench = new Bench({ dataDir: join(dir, 'main'), station: 'soak', operator: 'soak' })
  // what the engine said besides the jobs' own logs (connections, stations, records), for a look afterwards
  const benchLog = join(dir, 'main', 'bench.log')
  bench.on('log', (l) => l.source !== 'job' && appendFileSync(benchLog, `${l.time} ${l.level} ${l.source}${l.connectionId ? ` ${l.connectionId}` : ''}: ${l.message}\n`))
  boards.forEach((b) => bench.addSlot(`b${b.index}`, slotSettings(b.spec, b.port)))

  // what each job was meant to flash: by job id (local), batch id, order id
  const localExpect = new Map<string, Expectation>()
  const batchExpect = new Map<string, { pkg: Buffer; faults: Map<string, FaultKind | undefined> }>()
  const brokerDrops = new Map<string, NonNullable<PlannedJob['brokerDrop']>>()
  let episodeActive = false
  const platformBusy = (): boolean => episodeActive || bench.listConnections().some((c) => c.activeJobs > 0)
  const faultOfOrder = new Map<string, FaultKind | undefined>()

  bench.on('job', (j: JobInfo) => {
    const fault = j.orderId ? faultOfOrder.get(j.orderId) : j.context?.batchId ? batchExpect.get(j.context.batchId)?.faults.get(j.port ?? '') : localExpect.get(j.id)?.fault
    ledger.job({ id: j.id, lane: 'main', origin: j.origin, phase: j.phase, result: j.result, reason: j.reason, code: j.error?.code, orderId: j.orderId, fault })
    const drop = j.orderId !== undefined ? brokerDrops.get(j.orderId) : undefined
    if (drop && j.phase === drop.phase) {
      brokerDrops.delete(j.orderId!)
      void world.dropBroker(drop.downMs, platformBusy).then((counted) => counted && ledger.faults['broker-drop']++)
    }
    if (j.result !== 'succeeded') return
    let x: Expectation | undefined
    if (j.orderId !== undefined) x = [...ledger.orders.values()].find((o) => o.order.orderId === j.orderId && o.lane === 'main')?.expectation
    else if (j.context?.batchId !== undefined) {
      const b = batchExpect.get(j.context.batchId)
      const board = boards.find((bd) => bd.port === j.port)
      x = b && board ? { device: board.device, pkg: b.pkg, what: `batch unit on ${j.port}` } : undefined
    } else x = localExpect.get(j.id)
    ledger.checkSuccess(j.id, x)
  })

  const writePackage = (pkg: Buffer, version: string): string => {
    const file = join(dir, 'packages', `fw-${version}.bin`)
    writeFileSync(file, pkg)
    return file
  }
  const arm = (board: SoakBoard, job: PlannedJob): void => {
    if (!job.device) return
    if (job.device.kind === 'lose') board.loseAfterBytes = job.device.afterBytes
    else armDeviceFault(board.device, job.device)
  }
  const clear = (board: SoakBoard): void => {
    board.loseAfterBytes = undefined
    disarm(board.device)
  }

  async function runLocal(item: Extract<Item, { type: 'local' }>): Promise<void> {
    const { job } = item
    const board = boards[job.board]!
    const pkg = makePackage(board.spec, job.version, job.size, job.n)
    const file = writePackage(pkg, job.version)
    const digest = job.hashMismatch ? sha256(Buffer.concat([pkg, Buffer.from('x')])) : sha256(pkg)
    arm(board, job)
    const handle = bench.flash({ slot: `b${board.index}`, file, expect: item.namesDigest ? { sha256: digest } : undefined, origin: 'local', context: { serialNumber: `SN-${job.n}` } })
    localExpect.set(handle.id, { device: board.device, pkg, hashMismatch: job.hashMismatch, fault: job.fault, what: `local job ${job.n} on board ${board.index}` })
    const info = await deadline(handle.done, settleMs)
    if (!info) ledger.notes.push(`local job ${handle.id} (plan ${job.n}) did not end within ${settleMs / 1000} s`)
    else if (job.hashMismatch && info.reason === 'verification-failed') ledger.faults['hash-mismatch']++
    clear(board)
  }

  async function runPlatform(item: Extract<Item, { type: 'platform' }>): Promise<void> {
    const { job, platform } = item
    const board = boards[job.board]!
    const pkg = makePackage(board.spec, job.version, job.size, job.n)
    arm(board, job)
    const name = platform === 'fogcloud' ? fogDevice(job.n) : boardDevice(board.index)
    const order = world.order(platform, name, { version: job.version, pkg, http: job.http, hashMismatch: job.hashMismatch, presigned: item.presigned })
    faultOfOrder.set(order.orderId, job.fault)
    const expectation: Expectation = { device: board.device, pkg, hashMismatch: job.hashMismatch, fault: job.fault, what: `${platform} order ${job.n} on board ${board.index}` }
    ledger.order(platform, { order, lane: 'main', expectation })
    if (job.brokerDrop) brokerDrops.set(order.orderId, job.brokerDrop)
    let connectionId = connectionOf(board.index)
    if (platform === 'fogcloud') {
      // FogCloud pushes an order when the device posts its version, which it does on connecting
      connectionId = `fog-${job.n}`
      try {
        await bench.addConnection(world.connection('fogcloud', name, slotSettings(board.spec, board.port)), { id: connectionId })
      } catch (e) {
        ledger.notes.push(`FogCloud connection for plan job ${job.n} failed: ${(e as Error).message}`)
        ledger.giveUp(ledger.orders.get(`fogcloud:${order.orderId}`)!, 'never sent: the connection failed')
      }
    }
    await settleOrder(order, connectionId)
    countHttpFaults(order, job)
    if (job.hashMismatch && ledger.jobs.size && [...ledger.jobs.values()].some((j) => j.orderId === order.orderId && j.reason === 'verification-failed')) ledger.faults['hash-mismatch']++
    if (platform === 'fogcloud') await bench.removeConnection(connectionId)
    brokerDrops.delete(order.orderId)
    clear(board)
  }

  /** Waits until the engine's job for the order has ended, the cloud closed the task and the connection's outbox is empty. */
  async function settleOrder(order: Order, connectionId: string): Promise<void> {
    const key = `${order.platform}:${order.orderId}`
    const until = Date.now() + settleMs
    let sentSince: number | undefined
    let upSince = Date.now()
    let settledSince: number | undefined
    for (;;) {
      const jobs = [...ledger.jobs.values()].filter((j) => j.orderId === order.orderId)
      const ended = jobs.length > 0 && jobs.every((j) => j.result !== undefined)
      const outbox = bench.listConnections().find((c) => c.id === connectionId)?.outbox ?? 0
      if (order.state() === 'abandoned') return
      // settled for a moment: a cloud may still answer the last report (FogCloud pushes again on firmware.get)
      if (ended && order.state() !== 'open' && outbox === 0) {
        settledSince ??= Date.now()
        if (Date.now() - settledSince >= 300) return
      } else settledSince = undefined
      if (!world.brokerUp) upSince = Date.now()
      if (jobs.length === 0 && order.sent() && !world.delivered.has(key)) {
        sentSince ??= Date.now()
        // the order went out, the broker has been up a while, and the engine never acknowledged it
        if (Date.now() - sentSince > 10_000 && Date.now() - upSince > 5_000) {
          ledger.giveUp(ledger.orders.get(key)!, 'the broker never saw the engine acknowledge the order')
          return
        }
      }
      if (Date.now() > until) {
        ledger.notes.push(`${order.detail()} did not settle within ${settleMs / 1000} s (engine: ${jobs.map((j) => `${j.id} ${j.result ?? j.phase}`).join(', ') || 'no job'}; outbox ${outbox})`)
        return
      }
      await sleep(25)
    }
  }

  function countHttpFaults(order: Order, job: PlannedJob): void {
    const mine = world.server.requests.filter((r) => r.path.includes(`/${order.orderId}/`))
    if (job.fault === 'http-drop' && mine.some((r) => r.fault === 'drop')) ledger.faults['http-drop']++
    if (job.fault === 'http-200' && mine.some((r) => r.fault === 'ignored-range')) ledger.faults['http-200']++
    if (job.fault === 'http-401' && mine.some((r) => r.fault === 'status' && r.status === 401)) ledger.faults['http-401']++
  }

  async function runBatch(item: Extract<Item, { type: 'batch' }>): Promise<void> {
    const first = item.units[0]!
    const spec = boards[first.board]!.spec
    const pkg = makePackage(spec, first.version, first.size, first.n)
    const file = writePackage(pkg, first.version)
    for (const u of item.units) arm(boards[u.board]!, u)
    const { port: _port, ...slot } = slotSettings(spec, '')
    if (spec.protocol === 'ymodem') slot['menuCommand'] = '1\r' // one of the YMODEM boards has a menu; the others ignore it
    const run = bench.batch({ slot, file, ports: item.boards.map((b) => boards[b]!.port), retries: item.retries, operator: 'soak' })
    batchExpect.set(run.id, { pkg, faults: new Map(item.units.map((u) => [boards[u.board]!.port, u.fault])) })
    try {
      await run.start()
      if (!(await deadline(run.done, settleMs))) ledger.notes.push(`batch ${run.id} did not end within ${settleMs / 1000} s`)
    } catch (e) {
      ledger.notes.push(`batch of plan job ${first.n} did not start: ${(e as Error).message}`)
    }
    for (const u of item.units) clear(boards[u.board]!)
  }

  // a batch needs all its boards: every lane that reaches it waits until the last one arrives
  const gates = new Map<Item, { arrived: number; done: Promise<void>; open: () => void }>()
  function batchGate(item: Extract<Item, { type: 'batch' }>): Promise<void> {
    let g = gates.get(item)
    if (!g) {
      let open!: () => void
      const ready = new Promise<void>((r) => (open = r))
      g = { arrived: 0, open, done: ready.then(() => runBatch(item)) }
      gates.set(item, g)
    }
    if (++g.arrived === item.boards.length) g.open()
    return g.done
  }

  let ended = 0
  const total = plan.jobs
  const progress = setInterval(() => {
    const now = [...ledger.jobs.values()].filter((j) => j.result !== undefined).length
    if (now !== ended) log(`[soak] ${now} jobs ended (${total} planned), ${Math.round((Date.now() - started) / 1000)} s`)
    ended = now
  }, 5000)

  const connections: Array<Promise<unknown>> = []
  for (const [i, b] of plan.boards.entries()) {
    if (b.platform === 'fogcloud') continue
    connections.push(bench.addConnection(world.connection(b.platform, boardDevice(i), slotSettings(b, boards[i]!.port)), { id: connectionOf(i) }))
  }
  await Promise.all(connections)

  const lanes = plan.lanes.map(async (items) => {
    for (const item of items) {
      if (item.type === 'batch') await batchGate(item)
      else if (item.type === 'local') await runLocal(item)
      else await runPlatform(item)
    }
  })
  const episodes = (async () => {
    for (const ep of plan.episodes) {
      await runEpisode(
        {
          world,
          ledger,
          dir,
          log,
          settleMs,
          setActive: (a) => (episodeActive = a),
          deviceName: episodeDevice
        },
        ep
      ).catch((e: unknown) => ledger.notes.push(`episode ${ep.n} failed: ${(e as Error).stack ?? String(e)}`))
    }
  })()
  await Promise.all([...lanes, episodes])
  clearInterval(progress)

  // the promises, once everything has settled
  await bench.close()
  ledger.checkOrders(world.delivered)
  const q = bench.queryRecords()
  for (const w of q.warnings) ledger.notes.push(`records: ${w}`)
  ledger.checkRecords('main', q.records)
  await world.close()
  for (const j of ledger.jobs.values()) if (j.result !== undefined && j.result !== 'succeeded' && j.fault === undefined) ledger.notes.push(`job ${j.id} (${j.lane}, ${j.origin}) had no fault planned, yet ended ${j.result}: ${j.reason} ${j.code ?? ''}`)
  const report = summarize(plan, ledger, started, dir)
  if (!options.dir && !options.keep) rmSync(dir, { recursive: true, force: true })
  return report
}

function connectionOf(board: number): string {
  return `board-${board}`
}

function countDeviceFaults(device: SimDevice, ledger: Ledger): void {
  device.on('fault', (kind: string) => {
    if (kind === 'stall') ledger.faults.stall++
    else if (kind === 'corrupt-reply') ledger.faults.corrupt++
  })
}

function summarize(plan: Plan, ledger: Ledger, started: number, dir: string): SoakReport {
  const jobs = [...ledger.jobs.values()]
  const failuresByReason: SoakReport['failuresByReason'] = {}
  for (const j of jobs) {
    if (j.result !== 'failed' && j.result !== 'cancelled') continue
    const r = (failuresByReason[j.reason ?? j.result] ??= { count: 0, codes: {} })
    r.count++
    const code = j.code ?? 'no error code'
    r.codes[code] = (r.codes[code] ?? 0) + 1
  }
  const byOrigin = { platform: 0, local: 0, batch: 0 }
  for (const j of jobs) byOrigin[j.origin]++
  return {
    seed: plan.seed,
    planned: plan.jobs,
    jobs: jobs.length,
    byOrigin,
    successes: jobs.filter((j) => j.result === 'succeeded').length,
    failures: jobs.filter((j) => j.result === 'failed').length,
    cancelled: jobs.filter((j) => j.result === 'cancelled').length,
    failuresByReason,
    faults: { ...ledger.faults },
    falseSuccesses: ledger.falseSuccesses,
    lostReports: ledger.lostReports,
    lostRecords: ledger.lostRecords,
    lostInTransit: ledger.lostInTransit,
    notes: ledger.notes,
    runtimeMs: Date.now() - started,
    dir
  }
}

/** The report as a person reads it. */
export function formatReport(r: SoakReport): string {
  const lines = [
    `Flashline soak — seed ${r.seed}, ${r.planned} jobs planned`,
    `jobs: ${r.jobs} (platform ${r.byOrigin.platform}, local ${r.byOrigin.local}, batch ${r.byOrigin.batch})`,
    `successes: ${r.successes}   failures: ${r.failures}   cancelled: ${r.cancelled}`,
    'failures by reason:'
  ]
  for (const [reason, v] of Object.entries(r.failuresByReason).sort((a, b) => b[1].count - a[1].count)) {
    const codes = Object.entries(v.codes)
      .sort((a, b) => b[1] - a[1])
      .map(([c, n]) => `${c} ${n}`)
      .join(', ')
    lines.push(`  ${reason.padEnd(22)} ${String(v.count).padStart(5)}   (${codes})`)
  }
  lines.push(`faults that happened: ${FAULT_KINDS.map((k) => `${k} ${r.faults[k]}`).join(', ')}`)
  lines.push(`orders lost in transit (never acknowledged by the engine; the platform's to resend): ${r.lostInTransit.length}`)
  for (const n of r.lostInTransit) lines.push(`  - ${n}`)
  if (r.notes.length) {
    lines.push(`notes (${r.notes.length}):`)
    for (const n of r.notes.slice(0, 40)) lines.push(`  - ${n}`)
    if (r.notes.length > 40) lines.push(`  … and ${r.notes.length - 40} more`)
  }
  const zero = (label: string, list: string[]) => {
    lines.push(`${label}: ${list.length}`)
    for (const x of list.slice(0, 30)) lines.push(`  ! ${x}`)
  }
  zero('FALSE SUCCESSES', r.falseSuccesses)
  zero('LOST PLATFORM REPORTS', r.lostReports)
  zero('LOST RECORDS', r.lostRecords)
  lines.push(`runtime: ${(r.runtimeMs / 1000).toFixed(1)} s`)
  return lines.join('\n')
}

function sha256(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex')
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms))
}

/** The promise's value, or undefined once `ms` have passed. */
async function deadline<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  let t: NodeJS.Timeout | undefined
  try {
    return await Promise.race([p, new Promise<undefined>((r) => (t = setTimeout(() => r(undefined), ms)))])
  } finally {
    clearTimeout(t)
  }
}
