/**
 * The engine's process of the batch bench: one `Bench.batch` run in ports mode (the front door, as
 * the CLI's `flashline batch` and the app use it), measured from inside. scripts/bench/batch.ts bundles
 * this with the ESP worker (as scripts/build-cli.mjs does for the CLI, so what runs is what ships)
 * and starts it as `node [--cpu-prof] batch-engine.js '<json settings>'`. Prints one JSON line:
 * {"type":"result", …} (EngineResult).
 */
import { readFileSync } from 'node:fs'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { Bench } from '../../main/engine/index'

export interface EngineSettings {
  dataDir: string
  protocol: 'esp' | 'stm32'
  baud: number
  file: string
  ports: string[]
}

export interface EngineResult {
  type: 'result'
  /** From just before `start()` (the package is hashed into the cache there) to the summary. */
  wallMs: number
  /** user + system CPU of the whole process (worker threads included) over the same span, ms. */
  cpuMs: number
  /** The part of it the main thread used (Linux, from /proc; the rest is worker threads, libuv's pool, V8's helpers). */
  mainThreadCpuMs?: number
  passed: number
  failed: number
  failures: string[]
  /** Event-loop delay beyond the 10 ms sampling interval, ms. */
  loopDelay: { p50: number; p99: number; max: number; samples: number }
  /** Events the front door emitted during the run, by type. */
  events: Record<string, number>
  /** Per job: ms from start to its write phase beginning and to its end (ESP: stub upload and baud change happen before). */
  jobs: Array<{ port: string; writeStartMs?: number; endMs: number }>
}

const RESOLUTION_MS = 10
const WATCHDOG_MS = Number(process.env['BENCH_BATCH_WATCHDOG_MS'] ?? 240_000)

/** user + system CPU of the main thread so far, ms (proc(5): utime and stime, fields 14 and 15, in clock ticks of 10 ms). */
function mainThreadCpuMs(): number | undefined {
  try {
    const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8')
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return (Number(f[11]) + Number(f[12])) * 10
  } catch {
    return undefined
  }
}

async function main(): Promise<void> {
  const s = JSON.parse(process.argv[2] ?? '{}') as EngineSettings
  const bench = new Bench({ dataDir: s.dataDir })
  const events: Record<string, number> = {}
  const writeStart = new Map<string, number>()
  const ended = new Map<string, number>()
  let t0 = 0
  for (const type of ['job', 'progress', 'log', 'connection', 'report', 'downlink'] as const) {
    bench.on(type, () => void (events[type] = (events[type] ?? 0) + 1))
  }
  // a listener like the app's: the write phase's first progress marks when each slot starts writing
  bench.on('progress', (p) => {
    if (p.stage === 'write' && !writeStart.has(p.jobId)) writeStart.set(p.jobId, performance.now() - t0)
  })
  const lastProgress = new Map<string, string>()
  bench.on('progress', (p) => void lastProgress.set(p.jobId, `${p.stage} ${p.done}/${p.total ?? '?'} at ${((performance.now() - t0) / 1000).toFixed(2)} s`))
  const portOf = new Map<string, string>()
  bench.on('job', (j) => {
    if (j.port) portOf.set(j.id, j.port)
    if (j.result && !ended.has(j.id)) ended.set(j.id, performance.now() - t0)
  })

  const delay = monitorEventLoopDelay({ resolution: RESOLUTION_MS })
  // BENCH_VERBOSE: when the loop stalled (> 50 ms late), to line up with the jobs' phases
  const stalls: string[] = []
  let tick = performance.now()
  const watch = process.env['BENCH_VERBOSE']
    ? setInterval(() => {
        const now = performance.now()
        if (now - tick > RESOLUTION_MS + 50) stalls.push(`${((tick - t0) / 1000).toFixed(2)} s +${(now - tick - RESOLUTION_MS).toFixed(0)} ms`)
        tick = now
      }, RESOLUTION_MS)
    : undefined
  const run = bench.batch({ slot: { protocol: s.protocol, parity: 'none', baud: s.baud }, file: s.file, ports: s.ports })
  const cpu0 = process.cpuUsage()
  const main0 = mainThreadCpuMs()
  t0 = performance.now()
  delay.enable()
  // a run that does not end is a finding: say where every job stands before giving up
  const watchdog = setTimeout(() => {
    const tail = (file: string): string => {
      try {
        return readFileSync(file, 'utf8').trim().split('\n').slice(-4).join(' | ')
      } catch {
        return '(no log)'
      }
    }
    const lines = bench.listJobs().map((j) => `      ${j.port}: ${j.phase}${j.result ? ` (${j.result}: ${j.message ?? ''})` : ''}, last progress ${lastProgress.get(j.id) ?? 'none'}; log: ${tail(j.logFile)}`)
    process.stderr.write(`batch engine: no summary after ${WATCHDOG_MS / 1000} s; the jobs:\n${lines.join('\n')}\n`)
    process.exit(3)
  }, WATCHDOG_MS)
  await run.start()
  const summary = await run.done
  clearTimeout(watchdog)
  delay.disable()
  if (watch) clearInterval(watch)
  if (stalls.length) process.stderr.write(`    engine loop stalls: ${stalls.join(', ')}\n`)
  const wallMs = performance.now() - t0
  const cpu = process.cpuUsage(cpu0)
  const main1 = mainThreadCpuMs()
  await bench.close()

  const ms = (ns: number): number => Math.max(0, ns / 1e6 - RESOLUTION_MS)
  const result: EngineResult = {
    type: 'result',
    wallMs,
    cpuMs: (cpu.user + cpu.system) / 1000,
    mainThreadCpuMs: main0 !== undefined && main1 !== undefined ? main1 - main0 : undefined,
    passed: summary.passed,
    failed: summary.failed,
    failures: summary.units.filter((u) => u.state !== 'succeeded').map((u) => `${u.port}: ${u.message ?? u.reason ?? u.state}`),
    loopDelay: { p50: ms(delay.percentile(50)), p99: ms(delay.percentile(99)), max: ms(delay.max), samples: delay.count },
    events,
    jobs: [...ended.entries()].map(([id, endMs]) => ({ port: portOf.get(id) ?? '?', writeStartMs: writeStart.get(id), endMs }))
  }
  process.stdout.write(JSON.stringify(result) + '\n')
  process.exit(0)
}

void main().catch((e) => {
  process.stderr.write(`batch engine failed: ${(e as Error).stack}\n`)
  process.exit(1)
})
