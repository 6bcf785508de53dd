import { createReadStream, statSync } from 'node:fs'
import { basename, resolve } from 'node:path'
import { flashSlot } from '../../engine/agent'
import { compareExpectation, PackageHasher } from '../../engine/download/hashers'
import { FlashlineError } from '../../engine/errors'
import { loadEspManifest } from '../../engine/flash/esp'
import { hexDigest, parseFlags, required } from '../args'
import { RateMeter, type Output } from '../output'
import { SLOT_OPTIONS, slotFrom } from './slot-flags'

export const FLASH_HELP = `flashline flash --port PATH --protocol ymodem|stm32|esp|mcuboot (--file F | --manifest FILE) [--md5 H | --sha256 H] [--baud N] [--json]
  Flash a local package onto the device on the bench, with no platform (offline recovery).
  --port PATH        serial port (see "flashline ports"); sim:ymodem, sim:stm32, sim:esp, sim:mcuboot are
                     built-in simulated boards
  --protocol P       bench protocol: ymodem, stm32 (STM32 system bootloader, 8E1; --parity none on ptys),
                     esp (Espressif ROM + stub via esptool-js: compressed write, MD5 verify, hard reset)
                     or mcuboot (MCUboot serial recovery, SMP; the file must be an imgtool-signed image)
  --file F           the package to flash
  --md5 H / --sha256 H   refuse to flash unless the file has this hash
  --baud N           line speed (default per protocol, 115200; esp: the flashing rate after the stub is up,
                     default 921600, stepping down 460800/230400/115200 when blocks fail)
  --address ADDR     flash address: stm32 default 0x08000000, esp default 0x10000 (application partition)
  --menu-command S   text to send first for bootloaders with a menu (e.g. "1\\r")
  --verify MODE      stm32: auto (CRC 0xA1 if listed, else read-back), readback, crc or none
  --entry SEQ        stm32, mcuboot: DTR/RTS bootloader entry[:exit] sequence, stm32flash -i syntax
                     (e.g. "-rts&dtr,,rts,:-dtr,rts,-rts": BOOT0 on DTR, reset on RTS)
  --unprotect        stm32: remove write and read-out protection first (read-out unprotect ERASES the whole chip)
  --protect          stm32: enable read-out protection after the verified write (no read-back or Go afterwards)
  --manifest FILE    esp: flash the parts an ESP Web Tools style manifest lists for the detected chip
                     ({"builds":[{"chipFamily":"ESP32-C3","parts":[{"path":"app.bin","offset":65536}]}]})
  --image N          mcuboot: image number (multi-image builds), default 0
  --mtu BYTES        mcuboot: largest SMP packet, default 512 or the buffer the device reports
  --probe REGEX      after flashing, read the console until REGEX matches; group 1 is the version
  --probe-baud N     console speed for the probe   --probe-timeout S   seconds to wait (default 15)
  --json             newline-delimited JSON events on stdout`

export async function flashCommand(argv: string[], makeOutput: (json: boolean) => Output, signal: AbortSignal): Promise<number> {
  const flags = parseFlags(argv, { ...SLOT_OPTIONS, file: { type: 'string' }, manifest: { type: 'string' }, md5: { type: 'string' }, sha256: { type: 'string' }, json: { type: 'boolean' } }, 'flash')
  const out = makeOutput(Boolean(flags['json']))
  const manifestPath = typeof flags['manifest'] === 'string' ? flags['manifest'] : undefined
  if (manifestPath && flags['file'] !== undefined) throw new FlashlineError('usage', 'conflicting-flags', '--manifest and --file cannot be combined: the manifest names the files')
  const file = manifestPath ?? required(flags, 'file', 'the package to flash (or --manifest for a multi-part ESP image)')
  const md5 = hexDigest(flags, 'md5', 32)
  const sha256 = hexDigest(flags, 'sha256', 64)
  const slot = slotFrom(flags, 'local', 'unknown')
  if (manifestPath && slot.protocol !== 'esp') throw new FlashlineError('usage', 'conflicting-flags', '--manifest is for --protocol esp (ESP Web Tools style manifest of parts and offsets)')
  if (manifestPath && (md5 || sha256)) throw new FlashlineError('usage', 'conflicting-flags', '--md5/--sha256 check one file; with --manifest each part is verified on the chip by MD5')
  const sizeOf = (path: string, flag: string): number => {
    try {
      const st = statSync(path)
      if (!st.isFile()) throw new Error('not a file')
      return st.size
    } catch (e) {
      throw new FlashlineError('usage', 'unreadable-file', `${flag} ${path}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`)
    }
  }
  const manifest = manifestPath ? loadEspManifest(manifestPath) : undefined
  let size = 0
  if (manifest) {
    // which build applies is known only once the chip is detected: announce the largest
    for (const b of manifest.builds) size = Math.max(size, b.parts.reduce((n, p) => n + sizeOf(resolve(manifest.baseDir, p.path), '--manifest part'), 0))
  } else size = sizeOf(file, '--file')

  if (md5 || sha256) {
    const hasher = new PackageHasher()
    for await (const chunk of createReadStream(file)) hasher.update(chunk as Buffer)
    const mismatch = compareExpectation(hasher.digest(), { md5, sha256 })
    if (mismatch) {
      throw new FlashlineError('integrity', 'hash-mismatch', `${file} does not match --${mismatch.field}: expected ${mismatch.expected}, file has ${mismatch.actual}; not flashing`)
    }
    out.info(`verified ${basename(file)} (${md5 ? 'MD5' : 'SHA-256'} matches)`)
  }

  out.event('flash-start', { port: slot.port, protocol: slot.protocol, file, size })
  out.info(`flashing ${basename(file)} (${size} bytes) to ${slot.port} over ${slot.protocol}`)
  const meter = new RateMeter()
  const outcome = await flashSlot(slot, { path: file, size, name: basename(file), manifest }, {
    signal,
    onProgress: (p) => {
      if (!meter.due(100, p.done === p.total)) return
      out.event('flash-progress', { stage: p.stage, done: p.done, total: p.total })
      out.progress(p.stage, p.done, p.total, meter.rate(p.done))
    },
    onProving: () => out.info('probing the version on the console…'),
    log: (message) => {
      out.event('flash-log', { message })
      out.info(message)
    }
  })
  out.clearBar()
  out.event('flash-done', { bytes: outcome.result.bytesWritten, verified: outcome.result.verified, identity: outcome.result.identity, version: outcome.probedVersion })
  out.info(`done: ${outcome.result.bytesWritten} bytes written${outcome.result.verified === 'device' ? ', verified by the device' : ''}${outcome.probedVersion ? `; device reports version ${outcome.probedVersion}` : ''}`)
  return 0
}
