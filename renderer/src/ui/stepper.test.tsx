import { describe, expect, it } from 'vitest'
import type { JobPhase, JobView } from '../../../preload/contract'
import { stepsOf } from './PhaseStepper'

const job = (origin: JobView['origin'], phases: JobPhase[], reason?: string) => ({
  origin,
  phase: phases.at(-1)!,
  reason,
  history: phases.map((phase, at) => ({ phase, at }))
})
const states = (j: ReturnType<typeof job>): string => stepsOf(j).map((s) => `${s.name}:${s.state}`).join(' ')

describe('phase stepper', () => {
  it('walks a platform order through download → verify → flash → prove → reported', () => {
    expect(states(job('platform', ['received']))).toBe('download:todo verify:todo flash:todo prove:todo report:todo')
    expect(states(job('platform', ['received', 'downloading']))).toBe('download:current verify:todo flash:todo prove:todo report:todo')
    expect(states(job('platform', ['received', 'downloading', 'verified', 'flashing']))).toBe('download:done verify:done flash:current prove:todo report:todo')
    expect(states(job('platform', ['received', 'downloading', 'verified', 'flashing', 'proving', 'reporting']))).toBe('download:done verify:done flash:done prove:done report:current')
    expect(states(job('platform', ['received', 'downloading', 'verified', 'flashing', 'proving', 'reporting', 'succeeded']))).toBe('download:done verify:done flash:done prove:done report:done')
  })

  it('marks the step a job failed or was cancelled in', () => {
    expect(states(job('platform', ['received', 'downloading', 'failed'], 'download-refused'))).toBe('download:failed verify:todo flash:todo prove:todo report:todo')
    expect(states(job('platform', ['received', 'downloading', 'failed'], 'verification-failed'))).toBe('download:done verify:failed flash:todo prove:todo report:todo')
    expect(states(job('platform', ['received', 'downloading', 'verified', 'failed'], 'install-failed'))).toBe('download:done verify:done flash:failed prove:todo report:todo')
    expect(states(job('platform', ['received', 'downloading', 'verified', 'flashing', 'proving', 'failed'], 'version-mismatch'))).toBe('download:done verify:done flash:done prove:failed report:todo')
    expect(states(job('platform', ['received', 'cancelled'], 'cancelled'))).toBe('download:cancelled verify:todo flash:todo prove:todo report:todo')
  })

  it('a local or batch job checks its package, flashes and proves (nothing to report)', () => {
    expect(states(job('local', ['received', 'checking', 'verified', 'flashing']))).toBe('check:done flash:current prove:todo')
    expect(states(job('batch', ['received', 'checking', 'verified', 'flashing', 'proving', 'succeeded']))).toBe('check:done flash:done prove:done')
    expect(states(job('batch', ['received', 'checking', 'failed'], 'verification-failed'))).toBe('check:failed flash:todo prove:todo')
  })
})
