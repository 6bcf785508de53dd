import { basename } from 'node:path'
import { Bench, defaultDataDir, useSimulators, FlashlineError, type ErrorKind, type JobInfo } from '../../engine'
import { hexDigest, parseFlags, str } from '../args'
import { flagError, recordsDbFrom, SLOT_OPTIONS, slotFields } from '../config-flags'
import type { Output } from '../output'
import { renderEvents } from '../render'

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
  --operator NAME --station ID --serial SN   written into the job's record (SN: the unit's serial number)
  --records-db URL   also replicate the record to PostgreSQL (or env FLASHLINE_RECORDS_DB); never slows the flash
  --data-dir DIR     where the job's journal, log and record are kept (default ${defaultDataDir()})
  --json             newline-delimited JSON events on stdout`

export async function flashCommand(argv: string[], makeOutput: (json: boolean) => Output, signal: AbortSignal): Promise<number> {
  const flags = parseFlags(
    argv,
    {
      ...SLOT_OPTIONS,
      file: { type: 'string' },
      manifest: { type: 'string' },
      md5: { type: 'string' },
      sha256: { type: 'string' },
      json: { type: 'boolean' },
      'data-dir': { type: 'string' },
      operator: { type: 'string' },
      station: { type: 'string' },
      serial: { type: 'string' },
      'records-db': { type: 'string' }
    },
    'flash'
  )
  const out = makeOutput(Boolean(flags['json']))
  const manifest = str(flags, 'manifest')
  const file = str(flags, 'file')
  if (manifest !== undefined && file !== undefined) throw new FlashlineError('usage', 'conflicting-flags', '--manifest and --file cannot be combined: the manifest names the files')
  if (manifest === undefined && file === undefined) throw new FlashlineError('usage', 'missing-flag', '--file is required: the package to flash (or --manifest for a multi-part ESP image)')
  const md5 = hexDigest(flags, 'md5', 32)
  const sha256 = hexDigest(flags, 'sha256', 64)
  const slot = slotFields(flags)
  if (manifest !== undefined && slot['protocol'] !== 'esp') throw new FlashlineError('usage', 'conflicting-flags', '--manifest is for --protocol esp (ESP Web Tools style manifest of parts and offsets)')
  if (manifest !== undefined && (md5 || sha256)) throw new FlashlineError('usage', 'conflicting-flags', '--md5/--sha256 check one file; with --manifest each part is verified on the chip by MD5')

  useSimulators()
  const bench = new Bench({ dataDir: str(flags, 'data-dir') ?? defaultDataDir(), station: str(flags, 'station'), operator: str(flags, 'operator'), ...recordsDbFrom(flags) })
  renderEvents(bench, out, { jobLogEvent: 'flash-log' })
  let handle
  try {
    handle = bench.flash({ slot, file, manifest, expect: md5 || sha256 ? { md5, sha256 } : undefined, context: { serialNumber: str(flags, 'serial') } })
  } catch (e) {
    await bench.close()
    throw flagError(e)
  }
  const what = basename(manifest ?? file!)
  out.event('flash-start', { job: handle.id, port: slot['port'], protocol: slot['protocol'], file: manifest ?? file })
  out.info(`flashing ${what} to ${String(slot['port'])} over ${String(slot['protocol'])}`)
  const onAbort = () => bench.cancel(handle.id)
  signal.addEventListener('abort', onAbort, { once: true })
  let job: JobInfo
  try {
    job = await handle.done
  } finally {
    signal.removeEventListener('abort', onAbort)
    await bench.close()
  }
  out.clearBar()
  if (job.result !== 'succeeded') throw jobError(job, { md5, sha256 })
  out.event('flash-done', { job: job.id, bytes: job.bytesWritten, verified: job.verified, identity: job.identity, version: job.probedVersion, logFile: job.logFile })
  out.info(`done: ${job.bytesWritten} bytes written${job.verified === 'device' ? ', verified by the device' : ''}${job.probedVersion ? `; device reports version ${job.probedVersion}` : ''}`)
  return 0
}

/** A failed job as the error the CLI prints and maps to its exit code. */
function jobError(job: JobInfo, expect: { md5?: string; sha256?: string }): FlashlineError {
  if (job.result === 'cancelled') return new FlashlineError('interrupted', 'cancelled', 'interrupted')
  const kind = (job.error?.kind ?? 'internal') as ErrorKind
  let message = job.message ?? 'failed'
  if (kind === 'integrity' && (expect.md5 || expect.sha256)) message = message.replace(/its expected (md5|sha256)/i, (_m, f: string) => `--${f.toLowerCase()}`)
  return new FlashlineError(kind, job.error?.code ?? 'failed', message)
}
