import { useTranslation } from 'react-i18next'
import type { JobPhase, JobView } from '../../../preload/contract'
import { Icon, type IconName } from './Icon'

export type StepName = 'download' | 'check' | 'verify' | 'flash' | 'prove' | 'report'
export type StepState = 'done' | 'current' | 'failed' | 'cancelled' | 'todo'

/** Which step each phase belongs to (received comes before the first). */
const STEP_OF: Partial<Record<JobPhase, number>> = { downloading: 0, checking: 0, verified: 1, flashing: 2, proving: 3, reporting: 4 }

export function stepsOf(job: Pick<JobView, 'origin' | 'phase' | 'history'>): Array<{ name: StepName; state: StepState }> {
  const names: StepName[] = job.origin === 'platform' ? ['download', 'verify', 'flash', 'prove', 'report'] : ['check', 'verify', 'flash', 'prove']
  const ended = job.phase === 'failed' || job.phase === 'cancelled'
  let reached = -1
  for (const h of job.history) reached = Math.max(reached, STEP_OF[h.phase] ?? -1)
  reached = Math.max(reached, STEP_OF[job.phase] ?? -1)
  return names.map((name, i) => {
    let state: StepState
    if (job.phase === 'succeeded') state = 'done'
    else if (i < reached) state = 'done'
    else if (i === reached) state = ended ? (job.phase === 'failed' ? 'failed' : 'cancelled') : 'current'
    else if (ended && reached < 0 && i === 0) state = job.phase === 'failed' ? 'failed' : 'cancelled'
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
