import { useTranslation } from 'react-i18next'
import { BenchView } from './features/bench/BenchView'
import { PlatformView } from './features/platform/PlatformView'
import { RecordsView } from './features/records/RecordsView'
import { RecoverView } from './features/recover/RecoverView'
import { SettingsView } from './features/settings/SettingsView'
import { DemoBanner } from './features/shell/DemoBanner'
import { LanguageSync } from './features/shell/LanguageSync'
import { Notices } from './features/shell/Notices'
import { OperatorBar } from './features/shell/OperatorBar'
import { SCREENS, useScreen, type Screen } from './features/shell/route'
import { StatusStrip } from './features/shell/StatusStrip'
import { useInfo, useLink, useSettings, useStore } from './store/context'
import { Icon } from './ui/Icon'

/** Screens an operator may see: the bench only (start, scan, retry, cancel). */
const OPERATOR_SCREENS: readonly Screen[] = ['bench']

export function App(): React.JSX.Element {
  const { t } = useTranslation()
  const info = useInfo()
  const settings = useSettings()
  const link = useLink()
  const store = useStore()
  const [screen, setScreen] = useScreen()
  const operator = settings?.operatorMode ?? false
  const screens = operator ? OPERATOR_SCREENS : SCREENS
  const shown: Screen = screens.includes(screen) ? screen : 'bench'

  if (link === 'refused') return <NoEngine detail={store.linkMessage} />
  return (
    <div className={`app${operator ? ' app--operator' : ''}`} data-screen={shown}>
      <LanguageSync />
      <header className="app__header">
        <h1 className="app__title">{t('app.title')}</h1>
        <nav aria-label={t('nav.label')} className="nav">
          {screens.map((s) => (
            <a key={s} href={`#${s}`} className={`nav__item${s === shown ? ' nav__item--current' : ''}`} aria-current={s === shown ? 'page' : undefined} onClick={() => setScreen(s)}>
              {t(`nav.${s}`)}
            </a>
          ))}
        </nav>
        <StatusStrip />
      </header>
      {link === 'lost' && (
        <p className="link-lost" role="alert">
          <Icon name="unplug" />
          <span>{t('link.lost')}</span>
        </p>
      )}
      {operator && <OperatorBar />}
      <Notices />
      <main className="app__main" aria-label={t(`nav.${shown}`)}>
        {info?.demo && !operator && shown !== 'settings' && <DemoBanner onStarted={() => setScreen('platform')} />}
        {shown === 'bench' && <BenchView />}
        {shown === 'platform' && <PlatformView />}
        {shown === 'recover' && <RecoverView />}
        {shown === 'records' && <RecordsView />}
        {shown === 'settings' && <SettingsView />}
      </main>
    </div>
  )
}

/** No engine to talk to: neither the desktop app's preload nor a `flashline ui` address with its token. */
export function NoEngine({ detail }: { detail?: string }): React.JSX.Element {
  const { t } = useTranslation()
  return (
    <main className="no-engine" role="alert">
      <h1>{t('app.title')}</h1>
      <p>{t('noEngine.text')}</p>
      {detail && (
        <p>
          <code>{detail}</code>
        </p>
      )}
      <p>
        <code>npx flashline ui</code>
      </p>
    </main>
  )
}
