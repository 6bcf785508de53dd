/**
 * What the soak saw, and the three promises checked against it: no false success, no lost platform
 * report, no lost record. Every job of every origin (main bench and kill episodes) is entered here.
 */
import type { SimDevice } from './boards'
import { holds } from './boards'
import type { FaultKind, Platform } from './plan'
import type { Order } from './world'

export interface JobEntry {
  id: string
  /** 'main', or the kill episode it ran in. */
  lane: string
  origin: 'platform' | 'local' | 'batch'
  phase?: string
  result?: 'succeeded' | 'failed' | 'cancelled'
  reason?: string
  code?: string
  orderId?: string
  /** The fault planned for it, if any. */
  fault?: FaultKind
}

/** What a job was meant to put on which device. */
export interface Expectation {
  device: SimDevice
  pkg: Buffer
  /** The order or request named a digest the package does not have: success is false whatever the device holds. */
  hashMismatch?: boolean
  fault?: FaultKind
  what: string
}

export interface OrderEntry {
  order: Order
  lane: string
  expectation: Expectation
  /** Given up on the platform side (the broker never saw the engine acknowledge the order, or it was never sent). */
  lostInTransit?: string
}

export class Ledger {
  readonly jobs = new Map<string, JobEntry>()
  readonly orders = new Map<string, OrderEntry>()
  readonly falseSuccesses: string[] = []
  readonly lostReports: string[] = []
  readonly lostRecords: string[] = []
  readonly lostInTransit: string[] = []
  /** Things worth a look that break no promise (a job without a fault that failed, a slow settle). */
  readonly notes: string[] = []
  readonly faults: Record<FaultKind, number> = { stall: 0, lose: 0, corrupt: 0, 'http-drop': 0, 'http-401': 0, 'http-200': 0, 'hash-mismatch': 0, 'broker-drop': 0, kill: 0 }
  private readonly checked = new Set<string>()

  /** Enters (or updates) a job from what the engine said about it. */
  job(e: JobEntry): JobEntry {
    const prior = this.jobs.get(e.id)
    const merged: JobEntry = { ...prior, ...Object.fromEntries(Object.entries(e).filter(([, v]) => v !== undefined)) } as JobEntry
    this.jobs.set(e.id, merged)
    return merged
  }

  /**
   * A job the engine says succeeded: the device must hold exactly the package it was meant to flash,
   * now (nothing else touches that device until the job is over), and the package must be the one the
   * order named. Checked once per job.
   */
  checkSuccess(jobId: string, x: Expectation | undefined): void {
    if (this.checked.has(jobId)) return
    this.checked.add(jobId)
    if (!x) {
      this.falseSuccesses.push(`job ${jobId} succeeded, but the soak knows no package it was meant to flash`)
      return
    }
    if (x.hashMismatch) this.falseSuccesses.push(`job ${jobId} (${x.what}) succeeded although the order named a digest the package does not have`)
    else if (!holds(x.device, x.pkg)) this.falseSuccesses.push(`job ${jobId} (${x.what}) succeeded, but the device does not hold the package`)
  }

  order(platform: Platform, entry: OrderEntry): void {
    this.orders.set(`${platform}:${entry.order.orderId}`, entry)
  }

  /** Gives an order up as lost before it reached the engine (once). */
  giveUp(entry: OrderEntry, why: string): void {
    if (entry.lostInTransit) return
    entry.lostInTransit = why
    entry.order.abandon(`soak: ${why}`)
  }

  /**
   * Every order the engine acknowledged has a final report at the cloud that agrees with its job; an
   * order the broker never saw acknowledged is counted as lost in transit (the platform's to resend).
   */
  checkOrders(delivered: Set<string>): void {
    const byOrder = new Map<string, JobEntry[]>()
    for (const j of this.jobs.values()) if (j.orderId) byOrder.set(j.orderId, [...(byOrder.get(j.orderId) ?? []), j])
    for (const [key, o] of this.orders) {
      const jobs = byOrder.get(o.order.orderId) ?? []
      const state = o.order.state()
      if (o.lostInTransit) {
        if (jobs.length || delivered.has(key)) this.lostReports.push(`${o.order.detail()}: given up as lost in transit, yet the engine had it (${jobs.map((j) => j.id).join(', ') || 'acknowledged'})`)
        else this.lostInTransit.push(`${o.order.detail()} (${o.lane}): ${o.lostInTransit}`)
        continue
      }
      if (state === 'open') {
        this.lostReports.push(`${o.order.detail()} (${o.lane}, ${o.expectation.what}): no final report${jobs.length ? ` (engine job ${jobs.map((j) => `${j.id} ${j.result ?? j.phase}`).join(', ')})` : delivered.has(key) ? ' (the engine acknowledged the order but has no job for it)' : ''}`)
        continue
      }
      // a failed order the platform pushes again with a fresh package address (after a refused
      // download) is a new attempt: the platform's final word must agree with the last one
      const ended = jobs.filter((j) => j.result !== undefined)
      if (ended.length === 0 || ended.slice(0, -1).some((j) => j.result === 'succeeded')) {
        this.lostReports.push(`${o.order.detail()} (${o.lane}): the cloud closed it ${state}, but the engine has ${ended.length} ended jobs for it (${ended.map((j) => j.result).join(', ')})`)
        continue
      }
      const job = ended[ended.length - 1]!
      if ((state === 'succeeded') !== (job.result === 'succeeded')) this.lostReports.push(`${o.order.detail()} (${o.lane}): the cloud says ${state}, the engine's job ${job.id} ${job.result} (${job.reason ?? ''})`)
    }
  }

  /** Every job that ended (or was closed after a kill) has exactly one record with its result; every record is of a job. */
  checkRecords(lane: string, records: Array<{ job_id: string; result: string }>): void {
    const count = new Map<string, Array<{ result: string }>>()
    for (const r of records) count.set(r.job_id, [...(count.get(r.job_id) ?? []), r])
    for (const j of this.jobs.values()) {
      if (j.lane !== lane) continue
      const mine = count.get(j.id) ?? []
      if (j.result === undefined) this.lostRecords.push(`${lane}: job ${j.id} (${j.origin}) never ended (last phase ${j.phase ?? 'unknown'}); ${mine.length} records`)
      else if (mine.length !== 1 || mine[0]!.result !== j.result) this.lostRecords.push(`${lane}: job ${j.id} (${j.origin}) ended ${j.result}, but has ${mine.length} records${mine.length ? ` (${mine.map((r) => r.result).join(', ')})` : ''}`)
    }
    for (const id of count.keys()) {
      const j = this.jobs.get(id)
      if (!j || j.lane !== lane) this.lostRecords.push(`${lane}: a record of job ${id}, which the soak never saw run`)
    }
  }
}
