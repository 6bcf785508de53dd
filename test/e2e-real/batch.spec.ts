import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { expect, test, type Page } from '@playwright/test'
import { RECORD_FIELDS } from '../../main/engine/records/record'
import { makeFirmwareImage } from '../../main/engine/sim/firmware-image'
import { openReal } from './app'
import { ptyBoard, unitId, type PtyBoard } from './boards'
import { openBridge, ok } from './bridge'
import { parseCsv } from './csv'
import { instance } from './instances'

/**
 * A production batch against the real engine: 8 slots on socat ptys, 7 with a simulated STM32 and
 * one where nothing answers; then a simulator on that one and "Retry failed"; then the records as CSV.
 */
test.describe.configure({ mode: 'serial' })

const SLOTS = 8
const DEAD = 5
const firmware = makeFirmwareImage({ version: '3.1.0', size: 12 * 1024, seed: 21 })
const firmwareSha = createHash('sha256').update(firmware).digest('hex')
// the CSV columns as the README's "Records" section lists them
const CSV_COLUMNS =
  'job_id, origin, station, operator, port, usb_serial, usb_location, protocol, chip, chip_id, serial_number, duplicate, package, package_sha256, package_size, from_version, to_version, platform, task_id, started_at, ended_at, duration_ms, download_ms, flash_ms, verify_ms, result, reason, message, retries, log_file'.split(', ')

let boards: PtyBoard[] = []
let page: Page
let problems: string[] = []
/** Every job this file ran: job id → the port it ran on. */
const jobs = new Map<string, string>()

test.beforeAll(async ({ browser }) => {
  // a clean bench: no slots of an earlier spec or run
  const bridge = await openBridge(instance('bench'))
  for (const s of ok('listSlots', await bridge.api.listSlots())) ok('removeSlot', await bridge.api.removeSlot({ id: s.id }))
  await bridge.close()
  for (let i = 0; i < SLOTS; i++) boards.push(await ptyBoard(unitId(i), { simulator: i !== DEAD }))
  page = await browser.newPage({ viewport: { width: 1400, height: 1000 } })
  ;({ problems } = await openReal(page, 'bench', { hash: '#settings' }))
})

test.afterAll(async () => {
  await page?.close()
  for (const b of boards) await b.close()
  boards = []
})

const tileOf = (b: PtyBoard) => page.locator(`.tile[data-port="${b.port}"]`)

test('8 slots saved in Settings, a package uploaded, start all: 7 pass and the one without a board fails', async () => {
  test.setTimeout(120_000)
  for (const [i, b] of boards.entries()) {
    await page.getByRole('button', { name: 'Add slot' }).click()
    const form = page.getByRole('form', { name: 'Add slot' })
    await form.getByLabel('Name').fill(`Slot ${i + 1}`)
    await form.getByLabel('Port').fill(b.port)
    await form.getByLabel('Protocol').selectOption('stm32')
    await form.getByRole('button', { name: 'Save' }).click()
    await expect(form).toHaveCount(0)
  }
  await expect(page.locator('.slots-table tbody tr')).toHaveCount(SLOTS)

  await page.getByRole('navigation').getByRole('link', { name: 'Bench' }).click()
  await expect(page.locator('.tile')).toHaveCount(SLOTS)
  await page.getByLabel('Choose a file…').setInputFiles({ name: 'sensor-3.1.0.bin', mimeType: 'application/octet-stream', buffer: firmware })
  await expect(page.getByTestId('package-hashes')).toContainText(firmwareSha)
  await page.getByRole('button', { name: 'Start all' }).click()

  await expect(page.locator('.counters')).toHaveAttribute('data-batch-state', 'ended', { timeout: 60_000 })
  await expect(page.locator('.tile[data-result="succeeded"]')).toHaveCount(SLOTS - 1)
  await expect(page.locator('.tile[data-result="failed"]')).toHaveCount(1)
  await expect(tileOf(boards[DEAD]!)).toHaveAttribute('data-result', 'failed')
  await expect(page.getByTestId('counter-passed')).toContainText('7')
  await expect(page.getByTestId('counter-failed')).toContainText('1')
  await expect(page.getByTestId('counter-yield')).toContainText('87.5%')

  for (const [i, b] of boards.entries()) {
    const tile = tileOf(b)
    jobs.set((await tile.getAttribute('data-job-id'))!, b.port)
    if (i === DEAD) continue
    // the unit's own ID from its bootloader, and the image in its flash
    await expect(tile.locator('.tile__chipid')).toHaveText(b.uid.toString('hex'))
    expect(b.device.flash.subarray(0, firmware.length).equals(firmware), `flash of the board on ${b.port}`).toBe(true)
  }
  const dead = tileOf(boards[DEAD]!)
  await expect(dead.locator('.tile__message')).toContainText('no answer from the STM32 bootloader')
  await expect(dead.locator('.tile__hint').first()).toContainText('set BOOT0 high')
  expect(jobs.size).toBe(SLOTS)
})

test('a board on the failed slot, then "Retry failed": that slot passes', async () => {
  const dead = boards[DEAD]!
  const before = await tileOf(dead).getAttribute('data-job-id')
  dead.attach()
  await page.getByRole('button', { name: 'Retry failed' }).click()
  await expect(tileOf(dead)).not.toHaveAttribute('data-job-id', before!)
  await expect(tileOf(dead)).toHaveAttribute('data-result', 'succeeded', { timeout: 30_000 })
  await expect(tileOf(dead).locator('.tile__chipid')).toHaveText(dead.uid.toString('hex'))
  expect(dead.device.flash.subarray(0, firmware.length).equals(firmware)).toBe(true)
  // the other tiles keep their passes
  await expect(page.locator('.tile[data-result="succeeded"]')).toHaveCount(SLOTS)
  await expect(page.locator('.counters')).toHaveAttribute('data-batch-state', 'ended')
  await expect(page.getByTestId('counter-passed')).toContainText('1')
  await expect(page.getByTestId('counter-failed')).toContainText('0')
  jobs.set((await tileOf(dead).getAttribute('data-job-id'))!, dead.port)
})

test('Records: Export CSV downloads every record column and a row per job just run', async () => {
  await page.getByRole('navigation').getByRole('link', { name: 'Records' }).click()
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export CSV' }).click()])
  expect(download.suggestedFilename()).toMatch(/^flashline-records-\d{8}-\d{6}\.csv$/)
  const rows = parseCsv(await readFile((await download.path())!, 'utf8'))
  expect(rows[0]).toEqual(CSV_COLUMNS)
  // the documented columns are the engine's record fields
  expect([...RECORD_FIELDS]).toEqual(CSV_COLUMNS)
  const col = (name: string) => CSV_COLUMNS.indexOf(name)
  const ours = rows.slice(1).filter((r) => jobs.has(r[col('job_id')]!))
  expect(ours.map((r) => r[col('job_id')]).sort()).toEqual([...jobs.keys()].sort())
  for (const r of ours) {
    expect(r).toHaveLength(CSV_COLUMNS.length)
    expect(r[col('port')]).toBe(jobs.get(r[col('job_id')]!))
    expect(r[col('origin')]).toBe('batch')
    expect(r[col('protocol')]).toBe('stm32')
    expect(r[col('package_sha256')]).toBe(firmwareSha)
  }
  const results = ours.map((r) => `${r[col('port')] === boards[DEAD]!.port ? 'dead' : 'live'} ${r[col('result')]}`).sort()
  expect(results).toEqual(['dead failed', 'dead succeeded', ...Array<string>(SLOTS - 1).fill('live succeeded')])
  const chipIds = ours.filter((r) => r[col('result')] === 'succeeded').map((r) => r[col('chip_id')]).sort()
  expect(chipIds).toEqual(boards.map((b) => b.uid.toString('hex')).sort())
  expect(problems).toEqual([])
})
