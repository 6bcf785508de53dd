/**
 * The boards' process of the batch bench: N simulated boards, each on the device end of its own
 * socat pty pair behind a paced line (paced-line.ts). Prints the host ends, then answers commands on
 * stdin, one JSON object a line:
 *   {"cmd":"start"}                 → {"type":"started"}   (CPU accounting starts here)
 *   {"cmd":"report","file":"…"}     → {"type":"report", …} (CPU used since start; which boards hold the image)
 *   {"cmd":"close"}                 → closes everything and exits
 * Started by scripts/bench/batch.ts as `node --import tsx batch-boards.ts '<json settings>'`.
 */
import { createHash } from 'node:crypto'
import { readdirSync, readFileSync } from 'node:fs'
import { spawnSync } from 'node:child_process'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { createInterface } from 'node:readline'
import { EspDevice } from '../../main/engine/sim/esp-device'
import { Stm32Device } from '../../main/engine/sim/stm32-device'
import { SerialTransport } from '../../main/engine/transport/serial'
import { ptyPair, type PtyPair } from '../../test/harness/pty'
import { PacedTransport } from './paced-line'

export interface BoardsSettings {
  protocol: 'esp' | 'stm32'
  count: number
  /** Line rate the device starts at (ESP: its ROM's 115200, raised by change-baud; STM32: 115200). */
  baud: number
  bitsPerByte: number
  latencyMs: number
}

export interface BoardsReport {
  type: 'report'
  /** CPU of this process (user + system, ms) since "start". */
  cpuMs: number
  /** CPU of the socat relays (user + system, ms) since "start". */
  socatCpuMs: number
  /** Per board: does its flash hold the file where the flasher puts it. */
  holdsImage: boolean[]
  /** This process's event-loop delay beyond the 10 ms sampling interval since "start", ms: late timers here pace the lines slower. */
  loopDelay: { p99: number; max: number }
  /** The host's turnaround after each answer (paced-line.ts), all boards: median and 90th percentile, ms. */
  turnaround: { p50: number; p90: number; samples: number }
  /** How late the paced lines delivered against their timing (this process's timers), ms. */
  lateness: { p50: number; p90: number }
  /** Bytes carried host→device and device→host, all boards. */
  toDevice: number
  toHost: number
}

const ESP_APP_OFFSET = 0x10000
const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100

interface Board {
  pair: PtyPair
  line: PacedTransport
  holds(image: Buffer): boolean
}

/** user + system CPU of this process's child processes (the socat relays), in ms, from /proc. */
function childrenCpuMs(): number {
  let ticks = 0
  for (const tid of readdirSync('/proc/self/task')) {
    let children: string[] = []
    try {
      children = readFileSync(`/proc/self/task/${tid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean)
    } catch {
      continue
    }
    for (const pid of children) {
      try {
        // fields after the parenthesised command: state is field 3, utime 14, stime 15 (proc(5))
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
        const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
        ticks += Number(f[11]) + Number(f[12])
      } catch {
        /* exited */
      }
    }
  }
  return (ticks * 1000) / CLK_TCK
}

async function openBoard(s: BoardsSettings, index: number): Promise<Board> {
  const pair = await ptyPair()
  const inner = await SerialTransport.open({ path: pair.b, baudRate: s.baud })
  const line = new PacedTransport(inner, { bitsPerByte: s.bitsPerByte, latencyMs: s.latencyMs }, s.baud)
  // every board is its own unit: a MAC / unique ID of its own, so the batch sees no duplicates
  const id = createHash('sha256').update(`bench-board-${index}`).digest()
  if (s.protocol === 'esp') {
    const mac = [0x34, 0x85, 0x18, id[0]!, id[1]!, id[2]!].map((b) => b.toString(16).padStart(2, '0')).join(':')
    const device = new EspDevice({ mac })
    void device.attach(line).catch(() => undefined)
    return { pair, line, holds: (image) => device.read(ESP_APP_OFFSET, image.length).equals(image) }
  }
  const device = new Stm32Device('f1-crc', { uid: id.subarray(0, 12) })
  void device.attach(line)
  return { pair, line, holds: (image) => device.flash.subarray(0, image.length).equals(image) }
}

async function main(): Promise<void> {
  const s = JSON.parse(process.argv[2] ?? '{}') as BoardsSettings
  const boards: Board[] = []
  for (let i = 0; i < s.count; i++) boards.push(await openBoard(s, i))
  const say = (o: object): void => void process.stdout.write(JSON.stringify(o) + '\n')
  say({ type: 'ready', ports: boards.map((b) => b.pair.a), pid: process.pid })
  let cpu0 = process.cpuUsage()
  let socat0 = childrenCpuMs()
  const delay = monitorEventLoopDelay({ resolution: 10 })
  for await (const text of createInterface({ input: process.stdin })) {
    if (!text.trim()) continue
    const m = JSON.parse(text) as { cmd: string; file?: string }
    if (m.cmd === 'start') {
      for (const b of boards) b.line.turnarounds.length = b.line.lateness.length = 0
      cpu0 = process.cpuUsage()
      socat0 = childrenCpuMs()
      delay.reset()
      delay.enable()
      say({ type: 'started' })
    } else if (m.cmd === 'report') {
      const quantile = (a: number[], q: number): number => a[Math.min(a.length - 1, Math.floor(q * a.length))] ?? Number.NaN
      const turns = boards.flatMap((b) => b.line.turnarounds).sort((a, b) => a - b)
      const late = boards.flatMap((b) => b.line.lateness).sort((a, b) => a - b)
      const at = (q: number): number => quantile(turns, q)
      const cpu = process.cpuUsage(cpu0)
      const socatCpuMs = childrenCpuMs() - socat0
      delay.disable()
      const image = readFileSync(m.file!)
      const report: BoardsReport = {
        type: 'report',
        cpuMs: (cpu.user + cpu.system) / 1000,
        socatCpuMs,
        loopDelay: { p99: Math.max(0, delay.percentile(99) / 1e6 - 10), max: Math.max(0, delay.max / 1e6 - 10) },
        turnaround: { p50: at(0.5), p90: at(0.9), samples: turns.length },
        lateness: { p50: quantile(late, 0.5), p90: quantile(late, 0.9) },
        holdsImage: boards.map((b) => b.holds(image)),
        toDevice: boards.reduce((n, b) => n + b.line.carried.toDevice, 0),
        toHost: boards.reduce((n, b) => n + b.line.carried.toHost, 0)
      }
      say(report)
    } else if (m.cmd === 'close') {
      break
    }
  }
  await Promise.all(boards.map((b) => b.line.close()))
  await Promise.all(boards.map((b) => b.pair.close()))
  process.exit(0)
}

void main().catch((e) => {
  process.stderr.write(`batch boards failed: ${(e as Error).stack}\n`)
  process.exit(1)
})
