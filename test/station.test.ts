import { EventEmitter } from 'node:events'
import { describe, expect, it } from 'vitest'
import { FlashlineError } from '../main/engine/errors'
import type { JobRecord } from '../main/engine/jobs/job-record'
import { Station, type StationEvent, type StationWork } from '../main/engine/jobs/station'
import type { JobReport, OutboundMessage, UpgradeOrder } from '../main/engine/model'
import type { PlatformAdapter } from '../main/engine/platforms/adapter'
import { tempDir } from './harness/tmp'

/** A minimal platform: orders come as JSON {orderId, deviceId, version}; reports go out as JSON. */
const fakeAdapter: PlatformAdapter = {
  platform: 'iotda',
  login: () => ({ clientId: 'x' }),
  subscriptions: () => ['down'],
  onConnected: () => [],
  decode(_topic, payload, ctx) {
    let o: { orderId: string; deviceId: string; version: string }
    try {
      o = JSON.parse(payload.toString())
    } catch {
      return [{ type: 'ignored', reason: 'not JSON' }]
    }
    if (ctx.currentVersion(o.deviceId) === undefined) return [{ type: 'ignored', reason: 'not served' }]
    const order: UpgradeOrder = { platform: 'iotda', orderId: o.orderId, deviceId: o.deviceId, kind: 'firmware', targetVersion: o.version, source: { url: 'https://x/p.bin' }, expect: {}, wire: {}, receivedAt: Date.now() }
    return [{ type: 'order', order }]
  },
  encodeReport(report: JobReport): OutboundMessage[] {
    const body =
      report.type === 'progress'
        ? { t: 'progress', p: report.progress, v: report.currentVersion }
        : report.type === 'succeeded'
          ? { t: 'ok', v: report.version }
          : { t: 'fail', r: report.reason, v: report.currentVersion }
    return [{ topic: `up/${report.order.deviceId}`, payload: JSON.stringify(body), qos: 1 }]
  }
}

class FakePublisher extends EventEmitter {
  sent: OutboundMessage[] = []
  online = true
  get connected(): boolean {
    return this.online
  }
  async publish(m: OutboundMessage): Promise<void> {
    if (!this.online) throw new FlashlineError('platform', 'offline', 'offline')
    this.sent.push(m)
  }
}

const pkg = { path: __filename, size: 1, sha256: 'a', md5: 'b', sum32: 'c' }

function work(overrides: Partial<StationWork> = {}): StationWork & { flashed: string[] } {
  const flashed: string[] = []
  return {
    flashed,
    download: async () => pkg,
    flash: async (job, _slot, _pkg, _signal, _p, onPhase) => {
      flashed.push(job.order.deviceId)
      onPhase('proving')
      return { result: { bytesWritten: 1, verified: 'device' }, probedVersion: job.order.targetVersion }
    },
    ...overrides
  }
}

function order(deviceId: string, orderId: string, version: string): Buffer {
  return Buffer.from(JSON.stringify({ deviceId, orderId, version }))
}

function waitFor(station: Station, pred: (e: StationEvent) => boolean): Promise<StationEvent> {
  return new Promise((resolve) => station.on('event', (e: StationEvent) => pred(e) && resolve(e)))
}

const slots = [
  { deviceId: 'd1', port: 'sim:x', protocol: 'ymodem' as const, currentVersion: '1.0' },
  { deviceId: 'd2', port: 'sim:y', protocol: 'ymodem' as const, currentVersion: '1.0' }
]

describe('station: jobs, journal and outbox', () => {
  it('runs an order through every phase, reports in order, closes on acknowledgement and remembers the version', async () => {
    const { dir, cleanup } = tempDir()
    try {
      const pub = new FakePublisher()
      const w = work()
      const station = new Station({ dataDir: dir, adapter: fakeAdapter, slots, work: w })
      station.attach(pub)
      const closed = waitFor(station, (e) => e.type === 'job-closed')
      station.handleDownlink('down', order('d1', 'o1', '2.0'))
      const e = (await closed) as { job: JobRecord }
      expect(e.job.phase).toBe('succeeded')
      expect(e.job.history.map((h) => h.phase)).toEqual(['received', 'downloading', 'verified', 'flashing', 'proving', 'reporting', 'succeeded'])
      expect(pub.sent.map((m) => JSON.parse(m.payload))).toEqual([
        { t: 'progress', p: 5, v: '1.0' },
        { t: 'progress', p: 30, v: '1.0' },
        { t: 'progress', p: 40, v: '1.0' },
        { t: 'progress', p: 90, v: '1.0' },
        { t: 'ok', v: '2.0' }
      ])
      expect(station.outbox.size).toBe(0)
      expect(station.context.currentVersion('d1')).toBe('2.0')
      expect(station.context.currentVersion('nobody')).toBeUndefined()
      await station.stop()
    } finally {
      cleanup()
    }
  })

  it('keeps reports on disk while the broker does not acknowledge and sends them after a restart', async () => {
    const { dir, cleanup } = tempDir()
    try {
      const offline = new FakePublisher()
      offline.online = false
      const s1 = new Station({ dataDir: dir, adapter: fakeAdapter, slots, work: work() })
      s1.attach(offline)
      const reporting = waitFor(s1, (e) => e.type === 'phase' && e.job.phase === 'reporting')
      s1.handleDownlink('down', order('d1', 'o1', '2.0'))
      await reporting
      await s1.stop()
      expect(s1.outbox.size).toBe(5)
      expect(s1.jobs()[0]!.phase).toBe('reporting')

      // "Restart": a new station on the same data dir, with the broker back.
      const online = new FakePublisher()
      const s2 = new Station({ dataDir: dir, adapter: fakeAdapter, slots, work: work() })
      const closed = waitFor(s2, (e) => e.type === 'job-closed')
      s2.attach(online)
      await closed
      expect(online.sent).toHaveLength(5)
      expect(JSON.parse(online.sent[4]!.payload)).toEqual({ t: 'ok', v: '2.0' })
      expect(s2.jobs()[0]!.phase).toBe('succeeded')
      // The flashed version survives the restart.
      expect(s2.context.currentVersion('d1')).toBe('2.0')
      await s2.stop()
    } finally {
      cleanup()
    }
  })

  it('resumes a job a killed process left mid-download', async () => {
    const { dir, cleanup } = tempDir()
    try {
      const s1 = new Station({ dataDir: dir, adapter: fakeAdapter, slots, work: work({ download: () => new Promise(() => undefined) }) })
      s1.attach(new FakePublisher())
      const downloading = waitFor(s1, (e) => e.type === 'phase' && e.job.phase === 'downloading')
      s1.handleDownlink('down', order('d1', 'o1', '2.0'))
      await downloading
      // The process dies here: s1 is abandoned without stop().
      const w = work()
      const s2 = new Station({ dataDir: dir, adapter: fakeAdapter, slots, work: w })
      const closed = waitFor(s2, (e) => e.type === 'job-closed')
      s2.attach(new FakePublisher())
      const e = (await closed) as { job: JobRecord }
      expect(e.job.phase).toBe('succeeded')
      expect(e.job.runs).toBe(2)
      expect(w.flashed).toEqual(['d1'])
      await s2.stop()
    } finally {
      cleanup()
    }
  })

  it('reports a verification failure without flashing and keeps the old version', async () => {
    const { dir, cleanup } = tempDir()
    try {
      const pub = new FakePublisher()
      const w = work({
        download: async () => {
          throw new FlashlineError('integrity', 'hash-mismatch', 'sha256 mismatch')
        }
      })
      const station = new Station({ dataDir: dir, adapter: fakeAdapter, slots, work: w })
      station.attach(pub)
      const closed = waitFor(station, (e) => e.type === 'job-closed')
      station.handleDownlink('down', order('d1', 'o1', '2.0'))
      const e = (await closed) as { job: JobRecord }
      expect(e.job.phase).toBe('failed')
      expect(e.job.outcome?.reason).toBe('verification-failed')
      expect(w.flashed).toEqual([])
      expect(JSON.parse(pub.sent.at(-1)!.payload)).toEqual({ t: 'fail', r: 'verification-failed', v: '1.0' })
      expect(station.context.currentVersion('d1')).toBe('1.0')
      await station.stop()
    } finally {
      cleanup()
    }
  })

  it('fails truthfully when the probe sees another version than ordered', async () => {
    const { dir, cleanup } = tempDir()
    try {
      const pub = new FakePublisher()
      const w = work({ flash: async () => ({ result: { bytesWritten: 1, verified: 'device' }, probedVersion: 'v2.0' }) })
      const station = new Station({ dataDir: dir, adapter: fakeAdapter, slots, work: w })
      station.attach(pub)
      const closed = waitFor(station, (e) => e.type === 'job-closed')
      station.handleDownlink('down', order('d1', 'o1', 'V2.0'))
      const e = (await closed) as { job: JobRecord }
      expect(e.job.outcome?.reason).toBe('version-mismatch')
      expect(e.job.outcome?.message).toContain('"v2.0"')
      expect(e.job.outcome?.message).toContain('"V2.0"')
      await station.stop()
    } finally {
      cleanup()
    }
  })

  it('ignores a repeated order, refuses a second order for a busy device, and serves two devices at once', async () => {
    const { dir, cleanup } = tempDir()
    try {
      const pub = new FakePublisher()
      let release: () => void = () => undefined
      const gate = new Promise<void>((r) => (release = r))
      const w = work({
        download: async () => {
          await gate
          return pkg
        }
      })
      const station = new Station({ dataDir: dir, adapter: fakeAdapter, slots, work: w })
      station.attach(pub)
      const closedIds: string[] = []
      station.on('event', (e: StationEvent) => e.type === 'job-closed' && closedIds.push(`${e.job.order.orderId}:${e.job.phase}`))
      station.handleDownlink('down', order('d1', 'o1', '2.0'))
      station.handleDownlink('down', order('d1', 'o1', '2.0'))
      station.handleDownlink('down', order('d1', 'o2', '3.0'))
      station.handleDownlink('down', order('d2', 'o3', '2.0'))
      station.handleDownlink('down', Buffer.from('{not json'))
      await new Promise((r) => setTimeout(r, 50))
      release()
      while (closedIds.length < 3) await new Promise((r) => setTimeout(r, 20))
      expect(closedIds.sort()).toEqual(['o1:succeeded', 'o2:failed', 'o3:succeeded'])
      expect(w.flashed.sort()).toEqual(['d1', 'd2'])
      const busy = station.jobs().find((j) => j.order.orderId === 'o2')!
      expect(busy.outcome?.reason).toBe('busy')
      await station.stop()
    } finally {
      cleanup()
    }
  })
})
