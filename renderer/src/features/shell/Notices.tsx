import { useTranslation } from 'react-i18next'
import type { Notice } from '../../store/store'
import { useJob, useNotices, useStore } from '../../store/context'
import { Icon } from '../../ui/Icon'

/** Jobs that failed and batches that ended while nobody looked. */
export function Notices(): React.JSX.Element | null {
  const { t } = useTranslation()
  const notices = useNotices()
  const store = useStore()
  if (notices.length === 0) return null
  return (
    <div className="notices" aria-live="polite">
      {notices.map((n) => (
        <div key={n.id} className={`notice notice--${n.kind}`}>
          <Icon name={n.kind === 'job-failed' ? 'warning' : 'info'} />
          <strong>{t(`notice.${n.kind}`)}</strong>
          <NoticeText notice={n} />
          <button type="button" onClick={() => store.dismissNotice(n.id)} aria-label={t('action.dismiss')}>
            ×
          </button>
        </div>
      ))}
    </div>
  )
}

/** The notice in the page's language from the job or batch it is about; the host's English words only when neither is known. */
function NoticeText({ notice }: { notice: Notice }): React.JSX.Element {
  const { t } = useTranslation()
  const job = useJob(notice.jobId)
  if (notice.kind === 'batch-ended' && notice.counts) {
    const { passed, failed, cancelled } = notice.counts
    return <span>{t('notice.batchSummary', { passed, failed }) + (cancelled ? t('notice.batchCancelled', { cancelled }) : '')}</span>
  }
  if (notice.kind === 'job-failed' && job) {
    return (
      <span>
        {t('notice.jobOn', { what: job.port ?? job.deviceId ?? job.id })} {job.message && <span className="mono small">{job.message}</span>}
      </span>
    )
  }
  return <span>{notice.text}</span>
}
