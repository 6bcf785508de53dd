import { StrictMode } from 'react'
import { createRoot } from 'react-dom/client'
import { I18nextProvider } from 'react-i18next'
import { App, NoEngine } from './App'
import { resolveApi } from './api'
import { createI18n, toLanguage } from './i18n'
import { keepInSync } from './link'
import { loadPersisted } from './persisted'
import { AppProvider } from './store/context'
import { AppStore, type LocalState } from './store/store'
import './styles.css'

async function main(): Promise<void> {
  const lng = toLanguage(new URLSearchParams(location.search).get('lang')) ?? toLanguage(navigator.language) ?? 'en'
  const i18n = await createI18n({ lng })
  const root = createRoot(document.getElementById('root')!)
  const resolved = await resolveApi()
  if (!resolved) {
    root.render(
      <I18nextProvider i18n={i18n}>
        <NoEngine />
      </I18nextProvider>
    )
    return
  }
  const store = new AppStore()
  store.setLocal(loadPersisted<LocalState>('bench', {}))
  const { api } = keepInSync(resolved.api, store, { heartbeatMs: resolved.bridge ? 5000 : 0 })
  root.render(
    <StrictMode>
      <I18nextProvider i18n={i18n}>
        <AppProvider value={{ api, store }}>
          <App />
        </AppProvider>
      </I18nextProvider>
    </StrictMode>
  )
}

void main()
