import type { Bench, JobInfo } from '../engine'
import type { Output } from './output'
import { cliWording } from './wording'

/** The one-line story of a job phase, as a technician reads it. */
export function describePhase(j: JobInfo): string {
  const who = j.deviceId ?? j.port ?? j.id
  switch (j.phase) {
    case 'received':
      return j.origin === 'platform' ? `order ${j.orderId}: ${j.targetVersion ?? '(target version not stated)'} for ${who}` : `${who}: job ${j.id} started`
    case 'reporting':
      return j.message && j.reason ? `${who}: FAILED (${j.reason}): ${j.message}; reporting failure` : `${who}: flashed, now ${j.version}; reporting success`
    case 'succeeded':
    case 'failed':
    case 'cancelled':
      return j.origin === 'platform' ? `${who}: platform acknowledged the final report; job ${j.phase}` : `${who}: ${j.phase}${j.message ? `: ${j.message}` : ''}`
    default:
      return `${who}: ${j.phase}`
  }
}

/**
 * Prints the bench's events: NDJSON with --json (the event names and fields `flashline agent --json`
 * always had, plus the ids), human lines and a progress bar otherwise.
 */
export function renderEvents(bench: Bench, out: Output, options: { jobLogEvent?: 'log' | 'flash-log' } = {}): void {
  const jobLogEvent = options.jobLogEvent ?? 'log'
  bench.on('job', (j) => {
    const ids = { job: j.id, slot: j.slotId, connection: j.connectionId, device: j.deviceId }
    out.event('job-phase', { ...ids, phase: j.phase, targetVersion: j.targetVersion, orderId: j.orderId, origin: j.origin })
    if (j.phase === 'succeeded' || j.phase === 'failed' || j.phase === 'cancelled') {
      out.event('job-closed', { ...ids, result: j.phase, outcome: { result: j.result, reason: j.reason, message: j.message, version: j.version }, error: j.error, identity: j.identity, logFile: j.logFile })
    }
    out.info(cliWording(describePhase(j)))
  })
  bench.on('progress', (p) => {
    const ids = { job: p.jobId, slot: p.slotId, connection: p.connectionId, device: p.deviceId }
    if (p.stage === 'download') out.event('download-progress', { ...ids, done: p.done, total: p.total, bytesPerSec: Math.round(p.bytesPerSec) })
    else out.event('flash-progress', { ...ids, stage: p.stage, done: p.done, total: p.total })
    out.progress(p.stage, p.done, p.total, p.bytesPerSec)
  })
  bench.on('report', (r) => {
    if (r.state === 'queued') out.event('report-queued', { topic: r.topic, job: r.jobId, connection: r.connectionId, payload: r.payload })
    else out.event('report-acked', { topic: r.topic, job: r.jobId, connection: r.connectionId })
  })
  bench.on('downlink', (d) => {
    if (d.outcome === 'answered') out.info('answered a version query')
    else out.event(d.outcome === 'error' ? 'downlink-error' : 'downlink-ignored', { topic: d.topic, reason: d.reason, connection: d.connectionId })
  })
  bench.on('connection', (c) => out.event('connection', { connection: c.id, status: c.status, outbox: c.outbox, error: c.error }))
  bench.on('log', (l) => {
    if (l.source === 'job' && l.message.startsWith('phase ')) return // the job-phase line already says it
    // a job's own lines keep the event name each command always used (flash: flash-log, agent: log)
    out.event(l.jobId ? jobLogEvent : 'log', { level: l.level, source: l.source, job: l.jobId, slot: l.slotId, connection: l.connectionId, device: l.deviceId, message: l.message })
    // every log line goes to stdout; stderr is kept for the command's own final error
    const level = l.level === 'error' ? 'error: ' : l.level === 'warn' ? 'warning: ' : ''
    out.info(cliWording(`${level}${l.deviceId ? `${l.deviceId}: ` : ''}${l.message}`))
  })
}
