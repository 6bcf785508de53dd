import { expect, test } from '@playwright/test'
import { openApp } from './app'

test.describe('platform', () => {
  test('a new profile: secrets in password fields, afterwards only "set / not set"; connect shows live status', async ({ page }) => {
    const { problems } = await openApp(page, {}, { hash: '#platform' })
    await page.getByRole('button', { name: 'New profile' }).click()
    const form = page.getByRole('form', { name: 'New profile' })
    await form.getByLabel('Name', { exact: true }).fill('Line 3')
    await form.getByLabel('Platform').selectOption('iotda')
    await form.getByLabel('Broker address').fill('not a url')
    await form.getByLabel('Device ID', { exact: true }).fill('6650e1f2_sensor-002')
    const secret = form.getByLabel(/^Device secret/)
    await expect(secret).toHaveAttribute('type', 'password')
    await secret.fill('s3cret-value')
    await form.getByRole('button', { name: 'Save' }).click()
    await expect(form.getByRole('alert')).toContainText('Not accepted')
    await expect(form.getByLabel('Broker address')).toHaveAttribute('aria-invalid', 'true')
    await form.getByLabel('Broker address').fill('mqtts://iot-mqtts.example.com:8883')
    await form.getByRole('button', { name: 'Save' }).click()
    await expect(form).toHaveCount(0)
    const profile = page.locator('.profile')
    await expect(profile).toContainText('Line 3')
    await expect(profile).toContainText('Device secret')
    await expect(profile.locator('.secret-state')).toHaveText('set')
    await expect(page.locator('body')).not.toContainText('s3cret-value')
    // edit: the secret field is empty, says it is stored
    await profile.getByRole('button', { name: 'Edit' }).click()
    await expect(page.getByRole('form', { name: 'Edit profile' }).getByLabel(/^Device secret/)).toHaveValue('')
    await expect(page.getByRole('form', { name: 'Edit profile' }).getByLabel(/^Device secret/)).toHaveAttribute('placeholder', 'stored; type to replace')
    await page.getByRole('form', { name: 'Edit profile' }).getByRole('button', { name: 'Close' }).click()

    await profile.getByRole('button', { name: 'Connect' }).click()
    const conn = page.locator('.connection')
    await expect(conn).toHaveAttribute('data-status', 'online')
    await expect(conn.locator('.badge')).toHaveText('Online')
    await expect(page.locator('.status-strip')).toContainText('Huawei IoTDA: Online · 0 pending · outbox 0')
    await conn.getByRole('button', { name: 'Disconnect' }).click()
    await expect(conn).toHaveAttribute('data-status', 'stopped')
    expect(problems).toEqual([])
  })

  test('an order goes download → verify → flash → prove → reported; a failed one says why and what to do', async ({ page }) => {
    await openApp(page, { withPlatform: true, cachedPackage: true, stepMs: 150 }, { hash: '#platform' })
    await expect(page.getByTestId('pending-orders')).toHaveText('1')
    await expect(page.getByTestId('outbox')).toHaveText('2')
    const stepStates = async (): Promise<string> => (await page.locator('.job-card').first().locator('.stepper__step').evaluateAll((els) => els.map((e) => `${e.getAttribute('data-step')}:${e.getAttribute('data-state')}`))).join(' ')
    const seen = new Set<string>()
    await page.evaluate(() => {
      const fake = (window as unknown as { __fake: { emit: (e: unknown) => void } }).__fake
      const at = Date.UTC(2025, 5, 2, 9)
      const job = { id: 'order-1', origin: 'platform', phase: 'received', deviceId: '6650e1f2_sensor-001', targetVersion: '2.5.0', startVersion: '2.4.0', createdAt: at, updatedAt: at, history: [{ phase: 'received', at }] }
      const phases = ['downloading', 'verified', 'flashing', 'proving', 'reporting', 'succeeded']
      fake.emit({ type: 'job', job })
      phases.forEach((phase, i) =>
        setTimeout(() => {
          const h = [...job.history, ...phases.slice(0, i + 1).map((p, k) => ({ phase: p, at: at + k + 1 }))]
          fake.emit({ type: 'job', job: { ...job, phase, history: h, updatedAt: at + i + 1, ...(phase === 'succeeded' ? { result: 'succeeded', probedVersion: '2.5.0' } : {}) } })
        }, 300 * (i + 1))
      )
    })
    await expect(async () => {
      seen.add(await stepStates())
      expect(await stepStates()).toBe('download:done verify:done flash:done prove:done report:done')
    }).toPass({ intervals: [50], timeout: 10_000 })
    expect([...seen].some((s) => s.includes('flash:current'))).toBe(true)

    // a refused download: reason and hint
    await page.evaluate(() => {
      const fake = (window as unknown as { __fake: { emit: (e: unknown) => void } }).__fake
      const at = Date.UTC(2025, 5, 2, 10)
      fake.emit({ type: 'job', job: { id: 'order-2', origin: 'platform', phase: 'failed', result: 'failed', reason: 'download-refused', message: 'HTTP 403 from the package server', error: { kind: 'download', code: 'http-status' }, deviceId: 'dev-2', startVersion: '2.4.0', createdAt: at, updatedAt: at, history: [{ phase: 'received', at }, { phase: 'downloading', at }, { phase: 'failed', at }] } })
    })
    const failed = page.locator('.job-card[data-job-id="order-2"]')
    await expect(failed).toHaveAttribute('data-result', 'failed')
    await expect(failed).toContainText('The server refused the download')
    await expect(failed.locator('[data-hint="downloadRefused"]')).toContainText('ask the platform to send the upgrade again')
    await expect(failed.locator('[data-step="download"]')).toHaveAttribute('data-state', 'failed')
  })

  test('cancel a running job', async ({ page }) => {
    await openApp(page, { withPlatform: true, cachedPackage: true, stepMs: 1000 }, { hash: '#platform' })
    await page.evaluate(async () => {
      const api = (window as unknown as { api: import('../../preload/contract').FlashlineApi }).api
      const r = (await api.listPackages()) as { ok: true; value: Array<{ sha256: string }> }
      await api.flash({ slotId: 'slot-1', sha256: r.value[0]!.sha256 })
    })
    const card = page.locator('.job-card').first()
    await expect(card).toHaveAttribute('data-result', 'running')
    await card.getByRole('button', { name: 'Cancel this job' }).click()
    await expect(card).toHaveAttribute('data-result', 'cancelled')
  })

  test('demo mode: one button, and a complete upgrade on each simulated platform within the minute', async ({ page }) => {
    await openApp(page, { demo: true, stepMs: 100 })
    await expect(page.locator('.demo-banner')).toContainText('Demo mode')
    await page.getByRole('button', { name: 'Run the demo' }).click()
    await expect(page).toHaveURL(/#platform$/)
    await expect(page.locator('.job-card[data-result="succeeded"]')).toHaveCount(3, { timeout: 30_000 })
    await expect(page.locator('.connection[data-status="online"]')).toHaveCount(3)
    // each profile shows its connection's state, found through the connection's profileId
    await expect(page.locator('.profile')).toHaveCount(3)
    await expect(page.locator('.profile').getByRole('button', { name: 'Connect' })).toHaveCount(0)
    await expect(page.locator('.profile').getByText('Online')).toHaveCount(3)
  })
})
