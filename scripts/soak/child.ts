/**
 * A bench in its own process, for the soak's kill-and-restart episodes: `node --import tsx child.ts
 * <spec.json>`. It opens a Bench on the spec's data dir, connects the platform connections, starts the
 * local jobs and the batch, and writes NDJSON events to stdout. "close" on stdin closes the bench and
 * prints the jobs and the records. The parent SIGKILLs it at a moment of its choosing.
 */
import { readFileSync } from 'node:fs'
import { createInterface } from 'node:readline'
import { Bench, type JobInfo } from '../../main/engine'

export interface ChildSpec {
  dataDir: string
  station: string
  connections: Array<Record<string, unknown>>
  /** Local jobs to start (left out by the process that resumes after a kill). */
  local: Array<{ ref: string; slot: Record<string, unknown>; file: string; expect?: { sha256: string } }>
  batch?: { ref: string; slot: Record<string, unknown>; ports: string[]; file: string }
}

/** The part of a job the parent follows. */
export interface ChildJob {
  id: string
  origin: JobInfo['origin']
  phase: JobInfo['phase']
  result?: JobInfo['result']
  reason?: string
  code?: string
  orderId?: string
  port?: string
  batchId?: string
}

function brief(j: JobInfo): ChildJob {
  return { id: j.id, origin: j.origin, phase: j.phase, result: j.result, reason: j.reason, code: j.error?.code, orderId: j.orderId, port: j.port, batchId: j.context?.batchId }
}

const say = (event: Record<string, unknown>): void => void process.stdout.write(`${JSON.stringify(event)}\n`)

async function main(): Promise<void> {
  const spec = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as ChildSpec
  const bench = new Bench({ dataDir: spec.dataDir, station: spec.station, progressIntervalMs: 50 })
  bench.on('job', (j) => say({ type: 'job', job: brief(j) }))
  // jobs a killed process left behind were closed (or resumed) while the bench opened: say where they stand
  say({ type: 'jobs', jobs: bench.listJobs().map(brief) })
  for (const c of spec.connections) await bench.addConnection(c)
  // and the platform jobs their journals hold, ended or resumed
  if (spec.connections.length) say({ type: 'jobs', jobs: bench.listJobs().map(brief) })
  for (const l of spec.local) say({ type: 'local', ref: l.ref, jobId: bench.flash({ slot: l.slot, file: l.file, expect: l.expect, origin: 'local' }).id })
  if (spec.batch) {
    const b = spec.batch
    const run = bench.batch({ slot: b.slot, file: b.file, ports: b.ports, retries: 0 })
    say({ type: 'batch', ref: b.ref, batchId: run.id })
    void run.start()
  }
  say({ type: 'ready' })
  const lines = createInterface({ input: process.stdin })
  for await (const line of lines) {
    if (line.trim() !== 'close') continue
    say({ type: 'jobs', jobs: bench.listJobs().map(brief) })
    await bench.close()
    const q = bench.queryRecords()
    say({ type: 'records', records: q.records.map((r) => ({ job_id: r.job_id, result: r.result, origin: r.origin })), warnings: q.warnings })
    say({ type: 'closed' })
    return
  }
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    say({ type: 'error', message: (e as Error).stack ?? String(e) })
    process.exit(1)
  }
)
