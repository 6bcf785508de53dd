import { memo } from 'react'
import { useTranslation } from 'react-i18next'
import { formatNumber, formatPercent } from '../../format'
import { useBatch } from '../../store/context'
import { Icon } from '../../ui/Icon'

/** Passed, failed, yield and units per hour of the current batch run. */
export const Counters = memo(function Counters() {
  const { t, i18n } = useTranslation()
  const batch = useBatch()
  const lng = i18n.language
  const decided = batch ? batch.passed + batch.failed : 0
  return (
    <section className="counters" aria-label={t('counters.title')} data-batch-state={batch?.state ?? 'none'}>
      <div className="counter counter--passed" data-testid="counter-passed">
        <span className="counter__label">
          <Icon name="check" />
          {t('counters.passed')}
        </span>
        <span className="counter__value">{formatNumber(batch?.passed ?? 0, lng)}</span>
      </div>
      <div className="counter counter--failed" data-testid="counter-failed">
        <span className="counter__label">
          <Icon name="cross" />
          {t('counters.failed')}
        </span>
        <span className="counter__value">{formatNumber(batch?.failed ?? 0, lng)}</span>
      </div>
      <div className="counter" data-testid="counter-yield">
        <span className="counter__label">{t('counters.yield')}</span>
        <span className="counter__value">{batch && decided > 0 ? formatPercent(batch.yield, lng) : '—'}</span>
      </div>
      <div className="counter" data-testid="counter-uph">
        <span className="counter__label">{t('counters.unitsPerHour')}</span>
        <span className="counter__value">{batch ? formatNumber(batch.unitsPerHour, lng) : '—'}</span>
      </div>
      <div className="counter counter--state">
        <span className="counter__label">{t('counters.batch')}</span>
        <span className="counter__value counter__value--small">{t(`batchState.${batch?.state ?? 'none'}`)}</span>
      </div>
    </section>
  )
})
