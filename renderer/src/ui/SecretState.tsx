import { useTranslation } from 'react-i18next'
import { Icon } from './Icon'

/** Whether a secret is stored (its value never comes back). */
export function SecretState({ set }: { set: boolean }): React.JSX.Element {
  const { t } = useTranslation()
  return (
    <span className={`secret-state secret-state--${set ? 'set' : 'unset'}`} data-set={set}>
      <Icon name={set ? 'check' : 'pending'} />
      {set ? t('secret.set') : t('secret.notSet')}
    </span>
  )
}
