import { createHash } from 'node:crypto'
import { expect, test, type Page } from '@playwright/test'
import { openApp } from './app'

const calls = (page: Page, method: string): Promise<unknown[]> =>
  page.evaluate((m) => (window as unknown as { __fake: { calls: Array<{ method: string; args: unknown }> } }).__fake.calls.filter((c) => c.method === m).map((c) => c.args), method)

// 4 KiB of a firmware-like pattern; its SHA-256 is computed here, independently of the page
const firmware = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7 + 3) & 0xff))
const firmwareSha = createHash('sha256').update(firmware).digest('hex')

test.describe('recover flow', () => {
  test('port with its bridge chip → detect → upload a file (hashes shown) → flash, verify and probe', async ({ page }) => {
    const { problems } = await openApp(page, { stepMs: 60 }, { hash: '#recover' })
    await expect(page.locator('[data-port="/dev/ttyUSB0"]')).toContainText('USB-serial: CH340')
    await expect(page.locator('[data-port="/dev/ttyUSB1"]')).toContainText('USB-serial: CP210x')
    await expect(page.locator('[data-port="/dev/ttyUSB2"]')).toContainText('USB-serial: FTDI')
    await expect(page.locator('[data-port="/dev/ttyACM0"]')).toContainText('USB-serial: CDC-ACM')
    await expect(page.locator('[data-port="/dev/ttyS0"]')).toContainText('Built-in serial port (no USB adapter)')
    const next = page.getByRole('button', { name: 'Next' })
    await expect(next).toBeDisabled()
    await page.locator('[data-port="/dev/ttyUSB0"]').click()
    await next.click()

    await expect(page.locator('.boot-hint')).toContainText('set BOOT0 high, press RESET')
    await page.getByRole('button', { name: 'Detect', exact: true }).click()
    await expect(page.getByTestId('detected')).toContainText('Found: STM32 system bootloader')
    await expect(page.getByTestId('detected')).toContainText('STM32F103xx')
    await page.getByRole('button', { name: 'Next' }).click()

    await page.getByLabel('Choose a file…').setInputFiles({ name: 'sensor-node-2.5.0.bin', mimeType: 'application/octet-stream', buffer: firmware })
    await expect(page.getByTestId('package-hashes')).toContainText(firmwareSha)
    await expect(page.getByTestId('package-hashes')).toContainText('4.0 KiB')
    await page.getByRole('button', { name: 'Next' }).click()

    await page.getByLabel('Version pattern printed after boot (optional)').fill('version (\\S+)')
    await page.getByRole('button', { name: 'Flash', exact: true }).click()
    const job = page.locator('.recover-job')
    await expect(job).toHaveAttribute('data-result', 'running')
    await expect(job.locator('[data-step="flash"]')).toHaveAttribute('data-state', /current|done/)
    await expect(job).toHaveAttribute('data-result', 'succeeded', { timeout: 10_000 })
    await expect(job).toContainText('The board booted version 2.4.1.')
    await expect(job).toContainText('Verified on the device.')
    expect(await calls(page, 'flash')).toEqual([{ slot: { port: '/dev/ttyUSB0', protocol: 'stm32', probe: { pattern: 'version (\\S+)' } }, sha256: firmwareSha }])
    expect(problems).toEqual([])
  })

  test('a file dropped on the page is uploaded; a wrong expected SHA-256 is refused', async ({ page }) => {
    await openApp(page, {}, { hash: '#recover' })
    await page.locator('[data-port="/dev/ttyUSB0"]').click()
    await page.getByRole('button', { name: 'Next' }).click()
    await page.getByRole('button', { name: 'Skip' }).click()
    await page.getByLabel('Expected SHA-256 (optional)').fill('0'.repeat(64))
    const drop = async (): Promise<void> => {
      const data = await page.evaluateHandle((bytes) => {
        const dt = new DataTransfer()
        dt.items.add(new File([new Uint8Array(bytes)], 'dropped.bin'))
        return dt
      }, [...firmware])
      await page.locator('.drop-zone').dispatchEvent('drop', { dataTransfer: data })
    }
    await drop()
    await expect(page.getByRole('alert')).toContainText('Package verification problem')
    await expect(page.getByRole('alert')).toContainText('does not match its published hash')
    await page.getByLabel('Expected SHA-256 (optional)').fill(firmwareSha.toUpperCase())
    await drop()
    await expect(page.getByTestId('package-hashes')).toContainText('dropped.bin')
    await expect(page.getByTestId('package-hashes')).toContainText(firmwareSha)
  })

  test('in the desktop app the file comes from the open dialog (pickPackageFile + importPackage)', async ({ page }) => {
    await openApp(page, { host: 'electron' }, { hash: '#recover' })
    await page.locator('[data-port="/dev/ttyUSB0"]').click()
    await page.getByRole('button', { name: 'Next' }).click()
    await page.getByRole('button', { name: 'Skip' }).click()
    await expect(page.getByLabel('Choose a file…')).toHaveCount(0)
    await page.getByRole('button', { name: 'Open a file…' }).click()
    await expect(page.getByTestId('package-hashes')).toContainText('sensor-node-2.5.0.bin')
    expect(await calls(page, 'importPackage')).toEqual([{ path: '/home/tech/firmware/sensor-node-2.5.0.bin' }])
  })

  for (const [platform, open, text] of [
    ['linux', 'linux', 'sudo usermod -aG dialout $USER'],
    ['darwin', 'darwin', 'Use the /dev/cu.* device, not /dev/tty.*'],
    ['win32', 'win32', 'Device Manager'],
  ] as const) {
    test(`a port that will not open shows the ${platform} help first`, async ({ page }) => {
      await openApp(page, { platform, failPorts: ['/dev/ttyUSB1'] }, { hash: '#recover' })
      await page.locator('[data-port="/dev/ttyUSB1"]').click()
      await page.getByRole('button', { name: 'Next' }).click()
      await page.getByRole('button', { name: 'Detect', exact: true }).click()
      const alert = page.getByRole('alert')
      await expect(alert).toContainText('EACCES')
      await expect(alert).toContainText('The serial port could not be opened')
      const help = alert.locator('.port-help')
      await expect(help.locator(`details[data-os="${open}"]`)).toHaveAttribute('open', '')
      await expect(help.locator(`details[data-os="${open}"]`)).toContainText(text)
      await expect(help.locator('details[open]')).toHaveCount(1)
      await expect(help.locator('details').first()).toHaveAttribute('data-os', open)
    })
  }

  test('the BOOT hint follows the protocol', async ({ page }) => {
    await openApp(page, {}, { hash: '#recover' })
    await page.locator('[data-port="/dev/ttyUSB0"]').click()
    for (const [protocol, hint] of [
      ['esp', 'hold BOOT (IO0) while pressing RESET'],
      ['stm32', 'set BOOT0 high'],
      ['mcuboot', 'hold the recovery button'],
      ['ymodem', 'reset the board into its bootloader menu']
    ] as const) {
      await page.getByRole('button', { name: '1 Choose the port' }).click()
      await page.getByLabel('Protocol').selectOption(protocol)
      await page.getByRole('button', { name: 'Next' }).click()
      await expect(page.locator('.boot-hint')).toContainText(hint)
    }
  })
})
