import { expect, test, type Page } from '@playwright/test'
import { openReal } from './app'
import { openBridge, ok, type TestBridge } from './bridge'
import { instance } from './instances'
import { ADMIN_PIN, ensureAdminPin } from './pin'

let bridge: TestBridge | undefined

test.afterEach(async () => {
  // whatever happened, the next spec finds the app out of operator mode
  if (!bridge) return
  const settings = ok('getSettings', await bridge.api.getSettings())
  if (settings.operatorMode) ok('unlockOperatorMode', await bridge.api.unlockOperatorMode({ pin: ADMIN_PIN }))
  await bridge.close()
  bridge = undefined
})

const navLinks = (page: Page) => page.getByRole('navigation').getByRole('link')

test('operator mode: set the admin PIN, turn it on; settings, platform, recover and records are gone, even by address; the PIN brings them back', async ({ page, context }) => {
  const { ui, problems } = await openReal(page, 'demo', { hash: '#settings' })
  bridge = await openBridge(ui)
  await ensureAdminPin(page)
  await page.getByRole('button', { name: 'Turn on operator mode' }).click()

  await expect(page).toHaveURL(/#bench$/)
  await expect(navLinks(page)).toHaveText(['Bench'])
  await expect(page.getByText('Operator mode', { exact: true })).toBeVisible()
  await expect(page.locator('.demo-banner')).toHaveCount(0)
  await expect(page.locator('.drop-zone')).toHaveCount(0)
  for (const hash of ['#settings', '#platform', '#recover', '#records']) {
    await page.evaluate((h) => (location.hash = h), hash)
    await expect(page.locator('.app')).toHaveAttribute('data-screen', 'bench')
    await expect(page.locator('.slots-table, .profiles, .records__filter, .recover')).toHaveCount(0)
  }

  // a new tab on the printed address (the host keeps the mode, not the page)
  const other = await context.newPage()
  await other.goto(`${ui.url}#records`)
  await expect(other.locator('.app')).toHaveAttribute('data-screen', 'bench')
  await expect(navLinks(other)).toHaveText(['Bench'])
  await other.close()

  // and the host itself refuses the editing calls, whoever makes them
  const refused = await bridge.api.saveSlot({ settings: { port: 'sim:stm32:operator', protocol: 'stm32' } })
  expect(refused).toMatchObject({ ok: false, error: { kind: 'forbidden', code: 'operator-mode' } })
  expect(await bridge.api.exportRecords({ filter: {}, format: 'csv' })).toMatchObject({ ok: false, error: { code: 'operator-mode' } })

  // a wrong PIN keeps it locked; the admin PIN leaves it
  await page.getByRole('button', { name: 'Leave operator mode' }).click()
  const dialog = page.getByRole('dialog', { name: 'Leave operator mode' })
  await dialog.getByLabel('Admin PIN').fill('0000')
  await dialog.getByRole('button', { name: 'Unlock' }).click()
  await expect(dialog.getByRole('alert')).toContainText('The PIN is not correct.')
  await expect(navLinks(page)).toHaveText(['Bench'])
  await dialog.getByLabel('Admin PIN').fill(ADMIN_PIN)
  await dialog.getByRole('button', { name: 'Unlock' }).click()
  await expect(dialog).toHaveCount(0)
  await expect(navLinks(page)).toHaveText(['Bench', 'Platform', 'Recover', 'Records', 'Settings'])
  await page.evaluate(() => (location.hash = '#settings'))
  await expect(page.locator('.slots-table, .settings')).not.toHaveCount(0)
  expect(ok('getSettings', await bridge.api.getSettings()).operatorMode).toBe(false)
  expect(problems).toEqual([])
})
