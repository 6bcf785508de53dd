import { expect, type Page } from '@playwright/test'

/** The admin PIN the real-engine specs share (the first spec to need one sets it on the page). */
export const ADMIN_PIN = '2468'

/** On the Settings screen: sets the admin PIN unless it is set already (then it must be ADMIN_PIN). */
export async function ensureAdminPin(page: Page): Promise<void> {
  const form = page.getByRole('form', { name: 'Admin PIN' })
  await expect(form).toBeVisible()
  if ((await form.getByLabel('Current PIN').count()) > 0) return
  await form.getByLabel('New PIN').fill(ADMIN_PIN)
  await form.getByLabel('Repeat the PIN').fill(ADMIN_PIN)
  await form.getByRole('button', { name: 'Set PIN' }).click()
  await expect(page.getByText('PIN saved.')).toBeVisible()
}
