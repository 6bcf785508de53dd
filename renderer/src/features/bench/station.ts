import type { ProtocolName } from '../../../../preload/contract'

export interface StationSetup {
  enabled: boolean
  /** "1a86:7523, 10c4:ea60" as typed. */
  allowList: string
  /** Stop after this many boards ('' = until stopped). */
  count: string
  protocol: ProtocolName
  baud: string
}

export const DEFAULT_STATION: StationSetup = { enabled: false, allowList: '', count: '', protocol: 'stm32', baud: '' }

export type AllowList = { ok: true; match: Array<{ vendorId: string; productId: string }> } | { ok: false; bad: string }

/** "VID:PID" pairs (4 hex digits each), separated by commas, spaces or new lines. */
export function parseAllowList(text: string): AllowList {
  const items = text.split(/[\s,;]+/).filter(Boolean)
  const match: Array<{ vendorId: string; productId: string }> = []
  for (const item of items) {
    const m = /^([0-9a-f]{4}):([0-9a-f]{4})$/i.exec(item)
    if (!m) return { ok: false, bad: item }
    match.push({ vendorId: m[1]!.toLowerCase(), productId: m[2]!.toLowerCase() })
  }
  if (match.length === 0) return { ok: false, bad: '' }
  return { ok: true, match }
}
