/**
 * The ESP compressed write (main/engine/flash/esp-write.ts) against a recording loader: what goes out
 * block by block, with which timeouts, checked against esptool's write_flash (esptool/cmds.py) —
 * expected values come from zlib's one-shot inflate of each prefix, not from the streaming code under test.
 */
import { createHash, randomBytes } from 'node:crypto'
import { constants, inflateSync } from 'node:zlib'
import { describe, expect, it } from 'vitest'
import { plainBytesPerBlock, writeCompressed, type DeflLoader } from '../main/engine/flash/esp-write'

const BLOCK = 0x4000

/** Image bytes each block of a zlib stream adds: one-shot inflate of every prefix, flushed (quadratic; fine for a test). */
function expectedPerBlock(compressed: Uint8Array, blockSize: number): number[] {
  const sizes: number[] = []
  let before = 0
  for (let end = blockSize; end - blockSize < compressed.length; end += blockSize) {
    const n = inflateSync(compressed.subarray(0, Math.min(end, compressed.length)), { finishFlush: constants.Z_SYNC_FLUSH }).length
    sizes.push(n - before)
    before = n
  }
  return sizes
}

/** Random stretches (incompressible) with long runs of zeros between them: blocks carry very different amounts. */
function mixedImage(): Buffer {
  return Buffer.concat([randomBytes(40_000), Buffer.alloc(600_000), randomBytes(30_000), Buffer.alloc(200_001, 0x5a)])
}

/** An ESPLoader stand-in that records the block-level commands (timeouts from esptool-js 0.7.0: 40 s per MB, at least 3 s). */
function recordingLoader(stub: boolean, flashMd5?: (addr: number, size: number, written: Buffer) => string) {
  const calls: Array<{ op: string; args: unknown[] }> = []
  const blocks: Buffer[] = []
  let begun = { size: 0, compsize: 0 }
  const loader: DeflLoader = {
    IS_STUB: stub,
    FLASH_WRITE_SIZE: BLOCK,
    ERASE_WRITE_TIMEOUT_PER_MB: 40_000,
    timeoutPerMb: (msPerMb, bytes) => Math.max(3000, msPerMb * (bytes / 1_000_000)),
    async flashDeflBegin(size, compsize, offset) {
      calls.push({ op: 'begin', args: [size, compsize, offset] })
      begun = { size, compsize }
      blocks.length = 0 // each part is its own stream
      return Math.floor((compsize + BLOCK - 1) / BLOCK)
    },
    async flashDeflBlock(data, seq, timeout) {
      calls.push({ op: 'block', args: [data.length, seq, timeout] })
      blocks.push(Buffer.from(data))
    },
    async flashDeflFinish(reboot, timeout) {
      calls.push({ op: 'finish', args: [reboot, timeout] })
    },
    async flashMd5sum(addr, size) {
      calls.push({ op: 'md5', args: [addr, size] })
      const written = inflateSync(Buffer.concat(blocks))
      expect(written.length).toBe(begun.size)
      return flashMd5 ? flashMd5(addr, size, written) : createHash('md5').update(written).digest('hex')
    }
  }
  return { loader, calls, blocks }
}

describe('ESP compressed write', () => {
  it('counts the image bytes each compressed block carries, as a one-shot inflate of each prefix does', async () => {
    const { deflateSync } = await import('node:zlib')
    for (const image of [mixedImage(), randomBytes(100_000), Buffer.alloc(1 << 20, 0xff)]) {
      const compressed = deflateSync(image, { level: 9 })
      const sizes = await plainBytesPerBlock(compressed, BLOCK)
      expect(sizes).toEqual(expectedPerBlock(compressed, BLOCK))
      expect(sizes.reduce((a, b) => a + b, 0)).toBe(image.length)
    }
  })

  it('stub: sends the stream in FLASH_WRITE_SIZE blocks, each timeout sized by the block before it, ends in the loader, checks MD5', async () => {
    const image = mixedImage() // 870001 bytes: not a whole number of words
    const { loader, calls, blocks } = recordingLoader(true)
    const progress: Array<[number, number, number]> = []
    const lines: string[] = []
    await writeCompressed(loader, [{ data: image, address: 0x10000 }], (...p) => progress.push(p), (l) => lines.push(l))

    const padded = Buffer.concat([image, Buffer.alloc(3, 0xff)]) // esptool-js padTo(image, 4), 0xFF
    const stream = Buffer.concat(blocks)
    expect(inflateSync(stream).equals(padded)).toBe(true)
    expect(calls[0]).toEqual({ op: 'begin', args: [padded.length, stream.length, 0x10000] })
    const plain = expectedPerBlock(stream, BLOCK)
    const blockCalls = calls.filter((c) => c.op === 'block')
    expect(blockCalls.map((c) => c.args[1])).toEqual(plain.map((_, i) => i))
    expect(blockCalls.slice(0, -1).every((c) => c.args[0] === BLOCK)).toBe(true)
    // esptool write_flash: the stub acknowledges a block on receipt and writes it while the next arrives,
    // so block k waits at most for block k-1's erase and write: max(3 s, 40 s/MB × its image bytes); the first, 5 s (esptool-js)
    const timeouts = blockCalls.map((c) => c.args[2])
    expect(timeouts).toEqual([5000, ...plain.slice(0, -1).map((n) => Math.max(3000, 40_000 * (n / 1_000_000)))])
    expect(timeouts.some((t) => (t as number) > 3000)).toBe(true) // the zero run makes one block carry far more than 16 KiB
    const last = Math.max(3000, 40_000 * (plain.at(-1)! / 1_000_000))
    expect(calls.slice(-2)).toEqual([
      { op: 'finish', args: [false, last] },
      { op: 'md5', args: [0x10000, padded.length] }
    ])
    expect(progress[0]).toEqual([0, 0, stream.length])
    expect(progress.at(-1)).toEqual([0, stream.length, stream.length])
    expect(lines).toContain('Hash of data verified.')
  })

  it('ROM: each block waits for its own erase and write; no FLASH_DEFL_END', async () => {
    const image = mixedImage()
    const { loader, calls, blocks } = recordingLoader(false)
    await writeCompressed(loader, [{ data: image, address: 0x0 }], () => undefined, () => undefined)
    const plain = expectedPerBlock(Buffer.concat(blocks), BLOCK)
    expect(calls.filter((c) => c.op === 'block').map((c) => c.args[2])).toEqual(plain.map((n) => Math.max(3000, 40_000 * (n / 1_000_000))))
    expect(calls.some((c) => c.op === 'finish')).toBe(false)
  })

  it('a flash whose MD5 differs from the image fails with the message the flasher explains as verify-failed', async () => {
    const { loader } = recordingLoader(true, () => '00112233445566778899aabbccddeeff')
    await expect(writeCompressed(loader, [{ data: randomBytes(5000), address: 0x10000 }], () => undefined, () => undefined)).rejects.toThrow(/^MD5 of file does not match data in flash!/)
  })

  it('several parts: one begin … MD5 round each, at its own address; an empty part is skipped', async () => {
    const { loader, calls } = recordingLoader(true)
    await writeCompressed(
      loader,
      [
        { data: randomBytes(20_000), address: 0x0 },
        { data: new Uint8Array(0), address: 0x8000 },
        { data: randomBytes(40_000), address: 0x10000 }
      ],
      () => undefined,
      () => undefined
    )
    expect(calls.filter((c) => c.op === 'begin').map((c) => c.args[2])).toEqual([0x0, 0x10000])
    expect(calls.filter((c) => c.op === 'md5')).toEqual([
      { op: 'md5', args: [0x0, 20_000] },
      { op: 'md5', args: [0x10000, 40_000] }
    ])
  })
})
