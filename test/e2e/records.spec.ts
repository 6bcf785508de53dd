import { readFile } from 'node:fs/promises'
import { expect, test } from '@playwright/test'
import { openApp } from './app'

test.describe('records', () => {
  test('filters by result, chip id and serial number; opens a job log', async ({ page }) => {
    const { problems } = await openApp(page, { scenario: 'mixed', cachedPackage: true }, { hash: '#records' })
    const rows = page.locator('tbody tr')
    await expect(rows).toHaveCount(5)
    await page.getByLabel('Result').selectOption('failed')
    await page.getByRole('button', { name: 'Apply' }).click()
    await expect(rows).toHaveCount(2)
    await expect(page.getByRole('status')).toHaveText('Records found: 2')
    await page.getByLabel('Result').selectOption('')
    await page.getByLabel('Chip ID').fill('0x0668ff340001')
    await page.getByRole('button', { name: 'Apply' }).click()
    await expect(rows).toHaveCount(1)
    await expect(rows.first()).toContainText('SN25050385')
    await page.getByLabel('Chip ID').fill('')
    await page.getByLabel('Serial number').fill('SN25050386')
    await page.getByRole('button', { name: 'Apply' }).click()
    await expect(rows).toHaveCount(1)
    await expect(rows.first()).toContainText('0x0668FF340002')

    await page.getByRole('button', { name: 'Open the log of job job-old-2' }).click()
    const dialog = page.getByRole('dialog', { name: 'Log of job job-old-2' })
    await expect(dialog.locator('pre')).toContainText('job job-old-2')
    await page.keyboard.press('Escape')
    await expect(dialog).toHaveCount(0)
    expect(problems).toEqual([])
  })

  test('filters by date range (the end day included); a reversed range is refused', async ({ page }) => {
    await openApp(page, { scenario: 'mixed', cachedPackage: true }, { hash: '#records' })
    // records start at 08:00 UTC on 2025-05-30, -31, 06-01 and (the slot jobs) 06-02
    await page.getByLabel('From').fill('2025-05-31')
    await page.getByLabel('To').fill('2025-06-01')
    await page.getByRole('button', { name: 'Apply' }).click()
    await expect(page.locator('tbody tr')).toHaveCount(2)
    const filter = await page.evaluate(() => (window as unknown as { __fake: { calls: Array<{ method: string; args: { since?: string; until?: string } }> } }).__fake.calls.filter((c) => c.method === 'queryRecords').at(-1)?.args)
    expect(new Date(filter!.until!).getTime() - new Date(filter!.since!).getTime()).toBe(2 * 86_400_000)
    await page.getByLabel('From').fill('2025-06-02')
    await expect(page.getByText('The start date is after the end date.')).toBeVisible()
    await expect(page.getByRole('button', { name: 'Apply' })).toBeDisabled()
  })

  test('exports CSV and JSONL as file downloads with the filter applied', async ({ page }) => {
    await openApp(page, { scenario: 'mixed', cachedPackage: true }, { hash: '#records' })
    await page.getByLabel('Result').selectOption('succeeded')
    const [csv] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export CSV' }).click()])
    expect(csv.suggestedFilename()).toBe('flashline-records.csv')
    const csvText = await readFile((await csv.path())!, 'utf8')
    const lines = csvText.trimEnd().split('\n')
    expect(lines[0]).toBe('job_id,origin,port,protocol,chip,chip_id,serial_number,package,from_version,to_version,started_at,result,reason')
    expect(lines).toHaveLength(4)
    for (const line of lines.slice(1)) expect(line.split(',')[11]).toBe('succeeded')

    const [jsonl] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export JSONL' }).click()])
    expect(jsonl.suggestedFilename()).toBe('flashline-records.jsonl')
    const records = (await readFile((await jsonl.path())!, 'utf8'))
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { result: string })
    expect(records.map((r) => r.result)).toEqual(['succeeded', 'succeeded', 'succeeded'])
  })
})
