import { useState } from 'react'
import { useTranslation } from 'react-i18next'
import type { ApiError, ConnectionView } from '../../../../preload/contract'
import { useApp } from '../../store/context'
import { refreshProfiles } from '../../store/sync'
import { ErrorBox } from '../../ui/Hints'
import { Icon, type IconName } from '../../ui/Icon'

const STATUS_ICON: Record<ConnectionView['status'], IconName> = { connecting: 'running', online: 'plug', offline: 'unplug', stopped: 'cancel', failed: 'cross' }

/** A platform connection: live status told by colour, icon and word; pending orders and outbox. */
export function ConnectionCard({ connection }: { connection: ConnectionView }): React.JSX.Element {
  const { t } = useTranslation()
  const { api, store } = useApp()
  const [error, setError] = useState<ApiError | null>(null)
  const c = connection
  return (
    <article className={`connection connection--${c.status}`} data-connection-id={c.id} data-status={c.status}>
      <header className="connection__head">
        <span className={`badge badge--conn-${c.status}`}>
          <Icon name={STATUS_ICON[c.status]} />
          <span>{t(`connection.status.${c.status}`)}</span>
        </span>
        <h3>
          {t(`platform.${c.platform}`)} · <span className="mono">{c.identity}</span>
        </h3>
      </header>
      <dl className="connection__facts">
        <dt>{t('profile.broker')}</dt>
        <dd className="mono">{c.broker}</dd>
        <dt>{t('connection.pending')}</dt>
        <dd data-testid="pending-orders">{c.activeJobs}</dd>
        <dt>{t('connection.outbox')}</dt>
        <dd data-testid="outbox">{c.outbox}</dd>
        <dt>{t('connection.devices')}</dt>
        <dd>{c.devices.map((d) => `${d.deviceId} (${d.port}${d.version ? `, ${d.version}` : ''})`).join('; ') || '—'}</dd>
      </dl>
      {c.error && (
        <p className="connection__error" role="alert">
          <Icon name="warning" />
          <code>{c.error}</code>
        </p>
      )}
      {c.status !== 'stopped' && (
        <button
          type="button"
          onClick={() =>
            void api.disconnect({ connectionId: c.id }).then(async (r) => {
              setError(r.ok ? null : r.error)
              await refreshProfiles(api, store)
            })
          }
        >
          {t('action.disconnect')}
        </button>
      )}
      {error && <ErrorBox error={error} />}
    </article>
  )
}
