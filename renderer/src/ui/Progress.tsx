import { useTranslation } from 'react-i18next'
import type { ProgressView } from '../../../preload/contract'
import { etaSeconds, formatBytes, formatDuration } from '../format'

/** A progress bar with what it measures: stage, bytes done of total, speed and time left. */
export function Progress({ progress, label }: { progress: ProgressView; label: string }): React.JSX.Element {
  const { t, i18n } = useTranslation()
  const lng = i18n.language
  const { done, total, bytesPerSec, stage } = progress
  const eta = etaSeconds(done, total, bytesPerSec)
  return (
    <div className="progress" data-stage={stage}>
      <progress aria-label={label} max={total && total > 0 ? total : undefined} value={total && total > 0 ? Math.min(done, total) : undefined} />
      <div className="progress__figures">
        <span className="progress__stage">{t(`stage.${stage}`)}</span>
        <span className="progress__bytes">{total ? t('progress.bytesOf', { done: formatBytes(done, lng), total: formatBytes(total, lng) }) : formatBytes(done, lng)}</span>
        <span className="progress__speed">{t('progress.speed', { speed: formatBytes(bytesPerSec, lng) })}</span>
        <span className="progress__eta">{eta === undefined ? t('progress.etaUnknown') : t('progress.eta', { eta: formatDuration(eta) })}</span>
      </div>
    </div>
  )
}
