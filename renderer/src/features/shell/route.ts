import { useEffect, useState } from 'react'

export const SCREENS = ['bench', 'platform', 'recover', 'records', 'settings'] as const
export type Screen = (typeof SCREENS)[number]

export const screenOf = (hash: string): Screen => {
  const h = hash.replace(/^#\/?/, '')
  return (SCREENS as readonly string[]).includes(h) ? (h as Screen) : 'bench'
}

/** The screen named in the location hash (#bench, #records …): links, history and reloads keep it. */
export function useScreen(): [Screen, (s: Screen) => void] {
  const [screen, setScreen] = useState<Screen>(() => screenOf(location.hash))
  useEffect(() => {
    const on = (): void => setScreen(screenOf(location.hash))
    window.addEventListener('hashchange', on)
    return () => window.removeEventListener('hashchange', on)
  }, [])
  return [
    screen,
    (s) => {
      if (location.hash !== `#${s}`) location.hash = `#${s}`
      setScreen(s)
    }
  ]
}
