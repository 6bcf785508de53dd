/** The ESP worker thread shared by every ESP flash of the process: flashes at once, each on its own board, and one stopping alone. */
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { flashEspThreaded } from '../main/engine/flash/esp-threaded'
import { EspDevice } from '../main/engine/sim/esp-device'
import { makeFirmwareImage } from '../main/engine/sim/firmware-image'
import { memoryPair } from '../main/engine/transport/memory'
import { tempDir } from './harness/tmp'

const work = tempDir()
afterAll(() => work.cleanup())

function board(i: number) {
  const [host, dev] = memoryPair(`sim:esp:${i}`, `sim:esp:${i}#device`)
  const device = new EspDevice({ mac: `34:85:18:00:00:0${i}` })
  void device.attach(dev)
  const fw = makeFirmwareImage({ version: `4.${i}.0`, size: 120_000 + i * 10_000, seed: 30 + i })
  const path = join(work.dir, `board-${i}.bin`)
  writeFileSync(path, fw)
  return { host, device, fw, image: { path, size: fw.length, name: `board-${i}.bin`, address: 0x10000 } }
}

describe('ESP flashes on the shared worker thread', () => {
  it('four boards at once each get their own image, and cancelling one leaves the others to finish', async () => {
    const boards = [0, 1, 2, 3].map(board)
    const abort = new AbortController()
    try {
      const results = await Promise.allSettled(
        boards.map((b, i) =>
          flashEspThreaded(b.host, b.image, i === 2 ? { signal: abort.signal, onProgress: (p) => p.stage === 'write' && p.done > 0 && abort.abort() } : {})
        )
      )
      expect(results[2]).toMatchObject({ status: 'rejected', reason: { kind: 'interrupted' } })
      for (const i of [0, 1, 3]) {
        const b = boards[i]!
        expect(results[i]).toMatchObject({ status: 'fulfilled', value: { bytesWritten: b.fw.length, verified: 'device', identity: { id: `34:85:18:00:00:0${i}`, details: { thread: 'worker' } } } })
        expect(b.device.read(0x10000, b.fw.length).equals(b.fw)).toBe(true)
      }
      // and the worker takes the next flash after all that
      const again = board(4)
      await expect(flashEspThreaded(again.host, again.image)).resolves.toMatchObject({ bytesWritten: again.fw.length })
      expect(again.device.read(0x10000, again.fw.length).equals(again.fw)).toBe(true)
      await again.host.close()
    } finally {
      for (const b of boards) await b.host.close()
    }
  }, 60_000)
})
