import { useEffect, useState } from 'react'
import { useTranslation } from 'react-i18next'
import type { ApiError, Language, Settings, SettingsPatch } from '../../../../preload/contract'
import { formatBytes } from '../../format'
import { patternCompiles } from '../../serial'
import { useApp, useInfo, usePackages, useSettings } from '../../store/context'
import { refreshPackages } from '../../store/sync'
import { ErrorBox } from '../../ui/Hints'
import { SecretState } from '../../ui/SecretState'
import { SlotEditor } from './SlotEditor'

/** Settings (hidden in operator mode): language, serial pattern, station, records database, PIN, slots, packages. */
export function SettingsView(): React.JSX.Element {
  const { t } = useTranslation()
  const { api, store } = useApp()
  const settings = useSettings()
  const info = useInfo()
  const [error, setError] = useState<ApiError | null>(null)
  const [saved, setSaved] = useState(false)

  const update = async (patch: SettingsPatch): Promise<boolean> => {
    const r = await api.updateSettings(patch)
    if (!r.ok) {
      setError(r.error)
      return false
    }
    setError(null)
    store.setSettings(r.value)
    setSaved(true)
    return true
  }
  useEffect(() => {
    if (!saved) return
    const h = setTimeout(() => setSaved(false), 2000)
    return () => clearTimeout(h)
  }, [saved])

  if (!settings) return <p>{t('common.loading')}</p>
  return (
    <div className="settings">
      <section aria-labelledby="general-h" className="settings__section">
        <h2 id="general-h">{t('settings.general')}</h2>
        <div className="grid-form">
          <label htmlFor="set-language">{t('settings.language')}</label>
          <select id="set-language" value={settings.language} onChange={(e) => void update({ language: e.target.value as Language | 'system' })}>
            <option value="system">{t('settings.languageSystem', { locale: info?.systemLocale ?? '' })}</option>
            <option value="en">English</option>
            <option value="zh-CN">简体中文</option>
          </select>
        </div>
        <GeneralForm settings={settings} onSave={update} />
        {saved && (
          <p role="status" className="saved">
            {t('settings.saved')}
          </p>
        )}
      </section>
      <PinSection settings={settings} />
      <SlotEditor />
      <PackagesSection />
      {error && <ErrorBox error={error} />}
      {info && (
        <section aria-labelledby="about-h" className="settings__section">
          <h2 id="about-h">{t('settings.about')}</h2>
          <dl>
            <dt>{t('settings.version')}</dt>
            <dd>{info.version}</dd>
            <dt>{t('settings.dataDir')}</dt>
            <dd className="mono">{info.dataDir}</dd>
            <dt>{t('settings.host')}</dt>
            <dd>{t(`host.${info.host}`)}</dd>
          </dl>
        </section>
      )}
    </div>
  )
}

function GeneralForm({ settings, onSave }: { settings: Settings; onSave: (p: SettingsPatch) => Promise<boolean> }): React.JSX.Element {
  const { t } = useTranslation()
  const [pattern, setPattern] = useState(settings.serialPattern)
  const [station, setStation] = useState(settings.station ?? '')
  const [operator, setOperator] = useState(settings.operator ?? '')
  const [db, setDb] = useState('')
  const patternBad = !patternCompiles(pattern)
  return (
    <form
      className="grid-form"
      aria-label={t('settings.general')}
      onSubmit={(e) => {
        e.preventDefault()
        if (patternBad) return
        void onSave({ serialPattern: pattern, station, operator, ...(db ? { recordsDb: db } : {}) }).then((ok) => ok && setDb(''))
      }}
    >
      <label htmlFor="set-pattern">{t('settings.serialPattern')}</label>
      <input id="set-pattern" className="mono" value={pattern} onChange={(e) => setPattern(e.target.value)} aria-invalid={patternBad} placeholder="^SN\d{8}$" />
      {patternBad && <p className="field-error">{t('settings.patternBad')}</p>}
      <label htmlFor="set-station">{t('settings.station')}</label>
      <input id="set-station" value={station} onChange={(e) => setStation(e.target.value)} />
      <label htmlFor="set-operator">{t('settings.operator')}</label>
      <input id="set-operator" value={operator} onChange={(e) => setOperator(e.target.value)} />
      <label htmlFor="set-db">
        {t('settings.recordsDb')} <SecretState set={settings.recordsDb?.set ?? false} />
      </label>
      <input id="set-db" type="password" value={db} onChange={(e) => setDb(e.target.value)} placeholder={settings.recordsDb?.set ? t('profile.keepSecret') : 'postgres://user@host/db'} autoComplete="off" />
      <span />
      <div className="row">
        <button type="submit" className="primary" disabled={patternBad}>
          {t('action.save')}
        </button>
        {settings.recordsDb?.set && (
          <button type="button" className="danger" onClick={() => void onSave({ recordsDb: null })}>
            {t('settings.removeDb')}
          </button>
        )}
      </div>
    </form>
  )
}

function PinSection({ settings }: { settings: Settings }): React.JSX.Element {
  const { t } = useTranslation()
  const { api, store } = useApp()
  const [pin, setPin] = useState('')
  const [again, setAgain] = useState('')
  const [current, setCurrent] = useState('')
  const [error, setError] = useState<ApiError | null>(null)
  const [done, setDone] = useState(false)
  const short = pin !== '' && pin.length < 4
  const differ = again !== '' && pin !== again

  const savePin = async (e: React.FormEvent): Promise<void> => {
    e.preventDefault()
    if (short || differ || pin === '') return
    const r = await api.setAdminPin({ pin, ...(settings.adminPinSet ? { currentPin: current } : {}) })
    if (!r.ok) return setError(r.error)
    setError(null)
    store.setSettings(r.value)
    setPin('')
    setAgain('')
    setCurrent('')
    setDone(true)
  }
  const enterOperator = async (): Promise<void> => {
    const r = await api.updateSettings({ operatorMode: true })
    if (!r.ok) return setError(r.error)
    store.setSettings(r.value)
    location.hash = '#bench'
  }

  return (
    <section aria-labelledby="pin-h" className="settings__section">
      <h2 id="pin-h">{t('operator.title')}</h2>
      <p className="small">{t('operator.explain')}</p>
      <form className="grid-form" onSubmit={(e) => void savePin(e)} aria-label={t('operator.pinTitle')}>
        <span>{t('operator.pinState')}</span>
        <SecretState set={settings.adminPinSet} />
        {settings.adminPinSet && (
          <>
            <label htmlFor="pin-current">{t('operator.currentPin')}</label>
            <input id="pin-current" type="password" inputMode="numeric" value={current} onChange={(e) => setCurrent(e.target.value)} autoComplete="off" />
          </>
        )}
        <label htmlFor="pin-new">{t('operator.newPin')}</label>
        <input id="pin-new" type="password" inputMode="numeric" value={pin} onChange={(e) => setPin(e.target.value)} aria-invalid={short} autoComplete="new-password" />
        {short && <p className="field-error">{t('operator.pinShort')}</p>}
        <label htmlFor="pin-again">{t('operator.repeatPin')}</label>
        <input id="pin-again" type="password" inputMode="numeric" value={again} onChange={(e) => setAgain(e.target.value)} aria-invalid={differ} autoComplete="new-password" />
        {differ && <p className="field-error">{t('operator.pinDiffer')}</p>}
        <span />
        <button type="submit" disabled={short || differ || pin === '' || again === ''}>
          {settings.adminPinSet ? t('operator.changePin') : t('operator.setPin')}
        </button>
      </form>
      {done && (
        <p role="status" className="saved">
          {t('operator.pinSaved')}
        </p>
      )}
      <div className="row">
        <button type="button" className="primary" onClick={() => void enterOperator()} disabled={!settings.adminPinSet}>
          {t('operator.enter')}
        </button>
        {!settings.adminPinSet && <span className="small">{t('operator.needPin')}</span>}
      </div>
      {error && <ErrorBox error={error} />}
    </section>
  )
}

function PackagesSection(): React.JSX.Element {
  const { t, i18n } = useTranslation()
  const { api, store } = useApp()
  const packages = usePackages()
  const [error, setError] = useState<ApiError | null>(null)
  const remove = async (sha256: string): Promise<void> => {
    const r = await api.removePackage({ sha256 })
    setError(r.ok ? null : r.error)
    await refreshPackages(api, store)
  }
  return (
    <section aria-labelledby="packages-h" className="settings__section">
      <h2 id="packages-h">{t('package.cache')}</h2>
      {packages.length === 0 ? (
        <p className="empty">{t('package.noneCached')}</p>
      ) : (
        <ul className="packages">
          {packages.map((p) => (
            <li key={p.sha256}>
              <strong>{p.name ?? t('common.unnamed')}</strong> · {formatBytes(p.size, i18n.language)} · <code className="hash">{p.sha256}</code>
              <button type="button" className="danger" onClick={() => void remove(p.sha256)}>
                {t('action.remove')}
              </button>
            </li>
          ))}
        </ul>
      )}
      {error && <ErrorBox error={error} />}
    </section>
  )
}
