import { expect, test } from '@playwright/test'
import type { AppEvent, JobView } from '../../preload/contract'
import { openReal } from './app'
import { openBridge, type TestBridge } from './bridge'
import { seen, watchProgress } from './page-watch'

let bridge: TestBridge | undefined
test.afterEach(async () => {
  await bridge?.close()
  bridge = undefined
})

test('demo: each simulated cloud orders an upgrade; the page shows it through to the closed task, progress on the way', async ({ page }) => {
  await watchProgress(page)
  const { ui, problems } = await openReal(page, 'demo')
  bridge = await openBridge(ui)
  await expect(page.locator('.demo-banner')).toBeVisible()
  await page.getByRole('button', { name: 'Run the demo' }).click()
  await expect(page).toHaveURL(/#platform$/)

  // the engine's jobs, as the host tells anyone listening
  const finals = await bridge.waitFor('three platform jobs ended', (events) => {
    const ended = new Map<string, JobView>()
    for (const e of events) if (e.type === 'job' && e.job.origin === 'platform' && e.job.result) ended.set(e.job.id, e.job)
    return ended.size >= 3 ? [...ended.values()] : undefined
  }, 60_000)
  expect(finals.map((j) => j.result)).toEqual(['succeeded', 'succeeded', 'succeeded'])

  // the page: three cards, each through every step
  for (const job of finals) {
    const card = page.locator(`.job-card[data-job-id="${job.id}"]`)
    await expect(card).toHaveAttribute('data-result', 'succeeded')
    const steps = await card.locator('.stepper__step').evaluateAll((els) => els.map((e) => `${e.getAttribute('data-step')}:${e.getAttribute('data-state')}`))
    expect(steps).toEqual(['download:done', 'verify:done', 'flash:done', 'prove:done', 'report:done'])
    await expect(card).toContainText((job.targetVersion ?? job.probedVersion)!)
  }
  await expect(page.locator('.connection[data-status="online"]')).toHaveCount(3)

  // the clouds' own verdicts on their tasks
  const verdicts = await bridge.waitFor('the three clouds closed their tasks', (events: AppEvent[]) => {
    const lines = events.flatMap((e) => (e.type === 'log' && e.line.source === 'demo' ? [e.line.message] : []))
    return lines.length >= 3 ? lines : undefined
  }, 30_000)
  const parsed = verdicts.map((v) => /^the (\w+) cloud's task \S+ \(firmware (\S+)\) closed: (\w+)/.exec(v)?.slice(1) ?? [v])
  expect(parsed.map((p) => p[0]).sort()).toEqual(['FogCloud', 'IoTDA', 'Wudun'])
  for (const [platform, version, status] of parsed) {
    expect(status, `${platform}'s verdict`).toBe('succeeded')
    expect(finals.map((j) => j.probedVersion)).toContain(version)
  }

  // progress was on the page while the jobs ran (seen by the page itself, whenever it happened)
  const shown = await seen(page)
  for (const job of finals) {
    expect(shown, `job ${job.id} on ${job.port}`).toContain(`${job.id} step flash`)
    expect(shown.filter((s) => s.startsWith(`${job.id} progress `)).length, `part-way progress of job ${job.id}`).toBeGreaterThan(0)
  }
  expect(problems).toEqual([])
})
