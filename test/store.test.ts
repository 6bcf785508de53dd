import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import type { JobRecord } from '../main/engine/jobs/job-record'
import { Station, type StationEvent } from '../main/engine/jobs/station'
import { lockDir } from '../main/engine/store/dir-lock'
import { Outbox } from '../main/engine/store/outbox'
import { prepareDataDir } from '../main/engine/util/data-dir'
import { fakeAdapter, FakePublisher, order, until, waitFor, work } from './harness/fake-platform'
import { fillDisk, smallDisk } from './harness/tmpfs'
import { tempDir } from './harness/tmp'

const slots = [
  { deviceId: 'd1', port: 'sim:x', protocol: 'ymodem' as const, currentVersion: '1.0' },
  { deviceId: 'd2', port: 'sim:y', protocol: 'ymodem' as const, currentVersion: '1.0' }
]

function logs(station: Station): Array<{ level?: string; message: string }> {
  const out: Array<{ level?: string; message: string }> = []
  station.on('event', (e: StationEvent) => e.type === 'station-log' && out.push({ level: e.level, message: e.message }))
  return out
}

function outboxFile(dir: string, seq: number, body: string): string {
  mkdirSync(join(dir, 'outbox'), { recursive: true })
  const file = join(dir, 'outbox', `${String(seq).padStart(12, '0')}-abc.json`)
  writeFileSync(file, body)
  return file
}

const goodEntry = (seq: number, topic = 'up/d1') =>
  JSON.stringify({ id: `${String(seq).padStart(12, '0')}-abc`, message: { topic, payload: `{"n":${seq}}`, qos: 1 }, queuedAt: 1 })

describe('outbox: a damaged entry never blocks the reports behind it', () => {
  it('quarantines {}, null, garbage and a wildcard topic with a log line naming each file, and sends the rest in order', async () => {
    const { dir, cleanup } = tempDir()
    try {
      const bad = [
        outboxFile(dir, 1, '{}'),
        outboxFile(dir, 2, 'null'),
        outboxFile(dir, 3, '{"id": torn'),
        outboxFile(dir, 4, goodEntry(4, 'a/#'))
      ]
      outboxFile(dir, 5, goodEntry(5))
      writeFileSync(join(dir, 'outbox', '000000000006-abc.json.123.tmp'), '') // left by a process that died mid-write
      const pub = new FakePublisher()
      const station = new Station({ dataDir: dir, adapter: fakeAdapter, slots, work: work() })
      const log = logs(station)
      station.attach(pub)
      await until('the good report to be sent', () => pub.sent.length === 1)
      expect(pub.sent[0]).toEqual({ topic: 'up/d1', payload: '{"n":5}', qos: 1 })
      for (const file of bad) {
        expect(existsSync(file)).toBe(false)
        expect(log.some((l) => l.level === 'error' && l.message.includes(file) && l.message.includes('quarantine'))).toBe(true)
      }
      expect(log.find((l) => l.message.includes('000000000004'))?.message).toMatch(/wildcard/)
      expect(readdirSync(join(dir, 'quarantine'))).toHaveLength(4)
      expect(readdirSync(join(dir, 'outbox')).filter((n) => n.endsWith('.tmp'))).toEqual([])
      // new reports keep flowing
      const closed = waitFor(station, (e) => e.type === 'job-closed')
      station.handleDownlink('down', order('d1', 'o1', '2.0'))
      await closed
      expect(station.outbox.size).toBe(0)
      await station.stop()
    } finally {
      cleanup()
    }
  })
})

describe('state files of the wrong shape are named, quarantined and recovered', () => {
  for (const body of ['{}', '[]', '"x"', '{"configured": 3', 'null']) {
    it(`versions.json holding ${body}: warns naming the file and rebuilds the flashed version from the journal`, async () => {
      const { dir, cleanup } = tempDir()
      try {
        const s1 = new Station({ dataDir: dir, adapter: fakeAdapter, slots, work: work() })
        s1.attach(new FakePublisher())
        const closed = waitFor(s1, (e) => e.type === 'job-closed')
        s1.handleDownlink('down', order('d1', 'o1', '2.0'))
        await closed
        await s1.stop()
        const file = join(dir, 'versions.json')
        writeFileSync(file, body)
        const s2 = new Station({ dataDir: dir, adapter: fakeAdapter, slots, work: work() })
        // the constructor logs before anyone could listen: its warning is in the event log of the next start as well
        expect(s2.context.currentVersion('d1')).toBe('2.0')
        expect(s2.context.currentVersion('d2')).toBe('1.0')
        expect(existsSync(file)).toBe(true) // rewritten, well-formed
        expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({ configured: { d1: '1.0', d2: '1.0' }, current: { d1: '2.0', d2: '1.0' } })
        expect(readdirSync(join(dir, 'quarantine')).some((n) => n.startsWith('versions.json.'))).toBe(true)
        await s2.stop()
      } finally {
        cleanup()
      }
    })
  }

  it('job files holding {}, null or [] are quarantined with an error naming them; the agent starts', async () => {
    const { dir, cleanup } = tempDir()
    try {
      mkdirSync(join(dir, 'jobs'), { recursive: true })
      const files = ['{}', 'null', '[]', '{not json'].map((body, i) => {
        const f = join(dir, 'jobs', `bad${i}.json`)
        writeFileSync(f, body)
        return f
      })
      const station = new Station({ dataDir: dir, adapter: fakeAdapter, slots, work: work() })
      const log = logs(station)
      station.attach(new FakePublisher())
      for (const f of files) expect(log.some((l) => l.level === 'error' && l.message.includes(f) && l.message.includes('quarantine'))).toBe(true)
      expect(readdirSync(join(dir, 'jobs'))).toEqual([])
      await station.stop()
    } finally {
      cleanup()
    }
  })

  it('a job whose order survived but whose state did not is reported failed ("state lost"), never forgotten', async () => {
    const { dir, cleanup } = tempDir()
    try {
      const s1 = new Station({ dataDir: dir, adapter: fakeAdapter, slots, work: work({ flash: () => new Promise(() => undefined) }) })
      s1.attach(new FakePublisher())
      const flashing = waitFor(s1, (e) => e.type === 'phase' && e.job.phase === 'flashing')
      s1.handleDownlink('down', order('d1', 'o1', '2.0'))
      const job = ((await flashing) as { job: JobRecord }).job
      // the process dies; its job file is found damaged: the order is there, the phase is not
      const file = join(dir, 'jobs', `${job.id}.json`)
      const damaged = JSON.parse(readFileSync(file, 'utf8'))
      damaged.phase = 'exploded'
      writeFileSync(file, JSON.stringify(damaged))
      const pub = new FakePublisher()
      const w = work()
      const s2 = new Station({ dataDir: dir, adapter: fakeAdapter, slots, work: w })
      const log = logs(s2)
      const closed = waitFor(s2, (e) => e.type === 'job-closed')
      s2.attach(pub)
      const e = (await closed) as { job: JobRecord }
      expect(e.job.outcome).toMatchObject({ result: 'failed', reason: 'internal' })
      expect(e.job.outcome?.message).toMatch(/state was lost/)
      expect(JSON.parse(pub.sent.at(-1)!.payload)).toEqual({ t: 'fail', r: 'internal', v: '1.0' })
      expect(w.flashed).toEqual([])
      expect(log.some((l) => l.message.includes(file) && l.message.includes('o1'))).toBe(true)
      await s2.stop()
    } finally {
      cleanup()
    }
  })
})

describe('secrets and modes on disk', () => {
  it('drops the bearer token and the presigned query from the journal once the job has its outcome; folders 0700, files 0600', async () => {
    const { dir, cleanup } = tempDir()
    try {
      const adapter = {
        ...fakeAdapter,
        decode: (topic: string, payload: Buffer, ctx: Parameters<typeof fakeAdapter.decode>[2]) =>
          fakeAdapter.decode(topic, payload, ctx).map((a) =>
            a.type === 'order' ? { ...a, order: { ...a.order, source: { url: 'https://obs.example/p.bin?X-Signature=abc123', bearerToken: 'tok-SECRET' } } } : a
          )
      }
      const station = new Station({ dataDir: dir, adapter, slots, work: work() })
      station.attach(new FakePublisher())
      const closed = waitFor(station, (e) => e.type === 'job-closed')
      station.handleDownlink('down', order('d1', 'o1', '2.0'))
      const { job } = (await closed) as { job: JobRecord }
      const text = readFileSync(join(dir, 'jobs', `${job.id}.json`), 'utf8')
      expect(text).not.toContain('tok-SECRET')
      expect(text).not.toContain('abc123')
      expect(JSON.parse(text).order.source).toEqual({ url: 'https://obs.example/p.bin' })
      for (const d of [join(dir, 'jobs'), join(dir, 'outbox')]) expect(statSync(d).mode & 0o777).toBe(0o700)
      for (const f of [join(dir, 'jobs', `${job.id}.json`), join(dir, 'versions.json'), join(dir, 'records.jsonl')]) expect(statSync(f).mode & 0o777).toBe(0o600)
      await station.stop()
    } finally {
      cleanup()
    }
  })
})

describe('the data directory', () => {
  it('refuses unusable paths at once, naming the path and the OS error', () => {
    const started = Date.now()
    expect(() => prepareDataDir('/proc/flashline/data')).toThrow(/\/proc\/flashline\/data cannot be used: cannot create \/proc\/flashline \(ENOENT\)/)
    expect(() => prepareDataDir('/etc/hostname/data')).toThrow(/\/etc\/hostname is not a directory \(ENOTDIR\)/)
    expect(Date.now() - started).toBeLessThan(1000)
  })

  it('one station identity is served by one process: a live owner is named, a dead one is taken over', () => {
    const { dir, cleanup } = tempDir()
    try {
      writeFileSync(join(dir, 'lock'), JSON.stringify({ pid: process.ppid, host: require('node:os').hostname(), since: '2026-12-01T00:00:00Z', what: 'iotda-dev01' }))
      expect(() => lockDir(dir, 'iotda-dev01')).toThrow(new RegExp(`iotda-dev01 is already being served from .* by another Flashline process \\(pid ${process.ppid}`))
      writeFileSync(join(dir, 'lock'), JSON.stringify({ pid: 2 ** 22 + 12345, host: require('node:os').hostname(), since: 'x', what: 'iotda-dev01' }))
      const release = lockDir(dir, 'iotda-dev01')
      expect(JSON.parse(readFileSync(join(dir, 'lock'), 'utf8')).pid).toBe(process.pid)
      release()
      expect(existsSync(join(dir, 'lock'))).toBe(false)
    } finally {
      cleanup()
    }
  })
})

describe('a full disk', () => {
  it('starts up, and gives the space kept for reports to the reports of the job that hit it', async () => {
    const disk = smallDisk(2048)
    try {
      const dir = join(disk.dir, 'station')
      const pub = new FakePublisher()
      pub.online = false
      const s1 = new Station({ dataDir: dir, adapter: fakeAdapter, slots, work: work() })
      await s1.stop()
      fillDisk(disk.dir)
      // starting on a full disk works
      const station = new Station({ dataDir: dir, adapter: fakeAdapter, slots, work: work() })
      const log = logs(station)
      station.attach(pub)
      const reporting = waitFor(station, (e) => e.type === 'phase' && e.job.phase === 'reporting')
      station.handleDownlink('down', order('d1', 'o1', '2.0'))
      await reporting
      expect(log.some((l) => /space kept for reports was used/.test(l.message))).toBe(true)
      expect(log.some((l) => l.level === 'error' && /cannot save job/.test(l.message))).toBe(true)
      expect(station.outbox.size).toBe(5)
      expect(readdirSync(join(dir, 'outbox')).filter((n) => n.endsWith('.tmp'))).toEqual([])
      pub.online = true
      const closed = waitFor(station, (e) => e.type === 'job-closed')
      pub.emit('connect')
      await closed
      expect(pub.sent.map((m) => JSON.parse(m.payload).t)).toEqual(['progress', 'progress', 'progress', 'progress', 'ok'])
      await station.stop()
    } finally {
      disk.cleanup()
    }
  })

  it('when even the reserve is used up, a report is kept in memory (said so) and still sent', () => {
    const disk = smallDisk(1024)
    try {
      const problems: string[] = []
      const outbox = new Outbox(disk.dir, (_level, m) => problems.push(m))
      fillDisk(disk.dir)
      const [a] = outbox.add([{ topic: 'up', payload: 'a', qos: 1 }])
      fillDisk(disk.dir)
      const [b] = outbox.add([{ topic: 'up', payload: 'b', qos: 1 }])
      expect(problems[0]).toMatch(/space kept for reports was used/)
      expect(problems[1]).toMatch(/kept in memory only/)
      expect(outbox.pending().map((e) => e.message.payload)).toEqual(['a', 'b'])
      outbox.acknowledge(b!.id)
      outbox.acknowledge(a!.id)
      expect(outbox.size).toBe(0)
    } finally {
      disk.cleanup()
    }
  })

  it('an Outbox with room writes its reserve', () => {
    const { dir, cleanup } = tempDir()
    try {
      new Outbox(dir)
      expect(statSync(join(dir, 'outbox', '.reserve')).size).toBe(256 * 1024)
    } finally {
      cleanup()
    }
  })
})
