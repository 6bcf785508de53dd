/** Small choices the operator made on this machine (the chosen package, the station setup), kept across restarts. */
export function loadPersisted<T>(key: string, fallback: T): T {
  try {
    const raw = globalThis.localStorage?.getItem(`flashline.${key}`)
    return raw ? { ...fallback, ...(JSON.parse(raw) as T) } : fallback
  } catch {
    return fallback
  }
}

export function savePersisted(key: string, value: unknown): void {
  try {
    globalThis.localStorage?.setItem(`flashline.${key}`, JSON.stringify(value))
  } catch {
    // storage full or disabled: the choice lasts for this session only
  }
}
