import { expect, test } from '@playwright/test'
import { openApp } from './app'

test.describe('operator mode', () => {
  test('only the bench, with start, scan, retry and cancel; settings stay hidden even by address', async ({ page }) => {
    const { problems } = await openApp(page, { operatorMode: true, adminPin: '2468', scenario: 'mixed', cachedPackage: true }, { hash: '#settings' })
    await expect(page.getByRole('navigation').getByRole('link')).toHaveText(['Bench'])
    await expect(page.locator('.app')).toHaveAttribute('data-screen', 'bench')
    await expect(page.getByText('Operator mode', { exact: true })).toBeVisible()
    await expect(page.getByLabel('Firmware to flash')).toBeDisabled()
    await expect(page.locator('.drop-zone')).toHaveCount(0)
    await expect(page.getByRole('button')).toHaveText(['Leave operator mode', 'Start all', 'Retry failed', 'Cancel all', 'Cancel'])
    await page.goto('/#records')
    await expect(page.locator('.app')).toHaveAttribute('data-screen', 'bench')
    expect(problems).toEqual([])
  })

  test('a wrong PIN keeps it locked, the admin PIN leaves it; keyboard only', async ({ page }) => {
    await openApp(page, { operatorMode: true, adminPin: '2468' })
    await page.getByRole('button', { name: 'Leave operator mode' }).focus()
    await page.keyboard.press('Enter')
    const dialog = page.getByRole('dialog', { name: 'Leave operator mode' })
    await expect(dialog.getByLabel('Admin PIN')).toBeFocused()
    await page.keyboard.type('0000')
    await page.keyboard.press('Enter')
    await expect(dialog.getByRole('alert')).toContainText('The PIN is not correct.')
    await expect(page.getByRole('navigation').getByRole('link')).toHaveText(['Bench'])
    await dialog.getByLabel('Admin PIN').fill('2468')
    await page.keyboard.press('Enter')
    await expect(dialog).toHaveCount(0)
    await expect(page.getByRole('navigation').getByRole('link')).toHaveText(['Bench', 'Platform', 'Recover', 'Records', 'Settings'])
  })
})
