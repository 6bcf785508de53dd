import { mkdir } from 'node:fs/promises'
import { expect, test, type Page } from '@playwright/test'
import type { AppEvent, FlashlineApi, JobView } from '../../preload/contract'
import { makeFirmwareImage } from '../../main/engine/sim/firmware-image'
import { en } from '../../renderer/src/i18n/en'
import { zhCN } from '../../renderer/src/i18n/zh-CN'
import { untranslated } from '../e2e/app'
import { openReal } from './app'
import { openBridge, ok, type TestBridge } from './bridge'
import { engineStrings, englishLeft, englishPieces, latinRuns, pageTexts } from './i18n-check'
import { instance } from './instances'
import { ADMIN_PIN } from './pin'

/**
 * Every screen against the real engine (flashline ui --demo, after the demo's upgrades and a failed
 * flash), in English and Chinese: no raw i18n key, and on the Chinese page no English UI string left
 * (the engine's own strings — job messages, port and profile names — aside); a screenshot of each in
 * test-results/real-screens/<screen>-<lang>.png.
 */
type Lang = 'en' | 'zh-CN'
const messages = { en, 'zh-CN': zhCN } as const
const text = (lang: Lang, path: string): string => path.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown>)[k], messages[lang]) as string

interface Screen {
  name: string
  hash: string
  /** An i18n key whose text the screen shows. */
  shows: string
  prepare?: (page: Page, bridge: TestBridge) => Promise<void>
  after?: (bridge: TestBridge) => Promise<void>
}

const firmware = makeFirmwareImage({ version: '4.0.0', size: 16 * 1024, seed: 44 })
let sha256 = ''

const jobEnded = (bridge: TestBridge, jobId: string) => bridge.waitFor(`job ${jobId} ended`, (events: AppEvent[]) => events.find((e): e is Extract<AppEvent, { type: 'job' }> => e.type === 'job' && e.job.id === jobId && e.job.result !== undefined)?.job)

/** A one-off flash on a port that does not exist: a failed job with its reason and hints. */
async function failedFlash(bridge: TestBridge): Promise<JobView> {
  const { jobId } = ok('flash', await bridge.api.flash({ slot: { port: '/dev/ttyFLASHLINE-absent', protocol: 'stm32' }, sha256 }))
  return jobEnded(bridge, jobId)
}

const SCREENS: Screen[] = [
  { name: 'bench', hash: '#bench', shows: 'bench.startAll' },
  {
    name: 'platform',
    hash: '#platform',
    shows: 'profile.title',
    // a job that fails while the page looks: its card and the notice
    prepare: async (page, bridge) => {
      const job = await failedFlash(bridge)
      await expect(page.locator(`.job-card[data-job-id="${job.id}"]`)).toHaveAttribute('data-result', 'failed')
      await expect(page.locator('.notice')).not.toHaveCount(0)
    }
  },
  { name: 'recover', hash: '#recover', shows: 'recover.step1' },
  {
    name: 'recover-detect',
    hash: '#recover',
    shows: 'recover.chipId',
    prepare: async (page) => {
      await page.locator('[data-port="sim:stm32"]').click()
      await page.locator('[data-step="1"] button.primary').click()
      await page.locator('[data-step="2"] button.primary').first().click()
      await expect(page.getByTestId('detected')).toBeVisible()
    }
  },
  {
    name: 'recover-flashed',
    hash: '#recover',
    shows: 'state.succeeded',
    prepare: async (page) => {
      await page.locator('[data-port="sim:stm32"]').click()
      await page.locator('[data-step="1"] button.primary').click()
      await page.locator('[data-step="2"] button.primary').last().click()
      await page.locator('[data-step="3"] select').selectOption(sha256)
      await page.locator('[data-step="3"] button.primary').click()
      await page.locator('[data-step="4"] button.primary').click()
      await expect(page.locator('.recover-job')).toHaveAttribute('data-result', 'succeeded', { timeout: 30_000 })
    }
  },
  { name: 'records', hash: '#records', shows: 'records.exportCsv' },
  { name: 'settings', hash: '#settings', shows: 'settings.serialPattern' },
  {
    name: 'operator',
    hash: '#bench',
    shows: 'operator.leave',
    prepare: async (page, bridge) => {
      ok('updateSettings', await bridge.api.updateSettings({ operatorMode: true }))
      await expect(page.getByRole('navigation').getByRole('link')).toHaveCount(1)
    },
    after: async (bridge) => {
      if (ok('getSettings', await bridge.api.getSettings()).operatorMode) ok('unlock', await bridge.api.unlockOperatorMode({ pin: ADMIN_PIN }))
    }
  }
]

let setup: TestBridge

test.beforeAll(async () => {
  test.setTimeout(90_000)
  setup = await openBridge(instance('demo'))
  const api: FlashlineApi = setup.api
  sha256 = ok('upload', await api.uploadPackage({ name: 'sensor-4.0.0.bin', dataBase64: firmware.toString('base64') })).sha256
  if (!ok('getSettings', await api.getSettings()).adminPinSet) ok('setAdminPin', await api.setAdminPin({ pin: ADMIN_PIN }))
  // the demo's upgrades, unless an earlier spec ran them
  const platformJobs = ok('listJobs', await api.listJobs({ limit: 500 })).filter((j) => j.origin === 'platform' && j.result === 'succeeded')
  if (platformJobs.length < 3) {
    ok('runDemo', await api.runDemo())
    await setup.waitFor('the demo jobs ended', (events) => (events.filter((e) => e.type === 'job' && e.job.origin === 'platform' && e.job.result).length >= 3 ? true : undefined), 60_000)
  }
  await failedFlash(setup)
})

test.afterAll(async () => {
  await setup?.close()
})

for (const lang of ['en', 'zh-CN'] as const) {
  for (const s of SCREENS) {
    test(`${s.name} in ${lang}`, async ({ page }) => {
      await page.setViewportSize({ width: 1280, height: 860 })
      const bridge = await openBridge(instance('demo'))
      try {
        const { problems } = await openReal(page, 'demo', { lang, hash: s.hash })
        await expect(page.locator('html')).toHaveAttribute('lang', lang)
        await s.prepare?.(page, bridge)
        await expect(page.getByText(text(lang, s.shows), { exact: true }).filter({ visible: true }).first()).toBeVisible()
        expect(await untranslated(page)).toEqual([])
        if (lang === 'zh-CN') {
          const texts = await pageTexts(page)
          const data = await engineStrings(bridge.api)
          expect(englishLeft(texts, englishPieces(), data)).toEqual([])
          expect(latinRuns(texts, data)).toEqual([])
        }
        await mkdir('test-results/real-screens', { recursive: true })
        await page.screenshot({ path: `test-results/real-screens/${s.name}-${lang}.png`, fullPage: true })
        expect(problems).toEqual([])
      } finally {
        await s.after?.(bridge)
        await bridge.close()
      }
    })
  }
}
