/**
 * The fault soak (scripts/soak, `npm run soak`): the reproductions of the defects it found, each on its own.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { sendYmodem } from '../main/engine/flash/ymodem'
import { makeFirmwareImage } from '../main/engine/sim/firmware-image'
import { YmodemDevice } from '../main/engine/sim/ymodem-device'
import { memoryPair } from '../main/engine/transport/memory'

const work = mkdtempSync(join(tmpdir(), 'flashline-soak-test-'))
afterAll(() => rmSync(work, { recursive: true, force: true }))

describe('defects the soak found', () => {
  it('YMODEM: a receiver that asked several times ("CCC") before the flasher reads is still answered', async () => {
    // Before: every 'C' of the run touched another 'C' (a letter), so all were taken for menu text
    // and the flash failed with ymodem-no-start after the start timeout.
    const [host, dev] = memoryPair()
    const device = new YmodemDevice({ personality: 'st-iap', requestIntervalMs: 20 })
    const served = device.attach(dev)
    await new Promise((r) => setTimeout(r, 150)) // several requests are waiting when the flasher starts
    const image = makeFirmwareImage({ version: '2.0.0', size: 3000, seed: 9 })
    const file = join(work, 'ccc.bin')
    writeFileSync(file, image)
    const result = await sendYmodem(host, { path: file, size: image.length, name: 'ccc.bin' }, { startTimeoutMs: 3000 })
    expect(result.bytesWritten).toBe(image.length)
    expect(device.image.equals(image)).toBe(true)
    await host.close()
    await dev.close()
    await served
  })
})
