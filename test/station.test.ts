import { describe, expect, it } from 'vitest'
import { FlashlineError } from '../main/engine/errors'
import type { JobRecord } from '../main/engine/jobs/job-record'
import { FAILED_REPLAY_WINDOW_MS, Station, type StationEvent } from '../main/engine/jobs/station'
import { fakeAdapter, FakePublisher, order, pkg, until, waitFor, work } from './harness/fake-platform'
import { tempDir } from './harness/tmp'

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
      station.on('event', (e: StationEvent) => e.type === 'job-closed' && closedIds.push(`${e.job.order!.orderId}:${e.job.phase}`))
      station.handleDownlink('down', order('d1', 'o1', '2.0'))
      station.handleDownlink('down', order('d1', 'o1', '2.0'))
      station.handleDownlink('down', order('d1', 'o2', '3.0'))
      station.handleDownlink('down', order('d2', 'o3', '2.0'))
      station.handleDownlink('down', Buffer.from('{not json'))
      await new Promise((r) => setTimeout(r, 50))
      release()
      await until('three closed jobs', () => closedIds.length >= 3)
      expect(closedIds.sort()).toEqual(['o1:succeeded', 'o2:failed', 'o3:succeeded'])
      expect(w.flashed.sort()).toEqual(['d1', 'd2'])
      const busy = station.jobs().find((j) => j.order.orderId === 'o2')!
      expect(busy.outcome?.reason).toBe('busy')
      await station.stop()
    } finally {
      cleanup()
    }
  })

  it('refuses an order with no checksum unless the station allows unverified packages, and records it', async () => {
    const { dir, cleanup } = tempDir()
    try {
      const pub = new FakePublisher()
      const w = work()
      const strict = new Station({ dataDir: dir, adapter: fakeAdapter, slots, work: w })
      strict.attach(pub)
      const closed = waitFor(strict, (e) => e.type === 'job-closed')
      strict.handleDownlink('down', order('d1', 'o1', '2.0', { unsigned: true }))
      const e = (await closed) as { job: JobRecord }
      expect(e.job.outcome).toMatchObject({ result: 'failed', reason: 'verification-failed' })
      expect(e.job.outcome?.message).toContain('no checksum')
      expect(e.job.history.map((h) => h.phase)).toEqual(['received', 'reporting', 'failed'])
      expect(w.flashed).toEqual([])
      expect(pub.sent.map((m) => JSON.parse(m.payload))).toEqual([{ t: 'fail', r: 'verification-failed', v: '1.0' }])
      await strict.stop()

      const lax = new Station({ dataDir: dir, adapter: fakeAdapter, slots, work: w, allowUnverified: true })
      lax.attach(pub)
      const done = waitFor(lax, (e) => e.type === 'job-closed')
      lax.handleDownlink('down', order('d2', 'o2', '2.0', { unsigned: true }))
      const ok = (await done) as { job: JobRecord }
      expect(ok.job.phase).toBe('succeeded')
      expect(ok.job.unverified).toBe(true)
      expect(w.flashed).toEqual(['d2'])
      await lax.stop()
    } finally {
      cleanup()
    }
  })

  it('answers a refused order with a failure report, and tells a decoder defect apart from an ignored message', async () => {
    const { dir, cleanup } = tempDir()
    try {
      const pub = new FakePublisher()
      const w = work()
      const station = new Station({ dataDir: dir, adapter: fakeAdapter, slots, work: w })
      station.attach(pub)
      const events: StationEvent[] = []
      station.on('event', (e: StationEvent) => events.push(e))
      const closed = waitFor(station, (e) => e.type === 'job-closed')
      station.handleDownlink('down', order('d1', 'o1', '2.0', { refuse: 'sign is not a SHA-256 digest' }))
      const e = (await closed) as { job: JobRecord }
      expect(e.job.outcome).toMatchObject({ result: 'failed', reason: 'verification-failed', message: 'sign is not a SHA-256 digest' })
      expect(w.flashed).toEqual([])
      station.handleDownlink('down', order('d1', 'o9', '2.0', { crash: true }))
      station.handleDownlink('down', Buffer.from('{not json'))
      expect(events.filter((x) => x.type === 'downlink-error')).toEqual([{ type: 'downlink-error', topic: 'down', error: 'TypeError: boom' }])
      expect(events.filter((x) => x.type === 'downlink-ignored')).toEqual([{ type: 'downlink-ignored', topic: 'down', reason: 'not JSON' }])
      await station.stop()
    } finally {
      cleanup()
    }
  })

  it('never flashes a replayed order twice: while reporting it is ignored, once ended its result is reported again', async () => {
    const { dir, cleanup } = tempDir()
    try {
      const pub = new FakePublisher()
      pub.online = false
      const w = work()
      const station = new Station({ dataDir: dir, adapter: fakeAdapter, slots, work: w })
      station.attach(pub)
      const reporting = waitFor(station, (e) => e.type === 'phase' && e.job.phase === 'reporting')
      station.handleDownlink('down', order('d1', 'o1', '2.0'))
      await reporting
      // redelivered while its final report waits for the broker: nothing new happens
      station.handleDownlink('down', order('d1', 'o1', '2.0'))
      expect(station.jobs()).toHaveLength(1)
      expect(station.outbox.size).toBe(5)
      pub.online = true
      const closed = waitFor(station, (e) => e.type === 'job-closed')
      pub.emit('connect')
      await closed
      await until('the outbox to drain', () => station.outbox.size === 0)
      const before = pub.sent.length
      // replayed after it ended (also after a restart): the recorded success is reported again
      await station.stop()
      const again = new Station({ dataDir: dir, adapter: fakeAdapter, slots, work: w })
      again.attach(pub)
      again.handleDownlink('down', order('d1', 'o1', '2.0'))
      await until('the repeated report', () => pub.sent.length === before + 1)
      expect(JSON.parse(pub.sent.at(-1)!.payload)).toEqual({ t: 'ok', v: '2.0' })
      expect(w.flashed).toEqual(['d1'])
      expect(again.jobs()).toHaveLength(1)
      await again.stop()
    } finally {
      cleanup()
    }
  })

  it('takes a failed order id that comes back after the redelivery window as the platform retrying it', async () => {
    const { dir, cleanup } = tempDir()
    try {
      const pub = new FakePublisher()
      let fail = true
      const w = work({
        download: async () => {
          if (fail) throw new FlashlineError('download', 'network', 'connection reset')
          return pkg
        }
      })
      const station = new Station({ dataDir: dir, adapter: fakeAdapter, slots, work: w })
      station.attach(pub)
      const failed = waitFor(station, (e) => e.type === 'job-closed')
      station.handleDownlink('down', order('d1', 'o1', '2.0'))
      expect(((await failed) as { job: JobRecord }).job.phase).toBe('failed')
      // within the window: the failure is repeated, nothing is downloaded
      fail = false
      station.handleDownlink('down', order('d1', 'o1', '2.0'))
      await until('the repeated failure', () => JSON.parse(pub.sent.at(-1)!.payload).t === 'fail' && pub.sent.filter((m) => JSON.parse(m.payload).t === 'fail').length === 2)
      expect(w.flashed).toEqual([])
      // after the window: a new attempt
      const job = station.jobs()[0]!
      job.updatedAt -= FAILED_REPLAY_WINDOW_MS + 1000
      station.journal.save(job)
      const retried = waitFor(station, (e) => e.type === 'job-closed' && e.job.id !== job.id)
      station.handleDownlink('down', order('d1', 'o1', '2.0'))
      expect(((await retried) as { job: JobRecord }).job.outcome).toMatchObject({ result: 'succeeded' })
      expect(w.flashed).toEqual(['d1'])
      await station.stop()
    } finally {
      cleanup()
    }
  })

  it('a failed order that comes back with a fresh package address is retried at once; the same one again is a redelivery', async () => {
    const { dir, cleanup } = tempDir()
    try {
      const pub = new FakePublisher()
      const w = work({
        download: async (job) => {
          if (job.order.source.url.endsWith('?expired')) throw new FlashlineError('download', 'refused', 'HTTP 401: the token has expired')
          return pkg
        }
      })
      const station = new Station({ dataDir: dir, adapter: fakeAdapter, slots, work: w })
      station.attach(pub)
      const failed = waitFor(station, (e) => e.type === 'job-closed')
      station.handleDownlink('down', order('d1', 'o1', '2.0', { url: 'https://x/p.bin?expired' }))
      const first = ((await failed) as { job: JobRecord }).job
      expect(first.outcome?.reason).toBe('download-refused')
      // the same message again: answered from the journal, nothing downloaded or flashed
      station.handleDownlink('down', order('d1', 'o1', '2.0', { url: 'https://x/p.bin?expired' }))
      expect(station.jobs()).toHaveLength(1)
      // the platform's fresh URL for the same task: a new attempt, which succeeds
      const retried = waitFor(station, (e) => e.type === 'job-closed' && e.job.id !== first.id)
      station.handleDownlink('down', order('d1', 'o1', '2.0', { url: 'https://x/p.bin?fresh' }))
      expect(((await retried) as { job: JobRecord }).job.outcome).toMatchObject({ result: 'succeeded' })
      expect(w.flashed).toEqual(['d1'])
      await station.stop()
    } finally {
      cleanup()
    }
  })
})
