/** Every origin writes its record: a local `flashline flash` (with who and which unit) and a failed one too. */
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { makeFirmwareImage } from '../main/engine/sim/firmware-image'
import { runCli } from './harness/cli'
import { tempDir } from './harness/tmp'

const work = tempDir()
afterAll(() => work.cleanup())

describe('records of local flashes', () => {
  it('flashline flash records the operator, station, serial number and the unit; a failed flash is recorded as failed', async () => {
    const data = join(work.dir, 'data')
    const fw = join(work.dir, 'fw.bin')
    writeFileSync(fw, makeFirmwareImage({ version: '6.0.1', size: 9000, seed: 61 }))
    const ok = await runCli(['flash', '--port', 'sim:stm32:rec1', '--protocol', 'stm32', '--file', fw, '--operator', 'bob', '--station', 'st-7', '--serial', 'SN-42', '--data-dir', data])
    expect(ok.code, ok.stderr).toBe(0)
    const bad = await runCli(['flash', '--port', 'sim:stm32:rec2', '--protocol', 'stm32', '--file', fw, '--address', '0x08100000', '--data-dir', data])
    expect(bad.code).toBe(5)
    const r = await runCli(['records', '--format', 'jsonl', '--data-dir', data])
    const rows = r.stdout.trim().split('\n').map((l) => JSON.parse(l))
    expect(rows).toHaveLength(2)
    expect(rows[0]).toMatchObject({ origin: 'local', operator: 'bob', station: 'st-7', serial_number: 'SN-42', protocol: 'stm32', port: 'sim:stm32:rec1', result: 'succeeded', package: 'fw.bin', package_size: 9000 })
    expect(rows[0].chip_id).toMatch(/^[0-9a-f]{24}$/)
    expect(rows[1]).toMatchObject({ origin: 'local', result: 'failed', reason: 'install-failed', port: 'sim:stm32:rec2' })
    expect(rows[1].chip_id).toMatch(/^[0-9a-f]{24}$/)
    expect(rows[1].chip_id).not.toBe(rows[0].chip_id)
    expect(rows[1].message).toMatch(/does not fit/)
  }, 60_000)
})
