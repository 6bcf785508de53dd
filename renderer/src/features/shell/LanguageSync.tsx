import { useEffect, useRef } from 'react'
import { useTranslation } from 'react-i18next'
import { languageOf, toLanguage } from '../../i18n'
import { useInfo, useSettings } from '../../store/context'

/**
 * Keeps the shown language in step with the setting ('system' follows the OS locale, then the
 * browser's). `?lang=` in the address wins until the setting is changed.
 */
export function LanguageSync(): null {
  const { t, i18n } = useTranslation()
  const settings = useSettings()
  const info = useInfo()
  const initial = useRef<string | undefined>(undefined)
  const url = toLanguage(new URLSearchParams(location.search).get('lang'))
  useEffect(() => {
    if (!settings) return
    if (initial.current === undefined) initial.current = settings.language
    const lng = url && settings.language === initial.current ? url : languageOf(settings.language, info?.systemLocale, navigator.language)
    if (i18n.language !== lng) void i18n.changeLanguage(lng)
  }, [settings, info, url, i18n])
  useEffect(() => {
    document.documentElement.lang = i18n.language
    document.title = t('app.title')
  }, [i18n.language, t])
  return null
}
