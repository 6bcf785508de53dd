import { act, render, type RenderResult } from '@testing-library/react'
import type { i18n } from 'i18next'
import { I18nextProvider } from 'react-i18next'
import type { FlashlineApi, Language } from '../../preload/contract'
import { installFakeApi, type FakeControl, type FakeOptions } from '../../test/e2e/fake-api'
import { App } from './App'
import { createI18n } from './i18n'
import { keepInSync } from './link'
import { AppProvider } from './store/context'
import { AppStore } from './store/store'

export interface Rendered extends RenderResult {
  store: AppStore
  api: FlashlineApi
  fake: FakeControl
  i18n: i18n
  /** Keys t() was asked for that the resources lack (the i18n instance reports them). */
  missing: string[]
}

/** An i18n instance that reports every missing key and never falls back to the other language. */
export async function strictI18n(lng: Language, missing: string[]): Promise<i18n> {
  return createI18n({ lng, fallbackLng: false, onMissingKey: (lngs, key) => missing.push(`${lngs.join(',')}:${key}`) })
}

/** The whole app against the fake engine, synced, at `hash` (#bench, #records …). */
export async function renderApp(options: FakeOptions & { lng?: Language; hash?: string } = {}): Promise<Rendered> {
  const { lng = 'en', hash = '#bench', ...fakeOptions } = options
  installFakeApi({ systemLocale: lng, ...fakeOptions })
  const g = globalThis as unknown as { api: FlashlineApi; __fake: FakeControl }
  const missing: string[] = []
  const i18n = await strictI18n(lng, missing)
  const store = new AppStore((flush) => setTimeout(flush, 0))
  location.hash = hash
  // wired as main.tsx wires it
  const { api } = keepInSync(g.api, store)
  const utils = render(
    <I18nextProvider i18n={i18n}>
      <AppProvider value={{ api, store }}>
        <App />
      </AppProvider>
    </I18nextProvider>
  )
  await act(async () => {
    const end = Date.now() + 5000
    while (store.link !== 'ok' && Date.now() < end) await new Promise((r) => setTimeout(r, 2))
    await new Promise((r) => setTimeout(r, 5))
  })
  return { ...utils, store, api, fake: g.__fake, i18n, missing }
}

/** Lets timers and the store's flush run inside act(). */
export async function settle(ms = 5): Promise<void> {
  await act(async () => {
    await new Promise((r) => setTimeout(r, ms))
  })
}
