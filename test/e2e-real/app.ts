import { expect, type Page } from '@playwright/test'
import { instance, type InstanceInfo, type InstanceName } from './instances'

/**
 * Opens the page `flashline ui` serves, as a person would (its printed address, the token in it),
 * and records what the page would complain about: CSP violations, uncaught errors, console errors.
 */
export async function openReal(page: Page, name: InstanceName, at: { lang?: string; hash?: string } = {}): Promise<{ ui: InstanceInfo; problems: string[] }> {
  const ui = instance(name)
  const problems: string[] = []
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`))
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console: ${m.text()}`)
  })
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => console.error(`CSP violation: ${e.violatedDirective} ${e.blockedURI}`))
  })
  const url = new URL(ui.url)
  if (at.lang) url.searchParams.set('lang', at.lang)
  url.hash = at.hash ?? '#bench'
  await page.goto(url.toString())
  await expect(page.locator('.app')).toBeVisible()
  return { ui, problems }
}
