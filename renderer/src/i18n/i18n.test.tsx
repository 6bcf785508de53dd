// @vitest-environment happy-dom
import { act, cleanup, fireEvent, screen, within } from '@testing-library/react'
import { afterEach, describe, expect, it } from 'vitest'
import type { Language } from '../../../preload/contract'
import { renderApp, settle, type Rendered } from '../test-utils'
import { en } from './en'
import { languageOf, toLanguage } from './index'
import { zhCN } from './zh-CN'

function leaves(o: object, prefix = ''): string[] {
  return Object.entries(o).flatMap(([k, v]) => (typeof v === 'string' ? [`${prefix}${k}`] : leaves(v as object, `${prefix}${k}.`)))
}
const NAMESPACES = Object.keys(en)
/** A raw key left in the page: "nav.bench", "hint.portOpen" … */
const RAW_KEY = new RegExp(`\\b(?:${NAMESPACES.join('|')})\\.[A-Za-z][\\w-]*`, 'g')

/** (b) and (c): nothing t() asked for was missing, and no raw key or missing-key marker is on screen. */
function expectTranslated(r: Rendered, where: string, minTexts = 10): void {
  expect(r.missing, `missing keys on ${where}`).toEqual([])
  // text node by text node (textContent would glue "…slot." and "Add" into a false "slot.Add")
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT)
  const texts: string[] = []
  for (let n = walker.nextNode(); n; n = walker.nextNode()) texts.push(n.nodeValue ?? '')
  expect(texts.length, `nothing rendered on ${where}`).toBeGreaterThanOrEqual(minTexts)
  expect(texts.filter((t) => t.includes('⟦')), `missing-key marker on ${where}`).toEqual([])
  expect(texts.flatMap((t) => t.match(RAW_KEY) ?? []), `raw keys on ${where}`).toEqual([])
  const attrs = [...document.querySelectorAll('[aria-label],[placeholder],[title]')].flatMap((el) => ['aria-label', 'placeholder', 'title'].map((a) => el.getAttribute(a) ?? ''))
  expect(attrs.join('\n').match(RAW_KEY) ?? [], `raw keys in attributes on ${where}`).toEqual([])
}

afterEach(() => {
  cleanup()
  localStorage.clear()
})

describe('translations', () => {
  it('(a) en and zh-CN have exactly the same keys, none empty', () => {
    expect(leaves(zhCN).sort()).toEqual(leaves(en).sort())
    for (const k of leaves(zhCN)) expect(k.split('.').reduce<unknown>((o, p) => (o as Record<string, unknown>)[p], zhCN), k).not.toBe('')
  })

  it('zh-CN uses the agreed terms', () => {
    expect(zhCN.nav.records).toBe('记录')
    expect(zhCN.counters.yield).toBe('良率')
    expect(zhCN.recover.step2).toContain('引导程序')
    expect(zhCN.operator.title).toBe('操作员模式')
    expect(zhCN.step.flash).toBe('烧录')
    expect(zhCN.step.verify).toBe('校验')
    expect(zhCN.slot.port).toBe('串口')
    expect(zhCN.bench.package).toContain('固件')
    expect(zhCN.nav.bench).toBe('工位')
  })

  it('the language follows the setting, then the OS locale, then the browser', () => {
    expect(languageOf('zh-CN', 'en-US', 'en')).toBe('zh-CN')
    expect(languageOf('system', 'zh_CN.UTF-8', 'en')).toBe('zh-CN')
    expect(languageOf('system', 'de-DE', 'zh-TW')).toBe('zh-CN')
    expect(languageOf('system', undefined, 'fr')).toBe('en')
    expect(toLanguage('EN-gb')).toBe('en')
  })
})

describe.each<Language>(['en', 'zh-CN'])('every screen renders fully translated in %s', (lng) => {
  it('bench (mixed states), counters, station mode', async () => {
    const r = await renderApp({ lng, scenario: 'mixed', cachedPackage: true, slots: 4, serialPattern: 'SN\\d{4}' })
    expect(document.querySelectorAll('.tile')).toHaveLength(4)
    expectTranslated(r, 'bench')
    const serial = screen.getByLabelText(r.i18n.t('serial.label'))
    fireEvent.change(serial, { target: { value: 'bad' } })
    fireEvent.keyDown(serial, { key: 'Enter' })
    fireEvent.click(screen.getByLabelText(r.i18n.t('station.enable')))
    await settle()
    expectTranslated(r, 'bench with a bad serial and station mode')
  })

  it('platform: profiles, connection, jobs in every phase, profile form', async () => {
    const r = await renderApp({ lng, hash: '#platform', withPlatform: true, cachedPackage: true, failPorts: ['/dev/ttyUSB1'], stepMs: 1 })
    const sha = r.store.packages[0]!.sha256
    await r.api.flash({ slotId: 'slot-1', sha256: sha })
    await r.api.flash({ slotId: 'slot-2', sha256: sha })
    await settle(60)
    expect(document.querySelectorAll('.job-card')).toHaveLength(2)
    expect(document.querySelector('[data-hint="portOpen"]')).not.toBeNull()
    expectTranslated(r, 'platform')
    fireEvent.click(screen.getByRole('button', { name: r.i18n.t('profile.new') }))
    for (const p of ['fogcloud', 'wudun', 'iotda']) {
      fireEvent.change(within(screen.getByRole('form', { name: r.i18n.t('profile.new') })).getByLabelText(r.i18n.t('profile.platform')), { target: { value: p } })
      await settle()
      expectTranslated(r, `profile form (${p})`)
    }
  })

  it('recover: all four steps, with the port help and a failure', async () => {
    const r = await renderApp({ lng, hash: '#recover', cachedPackage: true, failPorts: ['/dev/ttyUSB1'], stepMs: 1 })
    expectTranslated(r, 'recover step 1')
    fireEvent.click(screen.getByText('/dev/ttyUSB1'))
    fireEvent.click(screen.getByRole('button', { name: r.i18n.t('action.next') }))
    fireEvent.click(screen.getByRole('button', { name: r.i18n.t('recover.detect') }))
    await settle(20)
    expect(document.querySelector('.port-help')).not.toBeNull()
    expectTranslated(r, 'recover step 2 (port failed)')
    fireEvent.click(screen.getByRole('button', { name: r.i18n.t('recover.skipDetect') }))
    fireEvent.change(screen.getByLabelText(r.i18n.t('package.choose')), { target: { value: r.store.packages[0]!.sha256 } })
    expectTranslated(r, 'recover step 3')
    fireEvent.click(screen.getByRole('button', { name: r.i18n.t('action.next') }))
    fireEvent.click(screen.getByRole('button', { name: r.i18n.t('recover.flash') }))
    await settle(50)
    expect(document.querySelector('.recover-job')?.getAttribute('data-result')).toBe('failed')
    expectTranslated(r, 'recover step 4 (failed)')
  })

  it('records with rows and a job log', async () => {
    const r = await renderApp({ lng, hash: '#records', scenario: 'mixed', cachedPackage: true })
    await settle()
    expect(document.querySelectorAll('tbody tr').length).toBeGreaterThan(0)
    fireEvent.click(within(document.querySelector('tbody tr') as HTMLElement).getByRole('button'))
    await settle()
    expect(screen.getByRole('dialog')).toBeTruthy()
    expectTranslated(r, 'records')
  })

  it('settings with slots, packages and the PIN', async () => {
    const r = await renderApp({ lng, hash: '#settings', cachedPackage: true, adminPin: '2468' })
    fireEvent.click(screen.getByRole('button', { name: r.i18n.t('slot.add') }))
    await settle()
    expectTranslated(r, 'settings')
  })

  it('operator mode and its unlock dialog', async () => {
    const r = await renderApp({ lng, operatorMode: true, adminPin: '2468', cachedPackage: true })
    fireEvent.click(screen.getByRole('button', { name: r.i18n.t('operator.leave') }))
    fireEvent.change(screen.getByLabelText(r.i18n.t('operator.adminPin')), { target: { value: '1111' } })
    fireEvent.click(screen.getByRole('button', { name: r.i18n.t('operator.unlock') }))
    await settle()
    expect(screen.getByRole('alert')).toBeTruthy()
    expectTranslated(r, 'operator mode')
  })

  it('a lost link to the engine, then a refused one (the no-engine page)', async () => {
    const r = await renderApp({ lng })
    act(() => r.store.setLink('lost', 'the connection to flashline ui was lost (1006)'))
    await settle()
    expect(screen.getByRole('alert').textContent).toBe(r.i18n.t('link.lost'))
    expectTranslated(r, 'link lost')
    act(() => r.store.setLink('refused', 'its token is missing or wrong'))
    await settle()
    expect(screen.getByRole('alert').textContent).toContain(r.i18n.t('noEngine.text'))
    expectTranslated(r, 'no engine', 3)
  })

  it('demo mode, after the demo ran', async () => {
    const r = await renderApp({ lng, demo: true, stepMs: 1 })
    fireEvent.click(screen.getByRole('button', { name: r.i18n.t('demo.run') }))
    await settle(80)
    expect(location.hash).toBe('#platform')
    expect(document.querySelectorAll('.job-card[data-result="succeeded"]')).toHaveLength(3)
    expectTranslated(r, 'demo')
  })
})
