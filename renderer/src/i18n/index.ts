import i18next, { type i18n } from 'i18next'
import { initReactI18next } from 'react-i18next'
import type { Language, Settings } from '../../../preload/contract'
import { en } from './en'
import { zhCN } from './zh-CN'

export const LANGUAGES: readonly Language[] = ['en', 'zh-CN']
export const resources = { en: { translation: en }, 'zh-CN': { translation: zhCN } } as const

/** A locale name (OS, browser, URL) to one of ours: any Chinese to zh-CN, anything else to English. */
export function toLanguage(locale: string | null | undefined): Language | undefined {
  if (!locale) return undefined
  const l = locale.trim().toLowerCase().replace('_', '-')
  if (l.startsWith('zh')) return 'zh-CN'
  if (l.startsWith('en')) return 'en'
  return undefined
}

/** The language shown: the setting, or for 'system' the OS locale, then the browser's. */
export function languageOf(setting: Settings['language'] | undefined, systemLocale: string | undefined, navigatorLanguage: string | undefined): Language {
  if (setting && setting !== 'system') return setting
  return toLanguage(systemLocale) ?? toLanguage(navigatorLanguage) ?? 'en'
}

export interface I18nOptions {
  lng: Language
  /** Tests pass false so a key missing in either language is reported, never covered by the other. */
  fallbackLng?: Language | false
  onMissingKey?: (lng: readonly string[], key: string) => void
}

export async function createI18n(options: I18nOptions): Promise<i18n> {
  const instance = i18next.createInstance()
  await instance.use(initReactI18next).init({
    resources,
    lng: options.lng,
    fallbackLng: options.fallbackLng ?? 'en',
    supportedLngs: [...LANGUAGES],
    // React escapes already
    interpolation: { escapeValue: false },
    returnNull: false,
    saveMissing: options.onMissingKey !== undefined,
    missingKeyHandler: options.onMissingKey ? (lngs, _ns, key) => options.onMissingKey!(lngs, key) : undefined,
    parseMissingKeyHandler: options.onMissingKey ? (key) => `⟦${key}⟧` : undefined
  })
  return instance
}
