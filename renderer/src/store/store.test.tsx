import { afterEach, describe, expect, it, vi } from 'vitest'
import type { JobView, ProgressView } from '../../../preload/contract'
import { AppStore, frameSchedule, topic } from './store'

/** A store whose frames are run by hand. */
function manualStore(): { store: AppStore; frames: Array<() => void>; frame: () => void } {
  const frames: Array<() => void> = []
  const store = new AppStore((f) => frames.push(f))
  return { store, frames, frame: () => frames.splice(0).forEach((f) => f()) }
}

const job = (id: string, patch: Partial<JobView> = {}): JobView => ({ id, origin: 'batch', phase: 'flashing', startVersion: '1.0.0', createdAt: 1000, updatedAt: 1000, history: [{ phase: 'received', at: 1000 }], ...patch })
const progress = (done: number): ProgressView => ({ stage: 'write', done, total: 1000, bytesPerSec: 100 })

describe('AppStore', () => {
  it('applies events at once but tells listeners once per frame, with the latest value', () => {
    const { store, frames, frame } = manualStore()
    store.apply({ type: 'job', job: job('j1', { slotId: 's1' }) })
    frame()
    const seen: Array<number | undefined> = []
    store.subscribe(topic.job('j1'), () => seen.push(store.job('j1')?.progress?.done))
    for (let i = 1; i <= 10; i++) store.apply({ type: 'progress', jobId: 'j1', slotId: 's1', progress: progress(i * 100) })
    expect(frames).toHaveLength(1)
    expect(seen).toEqual([])
    frame()
    expect(seen).toEqual([1000])
    frame()
    expect(seen).toEqual([1000])
  })

  it("one job's progress wakes that job's listeners only", () => {
    const { store, frame } = manualStore()
    store.apply({ type: 'job', job: job('a', { slotId: 's1' }) })
    store.apply({ type: 'job', job: job('b', { slotId: 's2' }) })
    frame()
    const woke: string[] = []
    for (const key of [topic.job('a'), topic.job('b'), topic.jobs, topic.slotJob('s1'), topic.slotJob('s2'), topic.batch]) store.subscribe(key, () => woke.push(key))
    store.apply({ type: 'progress', jobId: 'a', progress: progress(5) })
    frame()
    expect(woke).toEqual([topic.job('a')])
  })

  it('the job list changes on new jobs and phase changes, not on progress', () => {
    const { store, frame } = manualStore()
    let n = 0
    store.subscribe(topic.jobs, () => n++)
    store.apply({ type: 'job', job: job('a') })
    frame()
    expect(n).toBe(1)
    store.apply({ type: 'progress', jobId: 'a', progress: progress(1) })
    store.apply({ type: 'job', job: job('a', { updatedAt: 1001, progress: undefined }) })
    frame()
    expect(n).toBe(1)
    // a job event without progress keeps the last progress while the job runs
    expect(store.job('a')?.progress?.done).toBe(1)
    store.apply({ type: 'job', job: job('a', { phase: 'succeeded', result: 'succeeded', updatedAt: 1002 }) })
    frame()
    expect(n).toBe(2)
    expect(store.job('a')?.progress).toBeUndefined()
  })

  it('a late, older answer does not roll a job back; progress after the end is ignored', () => {
    const { store, frame } = manualStore()
    store.apply({ type: 'job', job: job('a', { phase: 'failed', result: 'failed', updatedAt: 2000 }) })
    store.putJob(job('a', { phase: 'flashing', updatedAt: 1500 }))
    store.apply({ type: 'progress', jobId: 'a', progress: progress(9) })
    frame()
    expect(store.job('a')?.phase).toBe('failed')
    expect(store.job('a')?.progress).toBeUndefined()
  })

  it("a slot shows its newest job (a retry replaces the failed attempt), and the slot's own jobId before any event", () => {
    const { store, frame } = manualStore()
    store.setSlots([{ id: 's1', label: 'Slot 1', settings: { port: '/dev/ttyUSB0', protocol: 'stm32' }, jobId: 'j0' }])
    expect(store.jobIdOfSlot('s1')).toBe('j0')
    store.apply({ type: 'job', job: job('j2', { slotId: 's1', createdAt: 3000 }) })
    store.apply({ type: 'job', job: job('j1', { slotId: 's1', createdAt: 2000 }) })
    frame()
    expect(store.jobIdOfSlot('s1')).toBe('j2')
    expect(store.jobIdOfPort('/dev/ttyUSB0')).toBeUndefined()
    store.apply({ type: 'job', job: job('j3', { port: '/dev/ttyUSB0', createdAt: 4000 }) })
    expect(store.jobIdOfPort('/dev/ttyUSB0')).toBe('j3')
  })

  it('keeps connections by id, the last log lines, and the last notices', () => {
    const { store, frame } = manualStore()
    const conn = { id: 'c1', platform: 'iotda' as const, identity: 'd', broker: 'mqtts://x', status: 'connecting' as const, outbox: 0, activeJobs: 0, devices: [] }
    store.apply({ type: 'connection', connection: conn })
    store.apply({ type: 'connection', connection: { ...conn, status: 'online', outbox: 3 } })
    for (let i = 0; i < 600; i++) store.apply({ type: 'log', line: { time: String(i), level: 'info', source: 'job', message: `line ${i}` } })
    for (let i = 0; i < 8; i++) store.apply({ type: 'notice', kind: 'job-failed', text: `n${i}` })
    frame()
    expect(store.connections).toEqual([{ ...conn, status: 'online', outbox: 3 }])
    expect(store.logs).toHaveLength(500)
    expect(store.logs.at(-1)?.message).toBe('line 599')
    expect(store.notices.map((n) => n.text)).toEqual(['n3', 'n4', 'n5', 'n6', 'n7'])
  })

  it('forgets the oldest finished jobs beyond 300, but never one a slot shows', () => {
    const { store, frame } = manualStore()
    store.apply({ type: 'job', job: job('shown', { slotId: 's1', phase: 'succeeded', result: 'succeeded', createdAt: 1 }) })
    for (let i = 0; i < 400; i++) store.apply({ type: 'job', job: job(`j${i}`, { phase: 'succeeded', result: 'succeeded', createdAt: 10 + i }) })
    store.apply({ type: 'job', job: job('running', { createdAt: 0 }) })
    frame()
    expect(store.jobList.length).toBeLessThanOrEqual(303)
    expect(store.job('shown')).toBeDefined()
    expect(store.job('running')).toBeDefined()
    expect(store.job('j0')).toBeUndefined()
    expect(store.job('j399')).toBeDefined()
  })
})

describe('frameSchedule', () => {
  afterEach(() => vi.useRealTimers())

  it('flushes at once when idle, then no more often than every 100 ms', () => {
    vi.useFakeTimers()
    const schedule = frameSchedule(100)
    const at: number[] = []
    const t0 = performance.now()
    schedule(() => at.push(performance.now() - t0))
    vi.advanceTimersByTime(1)
    expect(at).toEqual([0])
    schedule(() => at.push(performance.now() - t0))
    vi.advanceTimersByTime(60)
    expect(at).toHaveLength(1)
    vi.advanceTimersByTime(50)
    expect(at).toHaveLength(2)
    expect(at[1]).toBeGreaterThanOrEqual(100)
    // a store on this schedule tells a listener once for a burst of events
    const store = new AppStore(frameSchedule(100))
    store.apply({ type: 'job', job: job('a') })
    let n = 0
    vi.advanceTimersByTime(200)
    store.subscribe(topic.job('a'), () => n++)
    for (let i = 0; i < 20; i++) {
      store.apply({ type: 'progress', jobId: 'a', progress: progress(i) })
      vi.advanceTimersByTime(10)
    }
    vi.advanceTimersByTime(200)
    expect(n).toBeLessThanOrEqual(3)
    expect(store.job('a')?.progress?.done).toBe(19)
  })
})
