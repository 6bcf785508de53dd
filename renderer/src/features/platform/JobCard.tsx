import { memo, useState } from 'react'
import { useTranslation } from 'react-i18next'
import { formatTime, versionText } from '../../format'
import { useApi, useInfo, useJob } from '../../store/context'
import { Hints, failureOfJob } from '../../ui/Hints'
import { PhaseStepper } from '../../ui/PhaseStepper'
import { Progress } from '../../ui/Progress'
import { StatusBadge } from '../../ui/StatusBadge'
import { knownReason, runStateOf } from '../bench/SlotTile'

/** One job: where it is on download → verify → flash → prove → reported, and what to do when it failed. */
export const JobCard = memo(function JobCard({ jobId }: { jobId: string }) {
  const { t, i18n } = useTranslation()
  const job = useJob(jobId)
  const api = useApi()
  const info = useInfo()
  const [cancelling, setCancelling] = useState(false)
  if (!job) return null
  const state = runStateOf(job)
  return (
    <article className={`job-card job-card--${state}`} data-job-id={job.id} data-result={state}>
      <header className="job-card__head">
        <StatusBadge state={state} />
        <h3 className="job-card__title">
          {job.deviceId ?? job.port ?? job.id}
          {job.targetVersion && <span className="job-card__version"> → {job.targetVersion}</span>}
        </h3>
        <span className="job-card__time">{formatTime(job.createdAt, i18n.language)}</span>
      </header>
      <PhaseStepper job={job} />
      {state === 'running' && job.progress && <Progress progress={job.progress} label={t('job.progressOf', { id: job.deviceId ?? job.id })} />}
      <dl className="job-card__facts">
        <dt>{t('job.origin')}</dt>
        <dd>{t(`origin.${job.origin}`)}</dd>
        {job.port && (
          <>
            <dt>{t('slot.port')}</dt>
            <dd className="mono">{job.port}</dd>
          </>
        )}
        {job.orderId && (
          <>
            <dt>{t('job.order')}</dt>
            <dd className="mono">{job.orderId}</dd>
          </>
        )}
        <dt>{t('job.fromVersion')}</dt>
        <dd>{versionText(job.startVersion, t('common.unknown'))}</dd>
        {(job.probedVersion ?? job.version) && (
          <>
            <dt>{t('job.nowVersion')}</dt>
            <dd>{versionText(job.probedVersion ?? job.version, t('common.unknown'))}</dd>
          </>
        )}
        {job.chip && (
          <>
            <dt>{t('tile.chip')}</dt>
            <dd>
              {job.chip} {job.chipId && <span className="mono">{job.chipId}</span>}
            </dd>
          </>
        )}
      </dl>
      {state === 'failed' && (
        <div className="job-card__failure" role="group" aria-label={t('job.failure')}>
          <p className="job-card__reason">{t(`reason.${knownReason(job.reason)}`)}</p>
          {job.message && <p className="mono small">{job.message}</p>}
          <Hints failure={failureOfJob(job)} platform={info?.platform} />
        </div>
      )}
      {state === 'running' && (
        <button
          type="button"
          className="danger"
          disabled={cancelling}
          onClick={() => {
            setCancelling(true)
            void api.cancelJob({ jobId: job.id }).finally(() => setCancelling(false))
          }}
        >
          {t('action.cancelJob')}
        </button>
      )}
    </article>
  )
})
