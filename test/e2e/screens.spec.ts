import { expect, test, type Page } from '@playwright/test'
import type { FakeOptions } from './fake-api'
import { openApp, untranslated } from './app'

/**
 * Every screen in English and Chinese: nothing untranslated on it, no CSP complaint, and a screenshot
 * in test-results/screens/<screen>-<lang>.png for people to look at.
 */
interface Screen {
  name: string
  hash: string
  options: FakeOptions
  /** A word of the screen in each language, to see the language took. */
  expect: { en: string; 'zh-CN': string }
  prepare?: (page: Page) => Promise<void>
}

const flashTwo = async (page: Page): Promise<void> => {
  await page.evaluate(async () => {
    const api = (window as unknown as { api: import('../../preload/contract').FlashlineApi }).api
    const [pkg] = ((await api.listPackages()) as { ok: true; value: Array<{ sha256: string }> }).value
    await api.flash({ slotId: 'slot-1', sha256: pkg!.sha256 })
    await api.flash({ slotId: 'slot-2', sha256: pkg!.sha256 })
  })
  await expect(page.locator('.job-card[data-result="failed"]')).toHaveCount(1)
  await expect(page.locator('.job-card[data-result="succeeded"]')).toHaveCount(1)
}

const SCREENS: Screen[] = [
  { name: 'bench', hash: '#bench', options: { scenario: 'mixed', cachedPackage: true, slots: 4 }, expect: { en: 'Start all', 'zh-CN': '全部开始' } },
  { name: 'platform', hash: '#platform', options: { withPlatform: true, cachedPackage: true, failPorts: ['/dev/ttyUSB1'], stepMs: 20 }, expect: { en: 'Platform profiles', 'zh-CN': '平台配置' }, prepare: flashTwo },
  { name: 'recover', hash: '#recover', options: { cachedPackage: true }, expect: { en: 'Choose the port', 'zh-CN': '选择串口' } },
  {
    name: 'recover-port-help',
    hash: '#recover',
    options: { cachedPackage: true, failPorts: ['/dev/ttyUSB1'] },
    expect: { en: 'When the serial port will not open', 'zh-CN': '串口无法打开时' },
    prepare: async (page) => {
      await page.locator('[data-port="/dev/ttyUSB1"]').click()
      await page.locator('[data-step="1"] button.primary').click()
      await page.locator('[data-step="2"] button.primary').first().click()
      await expect(page.locator('.port-help')).toBeVisible()
    }
  },
  { name: 'records', hash: '#records', options: { scenario: 'mixed', cachedPackage: true }, expect: { en: 'Export CSV', 'zh-CN': '导出 CSV' } },
  { name: 'settings', hash: '#settings', options: { cachedPackage: true, adminPin: '2468' }, expect: { en: 'Serial-number pattern (regular expression)', 'zh-CN': '序列号规则（正则表达式）' } },
  { name: 'operator', hash: '#bench', options: { operatorMode: true, adminPin: '2468', scenario: 'mixed', cachedPackage: true }, expect: { en: 'Leave operator mode', 'zh-CN': '退出操作员模式' } },
  {
    name: 'demo',
    hash: '#bench',
    options: { demo: true, stepMs: 40 },
    expect: { en: 'Run the demo', 'zh-CN': '运行演示' },
    prepare: async (page) => {
      await page.locator('.demo-banner button').click()
      await expect(page.locator('.job-card[data-result="succeeded"]')).toHaveCount(3, { timeout: 10_000 })
    }
  }
]

for (const lang of ['en', 'zh-CN'] as const) {
  for (const s of SCREENS) {
    test(`${s.name} in ${lang}`, async ({ page }) => {
      await page.setViewportSize({ width: 1280, height: 860 })
      const { problems } = await openApp(page, { ...s.options, systemLocale: lang === 'en' ? 'en-US' : 'zh-CN' }, { lang, hash: s.hash })
      await expect(page.locator('html')).toHaveAttribute('lang', lang)
      await s.prepare?.(page)
      await expect(page.getByText(s.expect[lang], { exact: true }).filter({ visible: true }).first()).toBeVisible()
      expect(await untranslated(page)).toEqual([])
      await page.screenshot({ path: `test-results/screens/${s.name}-${lang}.png`, fullPage: true })
      expect(problems).toEqual([])
    })
  }
}

test('?lang=zh-CN wins over an English system; changing the language in Settings switches the page', async ({ page }) => {
  await openApp(page, { systemLocale: 'en-US' }, { lang: 'zh-CN', hash: '#settings' })
  await expect(page.getByRole('link', { name: '设置' })).toBeVisible()
  await page.getByLabel('语言').selectOption('en')
  await expect(page.getByRole('link', { name: 'Settings' })).toBeVisible()
  await expect(page.locator('html')).toHaveAttribute('lang', 'en')
})

test('the language follows the OS locale when the setting is "system"', async ({ page }) => {
  await openApp(page, { systemLocale: 'zh_CN.UTF-8' })
  await expect(page.getByRole('button', { name: '全部开始' })).toBeVisible()
  await expect(page).toHaveTitle('Flashline')
})
