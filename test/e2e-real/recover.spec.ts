import { createHash } from 'node:crypto'
import { expect, test } from '@playwright/test'
import { makeFirmwareImage } from '../../main/engine/sim/firmware-image'
import { openReal } from './app'
import { ptyBoard, unitId, type PtyBoard } from './boards'

let board: PtyBoard | undefined
test.afterEach(async () => {
  await board?.close()
  board = undefined
})

const firmware = makeFirmwareImage({ version: '3.2.0', size: 20 * 1024, seed: 33 })
const sha256 = createHash('sha256').update(firmware).digest('hex')
const md5 = createHash('md5').update(firmware).digest('hex')

test('Recover a simulated STM32 on a pty: the port, detect (chip and unique ID), upload (hashes), flash, verify, probe', async ({ page }) => {
  board = await ptyBoard(unitId(12), { simulator: true, version: '1.0.0' })
  const { problems } = await openReal(page, 'bench', { hash: '#recover' })

  // a pty is no port the system lists: its path is typed
  await page.getByLabel('Or type the port’s path (one the system does not list)').fill(board.port)
  await page.getByLabel('Protocol').selectOption('stm32')
  await page.getByRole('button', { name: 'Next' }).click()

  await expect(page.locator('.boot-hint')).toContainText('set BOOT0 high')
  await page.getByRole('button', { name: 'Detect', exact: true }).click()
  const detected = page.getByTestId('detected')
  await expect(detected).toContainText('Found: STM32 system bootloader')
  await expect(detected).toContainText('STM32F10')
  // RM0008 §30.2: the 96-bit unique ID, as 24 hex digits in memory order
  await expect(detected.locator('dd.mono').first()).toHaveText(board.uid.toString('hex'))
  expect(board.uid.toString('hex')).toMatch(/^[0-9a-f]{24}$/)
  // detecting wrote nothing
  expect(board.device.version).toBe('1.0.0')
  await page.getByRole('button', { name: 'Next' }).click()

  await page.getByLabel('Choose a file…').setInputFiles({ name: 'sensor-3.2.0.bin', mimeType: 'application/octet-stream', buffer: firmware })
  const hashes = page.getByTestId('package-hashes')
  await expect(hashes).toContainText(sha256)
  await expect(hashes).toContainText(md5)
  await expect(hashes).toContainText('20.0 KiB')
  await page.getByRole('button', { name: 'Next' }).click()

  // the simulator prints "version: X" after Go (main/engine/sim/stm32-device.ts)
  await page.getByLabel('Version pattern printed after boot (optional)').fill('version: (\\S+)')
  await page.getByRole('button', { name: 'Flash', exact: true }).click()
  const job = page.locator('.recover-job')
  await expect(job).toHaveAttribute('data-result', 'succeeded', { timeout: 30_000 })
  await expect(job).toContainText('The board booted version 3.2.0.')
  await expect(job).toContainText('Verified on the device.')
  const steps = await job.locator('.stepper__step').evaluateAll((els) => els.map((e) => `${e.getAttribute('data-step')}:${e.getAttribute('data-state')}`))
  expect(steps).toEqual(['check:done', 'flash:done', 'prove:done'])

  // the board holds the image
  expect(board.device.flash.subarray(0, firmware.length).equals(firmware)).toBe(true)
  expect(board.device.version).toBe('3.2.0')
  expect(problems).toEqual([])
})
