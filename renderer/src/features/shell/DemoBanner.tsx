import { useState } from 'react'
import { useTranslation } from 'react-i18next'
import type { ApiError } from '../../../../preload/contract'
import { useApp } from '../../store/context'
import { ErrorBox } from '../../ui/Hints'

/** First launch with nothing configured: the simulated platforms and boards, and one button to watch a whole upgrade. */
export function DemoBanner({ onStarted }: { onStarted: () => void }): React.JSX.Element {
  const { t } = useTranslation()
  const { api } = useApp()
  const [error, setError] = useState<ApiError | null>(null)
  const [started, setStarted] = useState(false)
  const run = async (): Promise<void> => {
    setStarted(true)
    onStarted()
    const r = await api.runDemo()
    setStarted(false)
    setError(r.ok ? null : r.error)
  }
  return (
    <section className="demo-banner" aria-labelledby="demo-h">
      <h2 id="demo-h">{t('demo.title')}</h2>
      <p>{t('demo.explain')}</p>
      <button type="button" className="primary big" onClick={() => void run()} disabled={started}>
        {started ? t('demo.running') : t('demo.run')}
      </button>
      {error && <ErrorBox error={error} />}
    </section>
  )
}
