/**
 * npm run bench — measured side by side in one run, printed as a table of ratios.
 *  1. YMODEM payload throughput on a paced pty link (115200/921600 baud, 1/16 ms USB latency):
 *     ours vs lrzsz `sb -k`, both into lrzsz `rb`; plus ours into our simulated ST-IAP bootloader.
 *  1b. STM32 write/verify vs stm32flash; MCUboot SMP upload at MTU 512 and 2048 (same paced link);
 *      ESP compressed write (incompressible and firmware-like) at 921600 as a fraction of the line rate.
 *  2. Download: the whole `flashline fetch` process (hash in the same pass) vs `curl -o` and
 *     `curl | tee | sha256sum` for 256 MiB and 1 GiB packages from the same loopback HTTPS server,
 *     with the peak RSS of ours.
 *  2b. Batch scaling: 1, 4, 8 and 16 slots at once through Bench.batch, ESP (921600) and STM32 (115200 8E1)
 *      boards simulated in another process on paced ptys: aggregate throughput against N × one slot,
 *      CPU per flashed MiB in each process, the engine's event-loop delay (scripts/bench/batch.ts).
 *  3. CLI start-up: `flashline ports --json`, `--help` and `flash --help` against `node -e 0`, paired and
 *     interleaved, from the install-time bundle (and, for reference, from source through tsx).
 * Sizes can be reduced for a quick look: BENCH_QUICK=1.
 */
import { spawn, spawnSync } from 'node:child_process'
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { makeFirmwareImage } from '../../main/engine/sim/firmware-image'
import { startPackageServer } from '../../main/engine/sim/package-server'
import { simTls } from '../../main/engine/sim/tls'
import { buildMcubootImage } from '../../main/engine/sim/imgtool-image'
import { EspDevice } from '../../main/engine/sim/esp-device'
import { McubootDevice } from '../../main/engine/sim/mcuboot-device'
import { Stm32Device, type Stm32Personality } from '../../main/engine/sim/stm32-device'
import { YmodemDevice } from '../../main/engine/sim/ymodem-device'
import { SerialTransport } from '../../main/engine/transport/serial'
import { LineEmulator } from './line-emulator'
import { batchBench } from './batch'

const QUICK = process.env['BENCH_QUICK'] === '1'
const ROOT = join(__dirname, '..', '..')
const work = mkdtempSync(join(tmpdir(), 'flashline-bench-'))
const rows: string[][] = []

function row(...cells: Array<string | number>): void {
  rows.push(cells.map(String))
  process.stderr.write(`  ${cells.join(' | ')}\n`)
}

function sh(cmd: string, cwd = work, timeoutMs = 90_000): Promise<{ code: number | null; ms: number; stderr: string; stdout: string }> {
  const t0 = performance.now()
  return new Promise((resolve) => {
    const p = spawn('sh', ['-c', cmd], { cwd, stdio: ['ignore', 'pipe', 'pipe'], detached: true })
    let stderr = ''
    let stdout = ''
    p.stderr.on('data', (d) => (stderr += d))
    p.stdout.on('data', (d) => (stdout += d))
    const timer = setTimeout(() => {
      stderr += `\n(timed out after ${timeoutMs} ms)`
      try {
        process.kill(-p.pid!, 'SIGKILL')
      } catch {
        /* gone */
      }
    }, timeoutMs)
    p.on('exit', (code) => {
      clearTimeout(timer)
      resolve({ code, ms: performance.now() - t0, stderr, stdout })
    })
  })
}

/** Milliseconds between two events of a --json run. */
function eventSpan(stdout: string, from: string, to: string): number {
  const ev = stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { type: string; time: string })
  const a = ev.find((e) => e.type === from)
  const b = ev.find((e) => e.type === to)
  if (!a || !b) throw new Error(`no ${from}/${to} events in: ${stdout.slice(0, 500)}`)
  return Date.parse(b.time) - Date.parse(a.time)
}

async function ymodemBench(): Promise<void> {
  const size = QUICK ? 32 * 1024 : 128 * 1024
  const file = join(work, 'fw.bin')
  writeFileSync(file, makeFirmwareImage({ version: 'bench', size, seed: 5 }))
  process.stderr.write(`YMODEM, ${size / 1024} KiB, receiver lrzsz rb (and our ST-IAP simulator)\n`)
  for (const baud of [115200, 921600]) {
    for (const latencyMs of [1, 16]) {
      const lineRate = baud / 10
      /** [ms as the sender's run took, ms of the payload phase as the simulated device saw it (header ACK → EOT)]. */
      const run = async (sender: 'ours' | 'sb', receiver: 'rb' | 'sim'): Promise<[number, number]> => {
        const line = new LineEmulator({ baud, latencyMs })
        await line.start()
        const out = mkdtempSync(join(work, 'rb-'))
        let devicePort: SerialTransport | null = null
        let device: YmodemDevice | null = null
        try {
          let rb: ReturnType<typeof sh> | null = null
          if (receiver === 'rb') rb = sh(`rb < ${line.devicePath} > ${line.devicePath}`, out)
          else {
            devicePort = await SerialTransport.open({ path: line.devicePath, baudRate: baud })
            device = new YmodemDevice({ personality: 'st-iap', requestIntervalMs: 100 })
            void device.attach(devicePort)
          }
          let ms: number
          if (sender === 'sb') {
            const sb = await sh(`sb -k ${file} < ${line.hostPath} > ${line.hostPath}`)
            if (sb.code !== 0) throw new Error(`sb failed: ${sb.stderr}`)
            ms = sb.ms
          } else {
            // Our sender runs as the real CLI in its own process, like sb; node start-up is excluded
            // by timing from its flash-start to its flash-done event.
            const r = await sh(`${process.execPath} ${join(ROOT, 'bin', 'flashline.js')} flash --port ${line.hostPath} --protocol ymodem --file ${file} --json`)
            if (r.code !== 0) throw new Error(`flashline flash failed: ${r.stderr}`)
            ms = eventSpan(r.stdout, 'flash-start', 'flash-done')
          }
          if (rb) {
            const r = await rb
            if (r.code !== 0) throw new Error(`rb failed: ${r.stderr}`)
          }
          const got = device?.received[0]
          return [ms, got ? got.endedAt - got.startedAt : Number.NaN]
        } finally {
          await devicePort?.close()
          await line.close()
          rmSync(out, { recursive: true, force: true })
        }
      }
      // lrzsz occasionally misses the end-of-batch exchange on the emulated line; one retry per run.
      const again = async (sender: 'ours' | 'sb', receiver: 'rb' | 'sim'): Promise<[number, number]> => {
        try {
          return await run(sender, receiver)
        } catch (e) {
          process.stderr.write(`  ${sender}→${receiver} failed once (${(e as Error).message.split('\n')[0]}); retrying\n`)
          return run(sender, receiver)
        }
      }
      const [sbRb] = await again('sb', 'rb')
      const [oursRb] = await again('ours', 'rb')
      const [, sbSim] = await again('sb', 'sim')
      const [, oursSim] = await again('ours', 'sim')
      const frac = (ms: number): string => (size / (ms / 1000) / lineRate).toFixed(3)
      row(
        'ymodem',
        `${baud} baud, ${latencyMs} ms`,
        `into lrzsz rb, whole run: ours ${frac(oursRb)} / sb ${frac(sbRb)} of line = ${(sbRb / oursRb).toFixed(2)}×`,
        `into ST-IAP sim, payload phase seen by the device: ours ${frac(oursSim)} / sb ${frac(sbSim)} of line = ${(sbSim / oursSim).toFixed(2)}×`,
        '',
        ''
      )
    }
  }
}

/**
 * STM32 (AN3155), 64 KiB at 115200 8E1 emulated (11 bits a byte), 1 ms latency: stm32flash -w and
 * -w -v against ours write-only, write + read-back, and write + Get Checksum (0xA1), same simulator.
 */
async function stm32Bench(): Promise<void> {
  const size = 64 * 1024
  const file = join(work, 'stm32.bin')
  writeFileSync(file, makeFirmwareImage({ version: 'bench', size, seed: 6 }))
  const lineRate = 115200 / 11
  process.stderr.write(`STM32, ${size / 1024} KiB, 115200 8E1 emulated, 1 ms latency\n`)
  const run = async (personality: Stm32Personality, sender: string[]): Promise<number> => {
    const line = new LineEmulator({ baud: 115200, latencyMs: 1, bitsPerByte: 11 })
    await line.start()
    const port = await SerialTransport.open({ path: line.devicePath, baudRate: 115200 })
    const device = new Stm32Device(personality)
    void device.attach(port)
    try {
      if (sender[0] === 'stm32flash') {
        const r = await sh(`stm32flash -m 8n1 -b 115200 ${sender.slice(1).join(' ')} -w ${file} ${line.hostPath}`)
        if (r.code !== 0) throw new Error(`stm32flash failed: ${r.stdout.slice(-300)} ${r.stderr}`)
        return r.ms
      }
      const r = await sh(`${process.execPath} ${join(ROOT, 'bin', 'flashline.js')} flash --port ${line.hostPath} --protocol stm32 --parity none --file ${file} ${sender.join(' ')} --json`)
      if (r.code !== 0) throw new Error(`flashline flash failed: ${r.stderr}`)
      return eventSpan(r.stdout, 'flash-start', 'flash-done')
    } finally {
      await port.close()
      await line.close()
    }
  }
  const sfW = await run('f1', ['stm32flash'])
  const sfWV = await run('f1', ['stm32flash', '-v'])
  const oursW = await run('f1', ['--verify', 'none'])
  const oursRead = await run('f1', ['--verify', 'readback'])
  const oursCrc = await run('f1-crc', ['--verify', 'crc'])
  const frac = (ms: number): string => (size / (ms / 1000) / lineRate).toFixed(2)
  row('stm32', '64 KiB, 115200 8E1, 1 ms', `write: ours ${frac(oursW)} / stm32flash -w ${frac(sfW)} of line`, `write+read-back: ours ${frac(oursRead)} vs -w -v ${frac(sfWV)} = ${(sfWV / oursRead).toFixed(2)}×`, `write+0xA1 CRC: ours ${frac(oursCrc)} = ${(sfWV / oursCrc).toFixed(2)}× -w -v`, '')
}

async function mcubootBench(): Promise<void> {
  const app = makeFirmwareImage({ version: 'bench', size: QUICK ? 16 * 1024 : 64 * 1024, seed: 8 })
  const image = buildMcubootImage(app, { major: 1, minor: 2, revision: 3 })
  const file = join(work, 'mcuboot.signed.bin')
  writeFileSync(file, image)
  const lineRate = 115200 / 10
  process.stderr.write(`MCUboot serial recovery, ${Math.round(image.length / 1024)} KiB, 115200 8N1 emulated, 1 ms latency\n`)
  const run = async (mtu: number): Promise<{ ms: number; requests: number }> => {
    const line = new LineEmulator({ baud: 115200, latencyMs: 1, bitsPerByte: 10 })
    await line.start()
    const port = await SerialTransport.open({ path: line.devicePath, baudRate: 115200 })
    const device = new McubootDevice({ personality: mtu > 512 ? 'zephyr' : 'mcuboot', receiveBuffer: mtu, slotSize: 512 * 1024 })
    void device.attach(port)
    try {
      const r = await sh(`${process.execPath} ${join(ROOT, 'bin', 'flashline.js')} flash --port ${line.hostPath} --protocol mcuboot --file ${file} --mtu ${mtu} --json`)
      if (r.code !== 0) throw new Error(`flashline flash failed: ${r.stderr}`)
      if (!device.image?.equals(image)) throw new Error('MCUboot bench: the slot does not hold the image')
      return { ms: eventSpan(r.stdout, 'flash-start', 'flash-done'), requests: device.uploads }
    } finally {
      await port.close()
      await line.close()
    }
  }
  const frac = (ms: number): string => (image.length / (ms / 1000) / lineRate).toFixed(2)
  const small = await run(512)
  const big = await run(2048)
  // base64 (4/3) plus framing caps SMP over the console at about 0.73 of the line rate
  row('mcuboot', `${Math.round(image.length / 1024)} KiB, 115200 8N1, 1 ms`, `MTU 512: ${frac(small.ms)} of line (${small.requests} chunks)`, `MTU 2048: ${frac(big.ms)} of line (${big.requests} chunks)`, `2048 vs 512: ${(small.ms / big.ms).toFixed(2)}×`, 'ceiling ≈0.73 (base64)')
}

/** Milliseconds from the first to the last event of a type in a --json run. */
function stageSpan(stdout: string, stage: string, endType: string): number {
  const ev = stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { type: string; time: string; stage?: string })
  const a = ev.find((e) => e.type === 'flash-progress' && e.stage === stage)
  const b = ev.find((e) => e.type === 'flash-progress' && e.stage === endType)
  if (!a || !b) throw new Error(`no ${stage}/${endType} progress in: ${stdout.slice(0, 500)}`)
  return Date.parse(b.time) - Date.parse(a.time)
}

async function espBench(): Promise<void> {
  const size = QUICK ? 256 * 1024 : 1024 * 1024
  const random = makeFirmwareImage({ version: 'bench', size, seed: 9 })
  // firmware-like: code and tables repeat a lot (real ESP-IDF apps deflate to ~55–65 %)
  const typical = Buffer.from(random)
  for (let i = 0; i + 160 < size; i += 256) typical.fill((i >> 8) & 0xff, i, i + 160)
  const lineRate = 921600 / 10
  process.stderr.write(`ESP32-C3 sim, ${size / 1024} KiB at 0x10000, 921600 8N1 emulated, 1 ms latency\n`)
  const run = async (data: Buffer, name: string): Promise<{ ms: number; ratio: number }> => {
    const file = join(work, name)
    writeFileSync(file, data)
    const line = new LineEmulator({ baud: 921600, latencyMs: 1, bitsPerByte: 10 })
    await line.start()
    const port = await SerialTransport.open({ path: line.devicePath, baudRate: 115200 })
    const device = new EspDevice({})
    void device.attach(port)
    try {
      const r = await sh(`${process.execPath} ${join(ROOT, 'bin', 'flashline.js')} flash --port ${line.hostPath} --protocol esp --file ${file} --json`)
      if (r.code !== 0) throw new Error(`flashline flash failed: ${r.stderr}`)
      if (!device.read(0x10000, data.length).equals(data)) throw new Error('ESP bench: the flash does not hold the image')
      const { deflateSync } = await import('node:zlib')
      return { ms: stageSpan(r.stdout, 'write', 'verify'), ratio: deflateSync(data, { level: 9 }).length / data.length }
    } finally {
      await port.close()
      await line.close()
    }
  }
  const a = await run(random, 'esp-random.bin')
  const b = await run(typical, 'esp-typical.bin')
  const frac = (ms: number): string => (size / (ms / 1000) / lineRate).toFixed(2)
  row('esp', `${size / 1024} KiB, 921600 8N1, 1 ms`, `incompressible: ${frac(a.ms)} of line`, `firmware-like (deflates to ${Math.round(b.ratio * 100)} %): ${frac(b.ms)} of line`, 'write phase, uncompressed bytes / line rate', 'esptool-js 0.7.0 on a worker')
}

async function fillFile(path: string, bytes: number): Promise<void> {
  const fd = openSync(path, 'w')
  const block = makeFirmwareImage({ version: 'big', size: 4 * 1024 * 1024, seed: 11 })
  for (let done = 0; done < bytes; done += block.length) writeSync(fd, block, 0, Math.min(block.length, bytes - done))
  closeSync(fd)
}

/** A shell command timed from spawn to exit; with GNU time also the CPU seconds (user + sys) of it and its children, and the largest RSS among them. */
async function timed(cmd: string): Promise<{ ms: number; cpu?: number; rssMb?: number }> {
  const gnuTime = existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined
  const report = join(work, 'time.txt')
  const r = await sh(gnuTime ? `${gnuTime} -f '%U %S %M' -o ${report} ${cmd}` : cmd, work, 300_000)
  if (r.code !== 0) throw new Error(`${cmd} failed: ${r.stderr}`)
  if (!gnuTime) return { ms: r.ms }
  const [user, sys, rssKb] = readFileSync(report, 'utf8').trim().split(/\s+/).map(Number)
  if (process.env['BENCH_VERBOSE']) process.stderr.write(`    ${Math.round(r.ms)} ms user ${user} sys ${sys}: ${cmd.slice(0, 60)}\n`)
  return { ms: r.ms, cpu: user! + sys!, rssMb: rssKb! / 1024 }
}

/**
 * Whole processes, start-up included, each timed from spawn to exit: `flashline fetch` (download,
 * SHA-256 in the same pass, verified file in the cache) against curl from the same loopback HTTPS
 * server — `curl -o` alone, and `curl | tee FILE | sha256sum`, which does the same work as ours
 * (file on disk and its hash). Three runs each, interleaved, median. Wall time on a shared machine
 * moves with its load; the CPU seconds each client used (GNU time) move much less. BENCH_CLI points
 * at another checkout's bin/flashline.js to compare builds.
 */
async function downloadBench(): Promise<void> {
  const server = await startPackageServer({ tls: true })
  const ca = join(work, 'ca.pem')
  writeFileSync(ca, simTls().ca)
  const cli = process.env['BENCH_CLI'] ?? join(ROOT, 'bin', 'flashline.js')
  const big = join(work, 'pkg.bin')
  const median = (a: number[]): number => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]!
  type Runs = { ms: number[]; cpu: number[]; rss: number[] }
  const add = (r: Runs, t: { ms: number; cpu?: number; rssMb?: number }): void => {
    r.ms.push(t.ms)
    if (t.cpu !== undefined) r.cpu.push(t.cpu)
    if (t.rssMb !== undefined) r.rss.push(t.rssMb)
  }
  const fresh = (): Runs => ({ ms: [], cpu: [], rss: [] })
  try {
    const idle = fresh()
    for (let i = 0; i < 3; i++) add(idle, await timed(`${process.execPath} ${cli} fetch --help`))
    for (const mb of QUICK ? [32, 64] : [256, 1024]) {
      await fillFile(big, mb * 1024 * 1024)
      const { url } = server.addPackage(`pkg-${mb}.bin`, { path: big, size: mb * 1024 * 1024 }, {})
      process.stderr.write(`download, ${mb} MiB over loopback HTTPS, whole processes\n`)
      const curl = fresh()
      const curlHash = fresh()
      const ours = fresh()
      const runs = 3
      for (let i = 0; i < runs; i++) {
        add(curl, await timed(`curl -sS --fail --cacert ${ca} -o ${join(work, 'curl.bin')} ${url}`))
        rmSync(join(work, 'curl.bin'), { force: true })
        add(curlHash, await timed(`bash -o pipefail -c 'curl -sS --fail --cacert ${ca} ${url} | tee ${join(work, 'curl.bin')} | sha256sum >/dev/null'`))
        rmSync(join(work, 'curl.bin'), { force: true })
        rmSync(join(work, 'd1'), { recursive: true, force: true })
        add(ours, await timed(`${process.execPath} ${cli} fetch --url ${url} --ca ${ca} --data-dir ${join(work, 'd1')} --json`))
        rmSync(join(work, 'd1'), { recursive: true, force: true })
      }
      const o = median(ours.ms)
      const c = median(curl.ms)
      const ch = median(curlHash.ms)
      const cpu = (r: Runs): string => (r.cpu.length ? `, CPU ${median(r.cpu).toFixed(2)} s` : '')
      const cpuRatio = (r: Runs): string => (r.cpu.length && ours.cpu.length ? `; CPU ${(median(r.cpu) / median(ours.cpu)).toFixed(2)}×` : '')
      row(
        'download',
        `${mb} MiB, HTTPS loopback, whole process (median of ${runs})`,
        `flashline fetch ${(o / 1000).toFixed(2)} s${cpu(ours)} (SHA-256 in the same pass; start-up alone ${(median(idle.ms) / 1000).toFixed(2)} s${cpu(idle)})`,
        `curl -o ${(c / 1000).toFixed(2)} s${cpu(curl)} → ours ${(c / o).toFixed(2)}× curl${cpuRatio(curl)}`,
        `curl | tee | sha256sum ${(ch / 1000).toFixed(2)} s${cpu(curlHash)} → ours ${(ch / o).toFixed(2)}×${cpuRatio(curlHash)}`,
        ours.rss.length ? `peak RSS ${Math.max(...ours.rss).toFixed(0)} MB` : ''
      )
    }
  } finally {
    await server.close()
  }
}

/** Wall time of one process from spawn to exit, in ms. */
function timedRun(args: string[], env: NodeJS.ProcessEnv = process.env): number {
  const t0 = performance.now()
  const r = spawnSync(process.execPath, args, { cwd: work, env, stdio: 'ignore' })
  const ms = performance.now() - t0
  if (r.status !== 0) throw new Error(`node ${args.join(' ')} exited with ${r.status ?? r.signal}`)
  return ms
}

async function startupBench(): Promise<void> {
  // measure what `npm ci` ships: a bundle built from the sources as they are now
  const built = spawnSync(process.execPath, [join(ROOT, 'scripts', 'build-cli.mjs')], { stdio: ['ignore', 'ignore', 'inherit'] })
  if (built.status !== 0) throw new Error('scripts/build-cli.mjs failed')
  const cli = join(ROOT, 'bin', 'flashline.js')
  const fromSource = { ...process.env, FLASHLINE_FROM_SOURCE: '1' }
  const pairs = QUICK ? 7 : 20
  process.stderr.write(`start-up, ${pairs} interleaved rounds\n`)
  const t = { node: [] as number[], ports: [] as number[], help: [] as number[], flash: [] as number[], source: [] as number[] }
  for (let i = 0; i < pairs; i++) {
    // one of each per round, so a busy moment on the machine hits them alike
    t.node.push(timedRun(['-e', '0']))
    t.ports.push(timedRun([cli, 'ports', '--json']))
    t.help.push(timedRun([cli, '--help']))
    t.flash.push(timedRun([cli, 'flash', '--help']))
    t.source.push(timedRun([cli, 'ports', '--json'], fromSource))
  }
  const median = (a: number[]): number => {
    const s = [...a].sort((x, y) => x - y)
    return s.length % 2 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2
  }
  const base = median(t.node)
  const cell = (name: string, a: number[]): string => `${name} ${median(a).toFixed(0)} ms = ${(median(a) / base).toFixed(2)}×`
  row('startup', `${pairs} rounds, medians vs node -e 0 ${base.toFixed(0)} ms`, cell('ports --json', t.ports), cell('--help', t.help), cell('flash --help', t.flash), cell('from source (tsx): ports --json', t.source))
}

async function main(): Promise<void> {
  try {
    const only = process.env['BENCH_ONLY'] // ymodem | stm32 | mcuboot | esp | download | batch | startup, for a quick look at one part
    if (!only || only === 'startup') await startupBench()
    if (!only || only === 'ymodem') await ymodemBench()
    if (!only || only === 'stm32') await stm32Bench()
    if (!only || only === 'mcuboot') await mcubootBench()
    if (!only || only === 'esp') await espBench()
    if (!only || only === 'download') await downloadBench()
    if (!only || only === 'batch') await batchBench({ root: ROOT, work, quick: QUICK, row })
  } finally {
    rmSync(work, { recursive: true, force: true })
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)))
  process.stdout.write('\nFlashline benchmark (ratios measured side by side in this run)\n')
  for (const r of rows) process.stdout.write('| ' + r.map((c, i) => c.padEnd(widths[i]!)).join(' | ') + ' |\n')
  process.stdout.write('targets: YMODEM ≥ 0.95 of line at 115200/1 ms and ≥ 1.05× lrzsz; download ≥ 0.9× curl; peak RSS < 150 MB; CLI start-up ≤ 2× node -e 0;\n         STM32 write ≥ 0.85 of line, write+read-back ≥ 1.05× stm32flash -w -v, write+CRC ≥ 1.6× stm32flash -w -v;\n         batch: 16 slots ≥ 0.9 × 16 × one slot, engine event-loop delay p99 < 50 ms at 16 slots\n')
  process.exit(0)
}

void main().catch((e) => {
  process.stderr.write(`bench failed: ${(e as Error).stack}\n`)
  process.exit(1)
})
