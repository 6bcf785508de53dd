import { useTranslation } from 'react-i18next'
import { useNotices, useStore } from '../../store/context'
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
          <span>{n.text}</span>
          <button type="button" onClick={() => store.dismissNotice(n.id)} aria-label={t('action.dismiss')}>
            ×
          </button>
        </div>
      ))}
    </div>
  )
}
