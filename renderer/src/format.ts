// Intl formatters are costly to build and tiles format on every progress event: build each once
const formatters = new Map<string, Intl.NumberFormat>()
function numberFormat(locale: string, options: Intl.NumberFormatOptions): Intl.NumberFormat {
  const key = `${locale}|${JSON.stringify(options)}`
  let f = formatters.get(key)
  if (!f) formatters.set(key, (f = new Intl.NumberFormat(locale, options)))
  return f
}

/** Sizes in binary units (firmware sizes are powers of two). */
export function formatBytes(n: number, locale: string): string {
  const units = ['B', 'KiB', 'MiB', 'GiB']
  let v = n
  let u = 0
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024
    u++
  }
  const digits = u === 0 || v >= 100 ? 0 : 1
  return `${numberFormat(locale, { maximumFractionDigits: digits, minimumFractionDigits: digits }).format(v)} ${units[u]}`
}

/** m:ss (or h:mm:ss) left, from what is left and the current speed; undefined when unknown. */
export function etaSeconds(done: number, total: number | undefined, bytesPerSec: number): number | undefined {
  if (total === undefined || total <= 0 || bytesPerSec <= 0) return undefined
  return Math.max(0, Math.ceil((total - done) / bytesPerSec))
}

export function formatDuration(seconds: number): string {
  const h = Math.floor(seconds / 3600)
  const m = Math.floor((seconds % 3600) / 60)
  const s = seconds % 60
  const mm = h > 0 ? String(m).padStart(2, '0') : String(m)
  return `${h > 0 ? `${h}:` : ''}${mm}:${String(s).padStart(2, '0')}`
}

export function formatPercent(fraction: number, locale: string): string {
  return numberFormat(locale, { style: 'percent', maximumFractionDigits: 1 }).format(fraction)
}

export function formatNumber(n: number, locale: string, digits = 0): string {
  return numberFormat(locale, { maximumFractionDigits: digits }).format(n)
}

export function formatTime(at: number | string, locale: string): string {
  const d = new Date(at)
  return Number.isNaN(d.getTime()) ? String(at) : new Intl.DateTimeFormat(locale, { dateStyle: 'short', timeStyle: 'medium' }).format(d)
}

/** A sha256 shortened for a tile (the whole one is in the title and the Recover view). */
export const shortHash = (hex: string | undefined): string => (hex ? `${hex.slice(0, 12)}…` : '')

/** The engine's word for a version nobody knows. */
export const UNKNOWN_VERSION = 'unknown'

/** A version as the page shows it: the engine's "unknown" in the page's language (`unknownText`), others as they are. */
export function versionText<V extends string | undefined>(version: V, unknownText: string): V | string {
  return version === UNKNOWN_VERSION ? unknownText : version
}
