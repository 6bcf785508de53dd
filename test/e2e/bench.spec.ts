import { expect, test } from '@playwright/test'

test('lists the serial ports the main process reports, with bridge names', async ({ page }) => {
  await page.addInitScript(() => {
    ;(window as unknown as { api: unknown }).api = {
      appInfo: async () => ({ ok: true, value: { version: '0.1.0', platform: 'linux' } }),
      listPorts: async () => ({ ok: true, value: [{ path: '/dev/ttyUSB0', vendorId: '1a86', productId: '7523', bridge: 'WCH CH340' }] }),
      onEvent: () => () => undefined
    }
  })
  await page.goto('/')
  await expect(page.getByRole('heading', { name: 'Flashline' })).toBeVisible()
  await expect(page.getByText('/dev/ttyUSB0')).toBeVisible()
  await expect(page.getByText('WCH CH340')).toBeVisible()
})

test('shows the error the main process returns instead of failing silently', async ({ page }) => {
  await page.addInitScript(() => {
    ;(window as unknown as { api: unknown }).api = {
      appInfo: async () => ({ ok: true, value: { version: '0.1.0', platform: 'linux' } }),
      listPorts: async () => ({ ok: false, error: { kind: 'device', code: 'list-failed', message: 'cannot list ports: permission denied' } }),
      onEvent: () => () => undefined
    }
  })
  await page.goto('/')
  await expect(page.getByRole('alert')).toHaveText('cannot list ports: permission denied')
})
