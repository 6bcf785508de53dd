import type { Page } from '@playwright/test'

/**
 * What the page showed at any moment, not only when the test looked: a MutationObserver installed
 * before the page's scripts records each progress bar part-way (0 < value < max) and each step
 * marked current, as "<job id> <what>", in window.__seen.
 */
export async function watchProgress(page: Page): Promise<void> {
  await page.addInitScript(() => {
    const w = window as unknown as { __seen: Set<string> }
    w.__seen = new Set()
    const look = (): void => {
      for (const card of document.querySelectorAll<HTMLElement>('[data-job-id]')) {
        const id = card.dataset['jobId'] ?? '?'
        for (const bar of card.querySelectorAll('progress')) {
          if (bar.hasAttribute('value') && bar.max > 0 && bar.value > 0 && bar.value < bar.max) w.__seen.add(`${id} progress ${Math.round((bar.value / bar.max) * 100)}%`)
        }
        for (const step of card.querySelectorAll<HTMLElement>('[data-step][data-state="current"]')) w.__seen.add(`${id} step ${step.dataset['step']}`)
      }
    }
    new MutationObserver(look).observe(document, { subtree: true, childList: true, attributes: true, attributeFilter: ['value', 'data-state', 'data-job-id'] })
  })
}

export async function seen(page: Page): Promise<string[]> {
  return page.evaluate(() => [...(window as unknown as { __seen: Set<string> }).__seen])
}
