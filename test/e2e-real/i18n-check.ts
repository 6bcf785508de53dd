import type { Page } from '@playwright/test'
import type { FlashlineApi, RecordView } from '../../preload/contract'
import { en } from '../../renderer/src/i18n/en'
import { zhCN } from '../../renderer/src/i18n/zh-CN'

type Tree = { [k: string]: string | Tree }

function leaves(tree: Tree, prefix = '', out = new Map<string, string>()): Map<string, string> {
  for (const [k, v] of Object.entries(tree)) {
    if (typeof v === 'string') out.set(`${prefix}${k}`, v)
    else leaves(v, `${prefix}${k}.`, out)
  }
  return out
}

/**
 * The English UI text a Chinese page must not show: every English resource string that the Chinese
 * resources translate differently, cut at its {{placeholders}} into the literal pieces, keeping the
 * pieces with a word of three letters or more ("Start all", "Records found: ", "Passed").
 */
export function englishPieces(): string[] {
  const zh = leaves(zhCN as unknown as Tree)
  const pieces = new Set<string>()
  for (const [key, text] of leaves(en as unknown as Tree)) {
    if (zh.get(key) === text) continue
    for (const piece of text.split(/\{\{[^}]*\}\}/)) {
      const p = piece.trim()
      if (/[A-Za-z]{3,}/.test(p)) pieces.add(p)
    }
  }
  return [...pieces].sort((a, b) => b.length - a.length)
}

export interface PageText {
  text: string
  /** Shown as code (a command, a path, a hash, an engine message): the same in every language. */
  code: boolean
}

/** Every text a person meets on the page: visible text nodes, the options of its lists, placeholders, titles and accessible names. */
export function pageTexts(page: Page): Promise<PageText[]> {
  return page.evaluate(() => {
    const out: Array<{ text: string; code: boolean }> = []
    const isCode = (el: Element): boolean => el.closest('code, kbd, pre, .mono, .hash') !== null
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT)
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      const el = n.parentElement
      const text = (n.nodeValue ?? '').trim()
      if (!text || !el) continue
      const visible = el.closest('option') ? (el.closest('select') as HTMLElement | null)?.checkVisibility() : el.checkVisibility()
      if (visible) out.push({ text, code: isCode(el) })
    }
    for (const el of document.querySelectorAll<HTMLElement>('[placeholder], [title], [aria-label]')) {
      if (!el.checkVisibility()) continue
      for (const a of ['placeholder', 'title', 'aria-label']) {
        const v = el.getAttribute(a)?.trim()
        if (v) out.push({ text: v, code: a === 'placeholder' && isCode(el) })
      }
    }
    return out
  })
}

/**
 * What the engine itself says (in English by design: job messages, port names, profile names, device
 * ids, file names, paths): strings the page shows as data, taken from the host's own answers.
 */
export async function engineStrings(api: FlashlineApi): Promise<string[]> {
  const out: unknown[] = []
  const take = <T>(r: { ok: true; value: T } | { ok: false }): T | undefined => (r.ok ? r.value : undefined)
  const info = take(await api.appInfo())
  out.push(info?.version, info?.dataDir, info?.platform, info?.systemLocale)
  for (const p of take(await api.listPorts()) ?? []) out.push(p.path, p.manufacturer, p.bridge, p.serialNumber, p.location)
  for (const s of take(await api.listSlots()) ?? []) out.push(s.label, s.settings.port)
  for (const p of take(await api.listProfiles()) ?? []) out.push(p.name, p.broker, p.username, ...p.devices.map((d) => d.id), ...p.devices.map((d) => d.currentVersion))
  for (const c of take(await api.listConnections()) ?? []) out.push(c.identity, c.broker, c.error, ...c.devices.flatMap((d) => [d.deviceId, d.port, d.version]))
  for (const j of take(await api.listJobs({ limit: 500 })) ?? []) out.push(j.id, j.deviceId, j.port, j.orderId, j.message, j.chip, j.chipId, j.package?.name, j.targetVersion, j.startVersion, j.version, j.probedVersion, j.serialNumber)
  for (const p of take(await api.listPackages()) ?? []) out.push(p.name, p.sha256, p.md5)
  for (const r of take(await api.queryRecords({})) ?? ([] as RecordView[])) out.push(...Object.values(r))
  const s = take(await api.getSettings())
  out.push(s?.station, s?.operator, s?.serialPattern)
  // the engine's word for a version nobody knows is the page's to translate
  const words = out.filter((v): v is string => typeof v === 'string' && v.trim().length > 0 && v !== 'unknown').map((v) => v.trim())
  return [...new Set(words)].sort((a, b) => b.length - a.length)
}

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')

/** The page texts that still hold an English UI piece once the engine's own strings are taken out: "text ← piece". */
export function englishLeft(texts: PageText[], pieces: string[], data: string[]): string[] {
  const found: string[] = []
  const patterns = pieces.map((p) => ({ p, re: new RegExp(`${/^\w/.test(p) ? '\\b' : ''}${escape(p)}${/\w$/.test(p) ? '\\b' : ''}`) }))
  for (const { text } of texts) {
    let rest = text
    for (const d of data) if (rest.includes(d)) rest = rest.split(d).join(' ')
    const hit = patterns.find(({ re }) => re.test(rest))
    if (hit) found.push(`${JSON.stringify(text)} ← ${JSON.stringify(hit.p)}`)
  }
  return found
}

const LATIN_RUN = /[A-Za-z][a-z]+(?:[ -][A-Za-z][a-z]+)+/g

/**
 * Runs of two or more Latin-letter words ("Job on") in text that is not code, once the engine's
 * strings are out, and that the Chinese resources do not use themselves (such as "flashline ui"):
 * English the resources may not even have, written into a component or sent by the host.
 */
export function latinRuns(texts: PageText[], data: string[]): string[] {
  const zhRuns = new Set([...leaves(zhCN as unknown as Tree).values()].flatMap((v) => v.match(LATIN_RUN) ?? []))
  const found: string[] = []
  for (const { text, code } of texts) {
    if (code) continue
    let rest = text
    for (const d of data) if (rest.includes(d)) rest = rest.split(d).join(' ')
    const runs = (rest.match(LATIN_RUN) ?? []).filter((r) => !zhRuns.has(r))
    if (runs.length) found.push(`${JSON.stringify(text)}: ${runs.join(' | ')}`)
  }
  return found
}
