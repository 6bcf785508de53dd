import { useState } from 'react'
import { useTranslation } from 'react-i18next'
import type { ApiError } from '../../../../preload/contract'
import { useApp } from '../../store/context'
import { ErrorBox } from '../../ui/Hints'
import { Icon } from '../../ui/Icon'
import { Modal } from '../../ui/Modal'

/** Shown in operator mode: says so, and leaves it only with the admin PIN. */
export function OperatorBar(): React.JSX.Element {
  const { t } = useTranslation()
  const { api, store } = useApp()
  const [asking, setAsking] = useState(false)
  const [pin, setPin] = useState('')
  const [error, setError] = useState<ApiError | null>(null)
  // the host checks the PIN slowly on purpose (a key-derivation function): one check at a time
  const [checking, setChecking] = useState(false)
  const unlock = async (e: React.FormEvent): Promise<void> => {
    e.preventDefault()
    if (checking || pin === '') return
    setChecking(true)
    const r = await api.unlockOperatorMode({ pin })
    setChecking(false)
    setPin('')
    if (!r.ok) return setError(r.error)
    setError(null)
    setAsking(false)
    store.setSettings(r.value)
  }
  return (
    <div className="operator-bar" role="note">
      <Icon name="info" />
      <span>{t('operator.active')}</span>
      <button type="button" onClick={() => setAsking(true)}>
        {t('operator.leave')}
      </button>
      {asking && (
        <Modal
          title={t('operator.leaveTitle')}
          onClose={() => {
            setAsking(false)
            setError(null)
          }}
        >
          <form onSubmit={(e) => void unlock(e)}>
            <label htmlFor="unlock-pin">{t('operator.adminPin')}</label>
            <input id="unlock-pin" type="password" inputMode="numeric" autoComplete="off" value={pin} onChange={(e) => setPin(e.target.value)} />
            {error && <ErrorBox error={error} />}
            <div className="row">
              <button type="submit" className="primary" disabled={pin === '' || checking}>
                {t('operator.unlock')}
              </button>
              <button type="button" onClick={() => setAsking(false)}>
                {t('action.cancel')}
              </button>
            </div>
          </form>
        </Modal>
      )}
    </div>
  )
}
