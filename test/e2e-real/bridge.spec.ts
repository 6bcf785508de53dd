import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { expect, test } from '@playwright/test'
import { startUi, type RunningUi } from './instances'

/**
 * The bridge's refusals as the browser meets them (the HTTP and socket refusals themselves are
 * checked in test/ui-bridge.test.ts and test/ui-bridge-browser.test.ts): an address without its
 * token gets no app, and an open page whose token no longer holds (flashline ui started again on the
 * same port) is refused and says so, instead of showing a dead bench.
 */
const BIN = join(__dirname, '..', '..', 'bin', 'flashline.js')

let dir = ''
const running: RunningUi[] = []
test.afterEach(async () => {
  for (const ui of running.splice(0)) await ui.stop()
  if (dir) rmSync(dir, { recursive: true, force: true })
})

test('the address without its token gets no app; a page left open when flashline ui restarts with a new token is refused and says what to do', async ({ page }) => {
  dir = mkdtempSync(join(tmpdir(), 'flashline-e2e-bridge-'))
  const first = await startUi(BIN, ['--port', '0'], join(dir, 'data'))
  running.push(first)

  const bare = await page.goto(`${first.info.origin}/#bench`)
  expect(bare?.status()).toBe(401)
  await expect(page.locator('body')).toContainText('open the address "flashline ui" printed')
  await expect(page.locator('.app')).toHaveCount(0)

  await page.goto(first.info.url)
  await expect(page.locator('.app')).toBeVisible()
  await expect(page.locator('.counters')).toBeVisible()

  // the same port, a new process, a new token: the page's token and cookie are the old ones
  const port = new URL(first.info.origin).port
  await first.stop()
  running.splice(0)
  const second = await startUi(BIN, ['--port', port], join(dir, 'data'))
  running.push(second)
  expect(second.info.token).not.toBe(first.info.token)
  const refused = page.locator('.no-engine')
  await expect(refused).toBeVisible({ timeout: 30_000 })
  await expect(refused).toContainText('its token is missing or wrong; open the address flashline ui printed')
  await expect(page.locator('.app')).toHaveCount(0)

  // the new address works in the same browser
  await page.goto(second.info.url)
  await expect(page.locator('.app')).toBeVisible()
  await expect(page.locator('.no-engine')).toHaveCount(0)
})
