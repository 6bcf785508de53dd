/**
 * Batch and station mode: many units at once on fixture ports (the real CLI over socat ptys with the
 * STM32 simulator), and station mode with boards arriving and leaving (the engine, with a listing of
 * ports under the test's control and simulated boards behind them).
 */
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Bench, type PortListing, type UnitInfo } from '../main/engine'
import { makeFirmwareImage } from '../main/engine/sim/firmware-image'
import { memoryBoard, registerBuiltinSimPorts, registerSimBoard } from '../main/engine/sim/sim-ports'
import { Stm32Device } from '../main/engine/sim/stm32-device'
import { YmodemDevice } from '../main/engine/sim/ymodem-device'
import { memoryPair } from '../main/engine/transport/memory'
import { SerialTransport } from '../main/engine/transport/serial'
import { jsonEvents, runCli } from './harness/cli'
import { ptyPair, type PtyPair } from './harness/pty'
import { tempDir } from './harness/tmp'

const work = tempDir()
afterAll(() => work.cleanup())
beforeAll(() => registerBuiltinSimPorts())

function firmware(name: string, version: string, size: number): string {
  const file = join(work.dir, name)
  writeFileSync(file, makeFirmwareImage({ version, size, seed: size + version.length }))
  return file
}

const uid = (n: number) => Buffer.from(`0000000000000000000000${n.toString(16).padStart(2, '0')}`, 'hex')

/** An STM32 simulator behind a socat pty pair, as a board on a fixture. */
async function stm32Board(n: number | Buffer): Promise<{ pair: PtyPair; device: Stm32Device; close(): Promise<void> }> {
  const pair = await ptyPair()
  const port = await SerialTransport.open({ path: pair.b, baudRate: 115200 })
  const device = new Stm32Device('f1', { uid: typeof n === 'number' ? uid(n) : n })
  const served = device.attach(port)
  return { pair, device, close: async () => (await port.close(), await served, await pair.close()) }
}

describe('flashline batch on fixture ports', () => {
  it('flashes every port at once, records each unit by its own id, flags a unit seen twice, and a silent slot does not disturb the others', async () => {
    const boards = await Promise.all([stm32Board(1), stm32Board(2), stm32Board(1)])
    const dead = await ptyPair() // a slot with no board answering
    try {
      const fw = firmware('batch.bin', '4.0.0', 6000)
      const data = join(work.dir, 'batch-data')
      const ports = [...boards.map((b) => b.pair.a), dead.a]
      const r = await runCli(['batch', '--protocol', 'stm32', '--parity', 'none', '--file', fw, ...ports.flatMap((p) => ['--port', p]), '--operator', 'ana', '--station', 'line-2', '--data-dir', data, '--json'], { timeoutMs: 90_000 })
      expect(r.code, r.stderr).toBe(5)
      for (const b of boards) expect(b.device.flash.subarray(0, 6000).equals(makeFirmwareImage({ version: '4.0.0', size: 6000, seed: 6005 }))).toBe(true)
      const events = jsonEvents(r.stdout)
      const ended = events.filter((e) => e.type === 'batch-unit' && e['state'] !== 'running') as unknown as UnitInfo[]
      expect(ended.map((u) => [u.port, u.state, u.chipId]).sort()).toEqual(
        [
          [boards[0]!.pair.a, 'succeeded', '000000000000000000000001'],
          [boards[1]!.pair.a, 'succeeded', '000000000000000000000002'],
          [boards[2]!.pair.a, 'succeeded', '000000000000000000000001'],
          [dead.a, 'failed', undefined]
        ].sort()
      )
      // the two boards with one id ran at the same time: whichever ended second is the duplicate
      expect(ended.filter((u) => u.duplicate).map((u) => u.port)).toEqual([expect.stringMatching(new RegExp(`^(${boards[0]!.pair.a}|${boards[2]!.pair.a})$`))])
      const summary = events.find((e) => e.type === 'batch-summary')!
      expect(summary).toMatchObject({ passed: 3, failed: 1, cancelled: 0 })
      expect(summary['yield']).toBeCloseTo(0.75)
      const records = await runCli(['records', '--format', 'jsonl', '--data-dir', data])
      const rows = records.stdout.trim().split('\n').map((l) => JSON.parse(l))
      expect(rows).toHaveLength(4)
      expect(rows.every((x) => x.origin === 'batch' && x.operator === 'ana' && x.station === 'line-2')).toBe(true)
      expect(rows.filter((x) => x.duplicate).map((x) => x.chip_id)).toEqual(['000000000000000000000001'])
    } finally {
      await Promise.all(boards.map((b) => b.close()))
      await dead.close()
    }
  }, 120_000)

  it('a package that does not match its hash flashes nothing (exit 4)', async () => {
    const board = await stm32Board(7)
    try {
      const fw = firmware('bad.bin', '1.0.0', 3000)
      const r = await runCli(['batch', '--protocol', 'stm32', '--parity', 'none', '--file', fw, '--sha256', 'ab'.repeat(32), '--port', board.pair.a, '--data-dir', join(work.dir, 'bad-data')])
      expect(r.code).toBe(4)
      expect(r.stderr).toMatch(/does not match/)
      expect(board.device.log.filter((l) => l.startsWith('cmd'))).toEqual([])
    } finally {
      await board.close()
    }
  }, 60_000)

  const usage: Array<[string[], RegExp]> = [
    [['--protocol', 'stm32', '--file', __filename], /--port is required \(one per slot\), or --watch --match VID:PID/],
    [['--protocol', 'stm32', '--file', __filename, '--watch'], /--watch needs --match VID:PID/],
    [['--protocol', 'stm32', '--file', __filename, '--watch', '--match', '1a86'], /--match: "1a86" is not a USB VID:PID/],
    [['--protocol', 'stm32', '--file', __filename, '--port', '/dev/ttyUSB0', '--watch', '--match', '1a86:7523'], /--watch and --port cannot be combined/],
    [['--protocol', 'stm32', '--file', __filename, '--port', '/dev/ttyUSB0', '--count', '3'], /--count is for station mode/],
    [['--protocol', 'stm32', '--file', __filename, '--port', '/dev/ttyUSB0', '--port', '/dev/ttyUSB0'], /port \/dev\/ttyUSB0 is listed twice/],
    [['--protocol', 'stm32', '--file', __filename, '--port', '/dev/ttyUSB0', '--mtu', '512'], /--mtu: applies to mcuboot devices only/]
  ]
  for (const [args, message] of usage) {
    it(`usage: batch ${args.slice(4).join(' ')}`, async () => {
      const r = await runCli(['batch', ...args, '--data-dir', join(work.dir, 'usage')])
      expect(r.code).toBe(2)
      expect(r.stderr).toMatch(message)
      expect(r.stderr.trim().split('\n')).toHaveLength(1)
    })
  }
})

describe('Bench.batch: retries and station mode', () => {
  it('retries a unit whose port dropped, but never one whose image does not fit', async () => {
    // a board whose cable fails the first time it is opened
    let opens = 0
    const flaky = new YmodemDevice({ personality: 'st-iap', version: '1.0.0' })
    registerSimBoard('batch-flaky', async () => ({
      open: async () => {
        if (++opens === 1) {
          const [host] = memoryPair('sim:batch-flaky', 'dev')
          setTimeout(() => host.lose(), 20)
          return host
        }
        return memoryBoard('batch-flaky', flaky).open()
      }
    }))
    const small = new Stm32Device('f1', { flashSizeKiB: 16 })
    registerSimBoard('batch-small', async () => memoryBoard('batch-small', small))
    const bench = new Bench({ dataDir: join(work.dir, 'retry') })
    const y = bench.batch({ slot: { protocol: 'ymodem' }, file: firmware('r.bin', '2.0.0', 20_000), ports: ['sim:batch-flaky'], retries: 2 })
    const units: UnitInfo[] = []
    y.on('unit', (u) => units.push(u))
    await y.start()
    const ys = await y.done
    expect(units.map((u) => [u.attempt, u.state])).toEqual([
      [0, 'running'],
      [0, 'retrying'],
      [1, 'running'],
      [1, 'succeeded']
    ])
    expect(ys).toMatchObject({ passed: 1, failed: 0 })
    const s = bench.batch({ slot: { protocol: 'stm32' }, file: firmware('big.bin', '2.0.0', 20 * 1024), ports: ['sim:batch-small'], retries: 3 })
    await s.start()
    const ss = await s.done
    expect(ss.units).toEqual([expect.objectContaining({ attempt: 0, state: 'failed', reason: 'install-failed', message: expect.stringMatching(/does not fit/) })])
    await bench.close()
  })

  it('station mode: flashes allowed boards as they arrive, never touches others, waits for a flashed board to leave, stops after --count', async () => {
    const boards = new Map<string, YmodemDevice>()
    const present = new Map<string, PortListing>()
    const arrive = (name: string, vendorId: string, productId: string) => {
      if (!boards.has(name)) {
        const device = new YmodemDevice({ personality: 'st-iap', version: '1.0.0' })
        boards.set(name, device)
        registerSimBoard(name, async () => memoryBoard(name, device))
      }
      present.set(`sim:${name}`, { path: `sim:${name}`, vendorId, productId })
    }
    const leave = (name: string) => present.delete(`sim:${name}`)
    const bench = new Bench({ dataDir: join(work.dir, 'station') })
    const run = bench.batch({
      slot: { protocol: 'ymodem' },
      file: firmware('s.bin', '3.1.0', 8000),
      watch: { match: [{ vendorId: '1a86', productId: '7523' }], count: 3, list: async () => [...present.values()], intervalMs: 50 },
      concurrency: 2
    })
    const events: string[] = []
    run.on('unit', (u) => u.state !== 'running' && events.push(`${u.port} ${u.state}`))
    run.on('ignored', (p) => events.push(`${p.port} ignored`))
    run.on('waiting-removal', (p) => events.push(`${p.port} remove`))
    const until = async (what: string, ok: () => boolean) => {
      const deadline = Date.now() + 20_000
      while (!ok()) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${events.join(', ')}`)
        await new Promise((r) => setTimeout(r, 20))
      }
    }
    await run.start()
    arrive('st-a', '1a86', '7523')
    arrive('st-x', '0403', '6001') // an FTDI adapter that is not on the allow-list
    await until('unit a', () => events.includes('sim:st-a remove'))
    // still on the fixture: not flashed again, however long it stays
    await new Promise((r) => setTimeout(r, 300))
    expect(events.filter((e) => e.startsWith('sim:st-a succeeded'))).toHaveLength(1)
    expect(boards.get('st-x')!.received).toHaveLength(0)
    expect(events).toContain('sim:st-x ignored')
    // removed and put back (the next unit in the same fixture): flashed again
    leave('st-a')
    await new Promise((r) => setTimeout(r, 150))
    arrive('st-a', '1a86', '7523')
    arrive('st-b', '1A86', '7523')
    await until('three units', () => events.filter((e) => e.endsWith('succeeded')).length === 3)
    const summary = await run.done
    expect(summary).toMatchObject({ passed: 3, failed: 0 })
    expect(boards.get('st-a')!.received).toHaveLength(2)
    expect(boards.get('st-b')!.received).toHaveLength(1)
    expect(boards.get('st-x')!.received).toHaveLength(0)
    expect(bench.queryRecords().records.filter((r) => r.origin === 'batch')).toHaveLength(3)
    await bench.close()
  })

  it('stop lets running units finish; cancel ends them as cancelled', async () => {
    const slow = (name: string) => {
      const device = new YmodemDevice({ personality: 'st-iap', version: '1.0.0', programDelayMs: 15 })
      registerSimBoard(name, async () => memoryBoard(name, device))
      return `sim:${name}`
    }
    const bench = new Bench({ dataDir: join(work.dir, 'stop') })
    const fw = firmware('slow.bin', '5.0.0', 64 * 1024)
    const graceful = bench.batch({ slot: { protocol: 'ymodem' }, file: fw, ports: [slow('g1'), slow('g2'), slow('g3')], concurrency: 2 })
    const started: string[] = []
    graceful.on('unit', (u) => u.state === 'running' && started.push(u.port))
    await graceful.start()
    graceful.stop()
    const g = await graceful.done
    expect(started).toEqual(['sim:g1', 'sim:g2'])
    expect(g).toMatchObject({ passed: 2, failed: 0, cancelled: 0 })
    const hard = bench.batch({ slot: { protocol: 'ymodem' }, file: fw, ports: [slow('h1'), slow('h2')] })
    await hard.start()
    await new Promise<void>((resolve) => bench.on('progress', (p) => p.stage === 'write' && p.done > 0 && resolve()))
    hard.cancel()
    const h = await hard.done
    expect(h).toMatchObject({ passed: 0, cancelled: 2 })
    await bench.close()
  })
})
