import { useTranslation } from 'react-i18next'
import { useConnections } from '../../store/context'
import { Icon } from '../../ui/Icon'

/** Every platform connection's state in the header, on every screen. */
export function StatusStrip(): React.JSX.Element {
  const { t } = useTranslation()
  const connections = useConnections()
  const live = connections.filter((c) => c.status !== 'stopped')
  if (live.length === 0)
    return (
      <span className="status-strip status-strip--none">
        <Icon name="unplug" />
        {t('connection.noneShort')}
      </span>
    )
  return (
    <span className="status-strip">
      {live.map((c) => (
        <span key={c.id} className={`badge badge--conn-${c.status}`} data-connection-id={c.id}>
          <Icon name={c.status === 'online' ? 'plug' : c.status === 'connecting' ? 'running' : 'unplug'} />
          {t('connection.short', { platform: t(`platform.${c.platform}`), status: t(`connection.status.${c.status}`), pending: c.activeJobs, outbox: c.outbox })}
        </span>
      ))}
    </span>
  )
}
