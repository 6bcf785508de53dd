import { useTranslation } from 'react-i18next'
import type { JobPhase, JobView } from '../../../preload/contract'
import { Icon, type IconName } from './Icon'

export type StepName = 'download' | 'check' | 'verify' | 'flash' | 'prove' | 'report'
export type StepState = 'done' | 'current' | 'failed' | 'cancelled' | 'todo'

/**
 * Where each phase puts a job: the index of the step under way (or next). A verified package means
 * the download and verify steps are done, so the flash step is next.
 */
const PLATFORM_AT: Partial<Record<JobPhase, number>> = { downloading: 0, checking: 0, verified: 2, flashing: 2, proving: 3, reporting: 4 }
const LOCAL_AT: Partial<Record<JobPhase, number>> = { checking: 0, downloading: 0, verified: 1, flashing: 1, proving: 2, reporting: 2 }

export function stepsOf(job: Pick<JobView, 'origin' | 'phase' | 'history' | 'reason'>): Array<{ name: StepName; state: StepState }> {
  const platform = job.origin === 'platform'
  const names: StepName[] = platform ? ['download', 'verify', 'flash', 'prove', 'report'] : ['check', 'flash', 'prove']
  const at = platform ? PLATFORM_AT : LOCAL_AT
  const ended = job.phase === 'failed' || job.phase === 'cancelled'
  let position = -1
  for (const h of job.history) position = Math.max(position, at[h.phase] ?? -1)
  position = Math.max(position, at[job.phase] ?? -1)
  // a package that failed its hash check failed the verify step, not the download
  if (platform && job.phase === 'failed' && job.reason === 'verification-failed' && position < 1) position = 1
  if (ended && position < 0) position = 0
  return names.map((name, i) => {
    let state: StepState
    if (job.phase === 'succeeded' || i < position) state = 'done'
    else if (i === position) state = job.phase === 'failed' ? 'failed' : job.phase === 'cancelled' ? 'cancelled' : 'current'
    else state = 'todo'
    return { name, state }
  })
}

const ICON: Record<StepState, IconName | null> = { done: 'check', current: 'running', failed: 'cross', cancelled: 'cancel', todo: null }

/** download → verify → flash → prove → reported, each step with icon and words for its state. */
export function PhaseStepper({ job }: { job: JobView }): React.JSX.Element {
  const { t } = useTranslation()
  return (
    <ol className="stepper" aria-label={t('job.steps')}>
      {stepsOf(job).map(({ name, state }, i) => {
        const icon = ICON[state]
        return (
          <li key={name} className={`stepper__step stepper__step--${state}`} data-step={name} data-state={state} aria-current={state === 'current' ? 'step' : undefined}>
            <span className="stepper__mark">{icon ? <Icon name={icon} /> : <span aria-hidden="true">{i + 1}</span>}</span>
            <span className="stepper__label">{t(`step.${name}`)}</span>
            <span className="visually-hidden">{t(`stepState.${state}`)}</span>
          </li>
        )
      })}
    </ol>
  )
}
