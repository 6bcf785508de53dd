import { expect, type Page } from '@playwright/test'
import { en } from '../../renderer/src/i18n/en'
import { installFakeApi, type FakeOptions } from './fake-api'

/**
 * Opens the built renderer with the fake engine as window.api (before any page script runs), and
 * records what the page would complain about: CSP violations, uncaught errors, console errors.
 */
export async function openApp(page: Page, options: FakeOptions = {}, at: { lang?: string; hash?: string } = {}): Promise<{ problems: string[] }> {
  const problems: string[] = []
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`))
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console: ${m.text()}`)
  })
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => console.error(`CSP violation: ${e.violatedDirective} ${e.blockedURI}`))
  })
  await page.addInitScript(installFakeApi, options)
  // the page must run under a strict style policy too (no inline styles), as a host header may set it
  await page.route(/\/(\?[^#]*)?$/, async (route) => {
    const response = await route.fetch()
    const original = await response.text()
    if (!/http-equiv="Content-Security-Policy"[^>]*script-src 'self'/.test(original)) problems.push('the page has no CSP with script-src self')
    const html = original.replace(/style-src [^;"]*/, "style-src 'self'")
    await route.fulfill({ response, body: html })
  })
  const query = at.lang ? `?lang=${encodeURIComponent(at.lang)}` : ''
  await page.goto(`/${query}${at.hash ?? '#bench'}`)
  await expect(page.locator('.app')).toBeVisible()
  return { problems }
}

/** Raw i18n keys ("nav.bench") or missing-key markers left in the page's text. */
export async function untranslated(page: Page): Promise<string[]> {
  return page.evaluate((namespaces) => {
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT)
    const out: string[] = []
    const raw = new RegExp(`\\b(?:${namespaces.join('|')})\\.[A-Za-z][\\w-]*`, 'g')
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      const text = n.nodeValue ?? ''
      for (const m of text.match(raw) ?? []) out.push(m)
      if (text.includes('⟦')) out.push(text)
    }
    return out
  }, Object.keys(en))
}
