import { memo, useState } from 'react'
import { useTranslation } from 'react-i18next'
import type { JobView } from '../../../../preload/contract'
import { versionText } from '../../format'
import { hintsFor } from '../../hints'
import { isFinished } from '../../store/store'
import { useApi, useJob, usePortJobId, useSlotJobId } from '../../store/context'
import { failureOfJob } from '../../ui/Hints'
import { Icon } from '../../ui/Icon'
import { Progress } from '../../ui/Progress'
import { StatusBadge, type RunState } from '../../ui/StatusBadge'

export const runStateOf = (job: JobView | undefined): RunState => (!job ? 'idle' : isFinished(job) ? (job.result ?? (job.phase as RunState)) : 'running')

const SHOWS_PROGRESS = new Set(['downloading', 'checking', 'flashing'])

/** One slot of the bench, readable from a metre away; re-renders only when its own job changes. */
export const SlotTile = memo(function SlotTile({ slotId, label, port }: { slotId: string; label: string; port: string }) {
  const jobId = useSlotJobId(slotId)
  return <Tile jobId={jobId} label={label} port={port} />
})

/** A station-mode lane: the port a board arrived on. */
export const PortTile = memo(function PortTile({ port }: { port: string }) {
  const jobId = usePortJobId(port)
  return <Tile jobId={jobId} label={port} port={port} />
})

const Tile = memo(function Tile({ jobId, label, port }: { jobId: string | undefined; label: string; port: string }) {
  const { t } = useTranslation()
  const job = useJob(jobId)
  const api = useApi()
  const [cancelling, setCancelling] = useState(false)
  const state = runStateOf(job)
  const running = state === 'running'
  const hints = job && state === 'failed' ? hintsFor(failureOfJob(job)) : []
  const progress = job && running && job.progress && SHOWS_PROGRESS.has(job.phase) ? job.progress : undefined
  return (
    <article className={`tile tile--${state}`} data-job-id={job?.id} data-result={job ? state : undefined} data-port={port} aria-label={t('tile.aria', { label, state: t(`state.${state}`) })}>
      <header className="tile__head">
        <h3 className="tile__label">{label}</h3>
        <span className="tile__port mono">{port}</span>
      </header>
      <p className="tile__chip">
        <span className="tile__key">{t('tile.chip')}</span> <span>{job?.chip ?? '—'}</span>
        {job?.chipId && <span className="tile__chipid mono"> {job.chipId}</span>}
      </p>
      {job?.serialNumber && (
        <p className="tile__serial">
          <span className="tile__key">{t('tile.serial')}</span> <span className="mono">{job.serialNumber}</span>
        </p>
      )}
      <p className="tile__phase">{job ? t(`phase.${job.phase}`) : t('tile.idle')}</p>
      {progress && <Progress progress={progress} label={t('tile.progressOf', { label })} />}
      <StatusBadge state={state} large />
      {job?.duplicate && (
        <p className="tile__warning">
          <Icon name="warning" />
          <span>{t('tile.duplicate')}</span>
        </p>
      )}
      {job && state === 'failed' && (
        <div className="tile__failure">
          <p className="tile__reason">{t(`reason.${knownReason(job.reason)}`)}</p>
          {hints[0] && <p className="tile__hint">{t(`hint.${hints[0]}`)}</p>}
          {job.message && <p className="tile__message mono" title={job.message}>{job.message}</p>}
          {hints.includes('portOpen') && <p className="tile__hint">{t('tile.seeRecover')}</p>}
        </div>
      )}
      {job && state === 'succeeded' && (job.probedVersion ?? job.version) && <p className="tile__version">{t('tile.version', { version: versionText(job.probedVersion ?? job.version, t('common.unknown')) })}</p>}
      {job && running && (
        <button
          type="button"
          className="tile__cancel danger"
          disabled={cancelling}
          onClick={() => {
            setCancelling(true)
            void api.cancelJob({ jobId: job.id }).finally(() => setCancelling(false))
          }}
        >
          {t('action.cancel')}
        </button>
      )}
    </article>
  )
})

const REASONS = ['download-timeout', 'download-refused', 'verification-failed', 'install-failed', 'version-mismatch', 'busy', 'cancelled', 'internal'] as const
export type KnownReason = (typeof REASONS)[number]
export const knownReason = (r: string | undefined): KnownReason => ((REASONS as readonly string[]).includes(r ?? '') ? (r as KnownReason) : 'internal')
