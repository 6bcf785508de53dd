/**
 * A kill episode: a bench in a child process flashes devices behind ptys (socat); it is SIGKILLed
 * mid-job and a new process is started on the same data dir. Platform jobs must resume and be
 * reported, local and batch jobs left unfinished must be closed as failed, each with one record.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { createHash } from 'node:crypto'
import { createRequire } from 'node:module'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { SerialTransport } from '../../main/engine/transport/serial'
import { ptyPair, type PtyPair } from '../../test/harness/pty'
import { makeDevice, makePackage, slotSettings, type SimDevice } from './boards'
import type { ChildJob, ChildSpec } from './child'
import type { Expectation, Ledger } from './ledger'
import type { Episode, Item, Platform } from './plan'
import type { Order, World } from './world'

export interface EpisodeContext {
  world: World
  ledger: Ledger
  dir: string
  log: (line: string) => void
  /** Tells the soak whether a platform job of an episode is running (for counting broker outages). */
  setActive(active: boolean): void
  /** Platform device name of an episode slot. */
  deviceName(platform: Platform, episode: number, slot: number): string
  settleMs: number
}

/** How far a job has got: a platform job downloads where a local one checks its file. */
const RANK: Record<string, number> = { received: 0, downloading: 1, checking: 1, verified: 2, flashing: 3, proving: 4, reporting: 5, succeeded: 6, failed: 6, cancelled: 6 }
const rank = (phase: string): number => RANK[phase] ?? 0
const TERMINAL = new Set(['succeeded', 'failed', 'cancelled'])

/** A device behind a pty: the engine opens `port`, the simulator serves the other side. */
interface PtySlot {
  device: SimDevice
  pair: PtyPair
  transport: SerialTransport
  served: Promise<void>
}

async function plug(device: SimDevice): Promise<PtySlot> {
  const pair = await ptyPair()
  const transport = await SerialTransport.open({ path: pair.b, baudRate: 115200 })
  return { device, pair, transport, served: device.attach(transport) }
}

async function unplug(s: PtySlot): Promise<void> {
  await s.transport.close()
  await s.served
  await s.pair.close()
}

/** One child process: its NDJSON events as they come, and its end. */
class Child {
  readonly proc: ChildProcessWithoutNullStreams
  readonly closed: Promise<number | null>
  stderr = ''
  private pending = ''

  constructor(specFile: string, onEvent: (e: Record<string, unknown> & { type: string }) => void) {
    const tsx = pathToFileURL(createRequire(__filename).resolve('tsx')).href
    this.proc = spawn(process.execPath, ['--import', tsx, join(__dirname, 'child.ts'), specFile], { stdio: ['pipe', 'pipe', 'pipe'] })
    this.proc.stdout.setEncoding('utf8')
    this.proc.stdout.on('data', (chunk: string) => {
      this.pending += chunk
      let nl: number
      while ((nl = this.pending.indexOf('\n')) >= 0) {
        const line = this.pending.slice(0, nl).trim()
        this.pending = this.pending.slice(nl + 1)
        if (line.startsWith('{')) onEvent(JSON.parse(line) as Record<string, unknown> & { type: string })
      }
    })
    this.proc.stderr.setEncoding('utf8')
    this.proc.stderr.on('data', (d: string) => (this.stderr = (this.stderr + d).slice(-4000)))
    // 'close': stdout has been read to its end
    this.closed = new Promise((resolve) => this.proc.on('close', (code) => resolve(code)))
  }
}

export async function runEpisode(ctx: EpisodeContext, ep: Episode): Promise<void> {
  const lane = `episode ${ep.n}`
  const dir = join(ctx.dir, `episode-${ep.n}`)
  const dataDir = join(dir, 'data')
  mkdirSync(dataDir, { recursive: true })
  const slots = await Promise.all(ep.slots.map((spec) => plug(makeDevice(spec, createHash('sha256').update(`${dir}/${spec.protocol}`).digest().subarray(0, 12)))))
  const portToSlot = new Map<string, number>()
  slots.forEach((s, i) => portToSlot.set(s.pair.a, i))

  // no broker outage until the orders have reached the first process (or it is gone)
  const release = ctx.world.hold()
  const holdLimit = setTimeout(release, 20_000)

  // what each item is meant to flash where, and the orders the clouds send for the platform ones
  const expectations = new Map<Item, Expectation>()
  const orders = new Map<Item, Order>()
  const local: ChildSpec['local'] = []
  let batch: ChildSpec['batch']
  const connections = (): Array<Record<string, unknown>> =>
    ep.items.flatMap((item) => {
      if (item.type !== 'platform') return []
      const slot = item.job.board
      return [ctx.world.connection(item.platform, ctx.deviceName(item.platform, ep.n, slot), slotSettings(ep.slots[slot]!, slots[slot]!.pair.a, true))]
    })
  for (const [k, item] of ep.items.entries()) {
    const unit = item.type === 'batch' ? item.units[0]! : item.job
    const spec = ep.slots[unit.board]!
    const pkg = makePackage(spec, unit.version, unit.size, unit.n)
    const file = join(dir, `fw-${unit.version}.bin`)
    writeFileSync(file, pkg)
    if (item.type === 'platform') {
      const order = ctx.world.order(item.platform, ctx.deviceName(item.platform, ep.n, unit.board), { version: unit.version, pkg, presigned: item.presigned })
      orders.set(item, order)
      const x: Expectation = { device: slots[unit.board]!.device, pkg, fault: 'kill', what: `${item.platform} order in ${lane}` }
      expectations.set(item, x)
      ctx.ledger.order(item.platform, { order, lane, expectation: x })
    } else if (item.type === 'local') {
      expectations.set(item, { device: slots[unit.board]!.device, pkg, fault: 'kill', what: `local job in ${lane}` })
      local.push({ ref: String(k), slot: slotSettings(spec, slots[unit.board]!.pair.a, true), file, expect: item.namesDigest ? { sha256: createHash('sha256').update(pkg).digest('hex') } : undefined })
    } else {
      expectations.set(item, { device: slots[0]!.device, pkg, fault: 'kill', what: `batch in ${lane}` })
      const { port: _port, ...slot } = slotSettings(spec, '', true)
      batch = { ref: String(k), slot, ports: item.boards.map((b) => slots[b]!.pair.a), file }
    }
  }

  // follows the jobs both processes report
  const refs = new Map<string, string>() // local ref → job id
  let batchId: string | undefined
  const seen = new Map<string, ChildJob>()
  const itemOf = (j: ChildJob): Item | undefined => {
    if (j.orderId) return [...orders].find(([, o]) => o.orderId === j.orderId)?.[0]
    if (j.batchId) return j.batchId === batchId ? ep.items.find((i) => i.type === 'batch') : undefined
    const ref = [...refs].find(([, id]) => id === j.id)?.[0]
    return ref !== undefined ? ep.items[Number(ref)] : undefined
  }
  const enter = (j: ChildJob): void => {
    seen.set(j.id, j)
    ctx.ledger.job({ id: j.id, lane, origin: j.origin, phase: j.phase, result: j.result, reason: j.reason, code: j.code, orderId: j.orderId, fault: 'kill' })
  }
  const write = (name: string, spec: ChildSpec): string => {
    const file = join(dir, name)
    writeFileSync(file, JSON.stringify(spec))
    return file
  }

  // 1. the first process, killed when the target job reaches the planned phase
  const target = ep.items[ep.kill.target]!
  let killAt: NodeJS.Timeout | undefined
  const kill = (): void => {
    if (killAt) return
    killAt = setTimeout(() => first.proc.kill('SIGKILL'), ep.kill.delayMs)
  }
  const first = new Child(write('spec-1.json', { dataDir, station: lane, connections: connections(), local, batch }), (e) => {
    if (e.type === 'local') refs.set(String(e['ref']), String(e['jobId']))
    else if (e.type === 'batch') batchId = String(e['batchId'])
    else if (e.type === 'job') {
      const j = e['job'] as ChildJob
      enter(j)
      if ([...orders.values()].every((o) => [...seen.values()].some((x) => x.orderId === o.orderId))) release()
      if (itemOf(j) === target && rank(j.phase) >= rank(ep.kill.phase)) kill()
    } else if (e.type === 'error') ctx.log(`${lane}: the first process failed: ${String(e['message'])}`)
  })
  ctx.setActive(ep.items.some((i) => i.type === 'platform'))
  const giveUp = setTimeout(kill, 60_000)
  const exit = await first.closed
  clearTimeout(giveUp)
  clearTimeout(holdLimit)
  release()
  if (killAt === undefined) ctx.ledger.notes.push(`${lane}: the first process ended by itself (exit ${exit}) before the kill: ${first.stderr.slice(-500)}`)
  if ([...seen.values()].some((j) => !TERMINAL.has(j.phase))) ctx.ledger.faults.kill++
  else ctx.ledger.notes.push(`${lane}: killed with no job unfinished (target ${target.type} at ${ep.kill.phase})`)

  // 2. the devices stay, their cables are replugged (a new pty pair each)
  for (const [i, s] of slots.entries()) {
    await unplug(s)
    slots[i] = await plug(s.device)
    portToSlot.set(slots[i]!.pair.a, i)
  }

  // 3. the second process on the same data dir: resumes platform jobs, closes the others as failed
  const done = (): boolean => {
    for (const o of orders.values()) {
      if (o.state() === 'abandoned') continue
      if (o.state() === 'open') return false
      const j = [...seen.values()].find((x) => x.orderId === o.orderId)
      if (!j || !TERMINAL.has(j.phase)) return false
    }
    return [...seen.values()].every((j) => TERMINAL.has(j.phase))
  }
  let records: Array<{ job_id: string; result: string }> | undefined
  let closedCleanly = false
  const second = new Child(write('spec-2.json', { dataDir, station: lane, connections: connections(), local: [] }), (e) => {
    if (e.type === 'jobs') for (const j of e['jobs'] as ChildJob[]) enter(j)
    else if (e.type === 'job') enter(e['job'] as ChildJob)
    else if (e.type === 'records') records = e['records'] as Array<{ job_id: string; result: string }>
    else if (e.type === 'closed') closedCleanly = true
    else if (e.type === 'error') ctx.log(`${lane}: the second process failed: ${String(e['message'])}`)
  })
  const deadline = Date.now() + ctx.settleMs
  const sentAt = new Map<Order, number>()
  while (!done() && Date.now() < deadline && second.proc.exitCode === null) {
    for (const o of orders.values()) {
      // an order the broker never saw the engine acknowledge, long after it went out: lost in transit
      if (o.state() !== 'open' || !o.sent() || ctx.world.delivered.has(`${o.platform}:${o.orderId}`) || [...seen.values()].some((j) => j.orderId === o.orderId)) continue
      if (!sentAt.has(o)) sentAt.set(o, Date.now())
      if (Date.now() - sentAt.get(o)! > 10_000 && ctx.world.brokerUp) ctx.ledger.giveUp(ctx.ledger.orders.get(`${o.platform}:${o.orderId}`)!, 'the broker never saw the engine acknowledge the order')
    }
    await new Promise((r) => setTimeout(r, 50))
  }
  if (!done()) ctx.ledger.notes.push(`${lane}: did not settle within ${ctx.settleMs / 1000} s: ${[...orders.values()].map((o) => o.detail()).join('; ')}`)
  ctx.setActive(false)
  second.proc.stdin.write('close\n')
  const code = await Promise.race([second.closed, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 30_000))])
  if (code === 'timeout') second.proc.kill('SIGKILL')
  if (!closedCleanly) ctx.ledger.notes.push(`${lane}: the second process did not close cleanly (${String(code)}): ${second.stderr.slice(-800)}`)

  // 4. the promises: each success on its device, one record per job
  for (const j of seen.values()) {
    if (j.result !== 'succeeded') continue
    const item = itemOf(j)
    const x = item && expectations.get(item)
    const device = j.port !== undefined && portToSlot.has(j.port) ? slots[portToSlot.get(j.port)!]!.device : x?.device
    ctx.ledger.checkSuccess(j.id, x && device ? { ...x, device } : undefined)
  }
  ctx.ledger.checkRecords(lane, records ?? [])
  for (const s of slots) await unplug(s)
}
