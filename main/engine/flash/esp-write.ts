import { createHash } from 'node:crypto'
import { promisify } from 'node:util'
import { constants, createInflate, deflate } from 'node:zlib'

const deflateAsync = promisify(deflate)

/** What the compressed write needs of esptool-js's ESPLoader: its public block-level commands. */
export interface DeflLoader {
  IS_STUB: boolean
  FLASH_WRITE_SIZE: number
  ERASE_WRITE_TIMEOUT_PER_MB: number
  timeoutPerMb(msPerMb: number, sizeBytes: number): number
  flashDeflBegin(size: number, compsize: number, offset: number): Promise<number>
  flashDeflBlock(data: Uint8Array, seq: number, timeout: number): Promise<void>
  flashDeflFinish(reboot?: boolean, timeout?: number): Promise<void>
  flashMd5sum(addr: number, size: number): Promise<string>
}

export interface DeflPart {
  data: Uint8Array
  address: number
}

/**
 * How many image bytes each compressed block carries: the deflate stream fed to a decompressor one
 * block at a time, as esptool's write_flash does (esptool/cmds.py: "feeding each compressed block
 * into the decompressor lets us see block-by-block how much will be written"), to size each block's
 * erase-and-write timeout. Native zlib, off this thread.
 */
export async function plainBytesPerBlock(compressed: Uint8Array, blockSize: number): Promise<number[]> {
  const inflate = createInflate()
  let out = 0
  let failed: Error | null = null
  inflate.on('data', (d: Buffer) => (out += d.length))
  inflate.on('error', (e) => (failed = e))
  const sizes: number[] = []
  let before = 0
  try {
    for (let at = 0; at < compressed.length; at += blockSize) {
      inflate.write(compressed.subarray(at, at + blockSize))
      await new Promise<void>((resolve) => inflate.flush(constants.Z_SYNC_FLUSH, () => resolve()))
      if (failed) throw failed
      sizes.push(out - before)
      before = out
    }
  } finally {
    inflate.close()
  }
  return sizes
}

/**
 * esptool-js's `writeFlash` with `compress: true` and the flash parameters kept, block for block the
 * same commands (FLASH_DEFL_BEGIN, FLASH_DEFL_DATA with esptool's per-block timeouts, FLASH_DEFL_END
 * with "stay in the loader" from the stub, SPI_FLASH_MD5 compared with the image's MD5), but with
 * node's zlib: esptool-js 0.7.0 deflates with pako and, to size the timeouts, inflates the stream
 * again with an output chunk of one byte — a callback and a window update per image byte, about
 * 0.7 s of CPU per MiB, which made 16 ESP slots CPU-bound on a two-core bench PC.
 * `onBlock(part, sent, total)` counts compressed bytes, as esptool-js's `reportProgress` does.
 */
export async function writeCompressed(
  loader: DeflLoader,
  parts: DeflPart[],
  onBlock: (part: number, sent: number, total: number) => void,
  log: (line: string) => void
): Promise<void> {
  for (let i = 0; i < parts.length; i++) {
    const { address } = parts[i]!
    const image = padTo4(parts[i]!.data)
    if (image.length === 0) continue
    const md5 = createHash('md5').update(image).digest('hex')
    const compressed = await deflateAsync(image, { level: 9 })
    const plain = await plainBytesPerBlock(compressed, loader.FLASH_WRITE_SIZE)
    const blocks = await loader.flashDeflBegin(image.length, compressed.length, address)
    if (blocks !== plain.length) throw new Error(`the loader expects ${blocks} blocks of ${loader.FLASH_WRITE_SIZE} bytes for ${compressed.length} compressed bytes, not ${plain.length}`)
    onBlock(i, 0, compressed.length)
    const t0 = Date.now()
    // esptool-js's starting value; from the second block on it follows the block sizes
    let timeout = 5000
    for (let seq = 0; seq < blocks; seq++) {
      const at = seq * loader.FLASH_WRITE_SIZE
      const block = compressed.subarray(at, at + loader.FLASH_WRITE_SIZE)
      const blockTimeout = Math.max(3000, loader.timeoutPerMb(loader.ERASE_WRITE_TIMEOUT_PER_MB, plain[seq]!))
      // the ROM writes a block before acknowledging it; the stub acknowledges and writes while the next one arrives
      if (!loader.IS_STUB) timeout = blockTimeout
      await loader.flashDeflBlock(block, seq, timeout)
      if (loader.IS_STUB) timeout = blockTimeout
      onBlock(i, at + block.length, compressed.length)
    }
    if (loader.IS_STUB) await loader.flashDeflFinish(false, timeout)
    log(`Wrote ${image.length} bytes (${compressed.length} compressed) at 0x${address.toString(16)} in ${(Date.now() - t0) / 1000} seconds.`)
    const flashMd5 = await loader.flashMd5sum(address, image.length)
    if (flashMd5 !== md5) throw new Error(`MD5 of file does not match data in flash! (file ${md5}, flash ${flashMd5})`)
    log('Hash of data verified.')
  }
}

/** Images go out in whole 32-bit words, padded with erased flash (0xFF), as esptool-js's padTo does. */
function padTo4(data: Uint8Array): Uint8Array {
  const rest = data.length % 4
  if (rest === 0) return data
  const out = new Uint8Array(data.length + 4 - rest).fill(0xff)
  out.set(data)
  return out
}
