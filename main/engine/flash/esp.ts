import { readFile } from 'node:fs/promises'
import { dirname, resolve } from 'node:path'
import { readFileSync } from 'node:fs'
import { isMainThread } from 'node:worker_threads'
import { FlashlineError } from '../errors'
import type { DeviceIdentity, FlashImage, FlashManifest, FlashResult } from '../model'
import type { Transport } from '../transport/transport'
import { WebSerialOverTransport } from './esp-web-serial'
import { writeCompressed } from './esp-write'
import type { FlashOptions } from './flasher'

/**
 * Espressif ROM/stub flashing through esptool-js (pinned), driven over our transport:
 * connect + chip detection, stub upload, baud change, compressed write, MD5 verify, hard reset.
 * A failed attempt at a high baud rate is retried one step down the ladder.
 */
export interface EspOptions {
  /** Flashing baud rate after the stub is up (the ROM is always met at 115200). */
  baud?: number
  /** Reset into the bootloader with DTR/RTS first (default) or assume it is already waiting. */
  before?: 'default_reset' | 'no_reset'
  after?: 'hard_reset' | 'no_reset'
  usbVendorId?: number
  usbProductId?: number
  log?: (message: string) => void
}

export const ESP_BAUD_LADDER = [921600, 460800, 230400, 115200]
const ROM_BAUD = 115200

type EspManifest = Omit<FlashManifest, 'baseDir'>

/** Reads and checks a manifest (`{"builds": [{"chipFamily": "ESP32-C3", "parts": [{"path", "offset"}]}]}`). */
export function loadEspManifest(path: string): FlashManifest {
  let raw: unknown
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'))
  } catch (e) {
    throw new FlashlineError('usage', 'bad-manifest', `cannot read the manifest ${path}: ${(e as Error).message}`)
  }
  const fail = (where: string, what: string): never => {
    throw new FlashlineError('usage', 'bad-manifest', `${path}: ${where}: ${what}`)
  }
  if (!raw || typeof raw !== 'object' || !Array.isArray((raw as EspManifest).builds) || (raw as EspManifest).builds.length === 0) fail('builds', 'expected a non-empty array of {chipFamily, parts}')
  const m = raw as EspManifest
  m.builds.forEach((b, i) => {
    if (!b || typeof b.chipFamily !== 'string') fail(`builds[${i}].chipFamily`, 'expected a chip family such as "ESP32-C3"')
    if (!Array.isArray(b.parts) || b.parts.length === 0) fail(`builds[${i}].parts`, 'expected a non-empty array of {path, offset}')
    b.parts.forEach((p, k) => {
      if (!p || typeof p.path !== 'string' || !p.path) fail(`builds[${i}].parts[${k}].path`, 'expected a file path')
      if (typeof p.offset !== 'number' || !Number.isInteger(p.offset) || p.offset < 0) fail(`builds[${i}].parts[${k}].offset`, 'expected a flash offset as a whole number, e.g. 65536 for 0x10000')
    })
  })
  return { ...m, baseDir: dirname(resolve(path)) }
}

function chipFamilyOf(description: string): string {
  return /^(ESP32(?:-[A-Z0-9]+)?|ESP8266)/i.exec(description)?.[1]?.toUpperCase() ?? description
}

type EsptoolModule = typeof import('esptool-js')

/** esptool-js's loader over one of our open transports; its log lines go to `options.log`. */
function openLoader(esptool: EsptoolModule, t: Transport, baud: number, options: EspOptions) {
  const log = options.log ?? (() => undefined)
  const device = new WebSerialOverTransport(t, { usbVendorId: options.usbVendorId, usbProductId: options.usbProductId })
  const transport = new esptool.Transport(device as unknown as ConstructorParameters<EsptoolModule['Transport']>[0], false)
  // esptool-js prints some trace lines ("readLoop exited") with console.log even with tracing off; stdout is ours (--json)
  transport.trace = () => undefined
  // per-block "Writing at 0x… (n %)" lines duplicate the progress events
  const say = (l: string): void => {
    const line = l.trim()
    if (line && !line.startsWith('Writing at')) log(line)
  }
  const terminal = { clean: () => undefined, writeLine: say, write: say }
  const loader = new esptool.ESPLoader({ transport, baudrate: baud, romBaudrate: ROM_BAUD, terminal, debugLogging: false })
  return { device, transport, loader, say }
}

/**
 * Runs `work` with esptool-js's transport, letting go of the port when it fails. esptool-js has no
 * cancel: on abort we let go of the port at once and leave its pending reads to time out.
 */
async function withAbort<T>(transport: { disconnect(): Promise<void> }, signal: AbortSignal | undefined, work: () => Promise<T>): Promise<T> {
  let onAbort = (): void => undefined
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => {
      void transport.disconnect().catch(() => undefined)
      reject(new FlashlineError('interrupted', 'aborted', 'interrupted'))
    }
  })
  aborted.catch(() => undefined)
  if (signal?.aborted) throw new FlashlineError('interrupted', 'aborted', 'interrupted')
  signal?.addEventListener('abort', onAbort, { once: true })
  try {
    return await Promise.race([work(), aborted])
  } catch (e) {
    await transport.disconnect().catch(() => undefined)
    throw e
  } finally {
    signal?.removeEventListener('abort', onAbort)
  }
}

/**
 * esptool's hard reset, both lines at once: EN low (RTS) with IO0 high (DTR released), then EN high,
 * so the chip boots from flash. esptool-js 0.7.0's HardReset only releases RTS (it never pulls EN
 * low first), which does not reset a board behind the usual DTR/RTS circuit.
 */
async function hardReset(t: Transport): Promise<void> {
  await t.setSignals({ dtr: false, rts: true })
  await new Promise((r) => setTimeout(r, 100))
  await t.setSignals({ dtr: false, rts: false })
}

async function attempt(
  esptool: EsptoolModule,
  t: Transport,
  parts: (family: string) => Promise<Array<{ data: Buffer; address: number; name: string }>>,
  baud: number,
  options: EspOptions & FlashOptions
): Promise<FlashResult> {
  const { device, transport, loader, say } = openLoader(esptool, t, baud, options)
  return withAbort(transport, options.signal, run)

  async function run(): Promise<FlashResult> {
    options.onProgress?.({ stage: 'connect', done: 0, total: 0 })
    const description = await loader.main(options.before ?? 'default_reset')
    const family = chipFamilyOf(loader.chip.CHIP_NAME)
    let mac: string | undefined
    try {
      mac = await loader.chip.readMac(loader)
    } catch {
      /* secure download mode: no register reads */
    }
    const files = await parts(family)
    const total = files.reduce((n, f) => n + f.data.length, 0)
    const before = files.map((f, i) => files.slice(0, i).reduce((n, g) => n + g.data.length, 0))
    options.onProgress?.({ stage: 'write', done: 0, total })
    // esptool-js's writeFlash, with native zlib instead of its byte-at-a-time inflate (esp-write.ts);
    // bytes reported are compressed ones: scale them onto the uncompressed part
    await writeCompressed(
      loader,
      files.map((f) => ({ data: new Uint8Array(f.data.buffer, f.data.byteOffset, f.data.length), address: f.address })),
      (i, written, compressedTotal) => {
        const part = files[i]!.data.length
        options.onProgress?.({ stage: 'write', done: before[i]! + Math.round((written / Math.max(1, compressedTotal)) * part), total })
      },
      say
    )
    options.onProgress?.({ stage: 'verify', done: total, total })
    const flashBaud = transport.baudrate
    if ((options.after ?? 'hard_reset') === 'hard_reset') {
      options.onProgress?.({ stage: 'reset', done: total, total })
      // The ROM and most applications print at 115200 after a reset: listen there, not at the flashing rate.
      await t.setBaudRate(ROM_BAUD)
      transport.flushInput()
      await hardReset(t)
    }
    const caught = Buffer.from(transport.peek())
    await transport.disconnect()
    const bootLog = Buffer.concat([caught, device.takeLeftover()]).toString('latin1')
    return {
      bytesWritten: total,
      verified: 'device',
      identity: { protocol: 'esp', chip: description, id: mac, details: { family, baud: flashBaud, thread: isMainThread ? 'main' : 'worker', parts: files.map((f) => ({ name: f.name, address: f.address, size: f.data.length })) } },
      ...(bootLog ? { bootLog } : {})
    }
  }
}

function explain(e: unknown): FlashlineError {
  if (e instanceof FlashlineError) return e
  const message = e instanceof Error ? e.message : String(e)
  if (/MD5 of file does not match/i.test(message)) return new FlashlineError('device', 'verify-failed', 'the flash MD5 read back from the chip does not match the image: the write did not take (check power and the flash chip)')
  if (/Failed to connect/i.test(message)) {
    return new FlashlineError('device', 'esp-no-sync', 'no answer from the Espressif ROM loader: hold BOOT (IO0) low while resetting the board, or check that the port is the board’s USB-serial and nothing else has it open')
  }
  return new FlashlineError('device', 'esp-failed', `esptool-js: ${message.split('\n')[0]}`)
}

/**
 * Tells which Espressif chip answers, writing nothing: resets it into the ROM loader (DTR/RTS, as
 * esptool's default_reset), syncs, identifies the chip and reads its description, features,
 * crystal and factory MAC (register reads only: no stub upload, no flash command), then hard-resets
 * it out of the loader so the board runs its application again. Runs on the calling thread: a
 * detect moves a few hundred bytes and has no deflate to keep off the main thread.
 */
export async function identifyEsp(t: Transport, options: Pick<EspOptions, 'before' | 'usbVendorId' | 'usbProductId' | 'log'> & { signal?: AbortSignal; attempts?: number } = {}): Promise<DeviceIdentity> {
  const esptool = (await import('esptool-js')) as EsptoolModule
  if (t.baudRate !== ROM_BAUD) await t.setBaudRate(ROM_BAUD)
  const { transport, loader } = openLoader(esptool, t, ROM_BAUD, options)
  try {
    return await withAbort(transport, options.signal, async () => {
      await loader.detectChip(options.before ?? 'default_reset', options.attempts ?? 3)
      try {
        const details: Record<string, unknown> = { family: chipFamilyOf(loader.chip.CHIP_NAME) }
        let chip = loader.chip.CHIP_NAME
        let mac: string | undefined
        if (loader.secureDownloadMode) {
          // secure download mode: no register reads, so no description or MAC
          details['secureDownloadMode'] = true
        } else {
          chip = await loader.chip.getChipDescription(loader)
          details['features'] = await loader.chip.getChipFeatures(loader)
          details['crystalMHz'] = await loader.chip.getCrystalFreq(loader)
          mac = await loader.chip.readMac(loader)
        }
        await transport.disconnect()
        return { protocol: 'esp', chip, ...(mac ? { id: mac } : {}), details }
      } finally {
        // out of the loader whether or not the reads worked: the board runs its application again
        await hardReset(t).catch(() => undefined)
      }
    })
  } catch (e) {
    const err = explain(e)
    throw err.code === 'esp-no-sync' ? new FlashlineError('device', 'no-answer', err.message) : err
  }
}

/** Flashes one .bin at `image.address`, or the parts a manifest lists for the detected chip. */
export async function flashEsp(t: Transport, image: FlashImage, options: EspOptions & FlashOptions = {}): Promise<FlashResult> {
  const esptool = (await import('esptool-js')) as EsptoolModule
  const parts = async (family: string): Promise<Array<{ data: Buffer; address: number; name: string }>> => {
    if (!image.manifest) {
      const data = await readFile(image.path)
      if (data.length !== image.size) throw new FlashlineError('device', 'file-changed', `${image.path} is ${data.length} bytes, expected ${image.size}; was it changed during the flash?`)
      return [{ data, address: image.address ?? 0x10000, name: image.name }]
    }
    const build = image.manifest.builds.find((b) => b.chipFamily.toUpperCase() === family.toUpperCase())
    if (!build) throw new FlashlineError('usage', 'manifest-no-build', `the manifest has no build for ${family} (it lists ${image.manifest.builds.map((b) => b.chipFamily).join(', ')}); nothing was written`)
    return Promise.all(build.parts.map(async (p) => ({ data: await readFile(resolve(image.manifest!.baseDir, p.path)), address: p.offset, name: p.path })))
  }
  const top = options.baud ?? ESP_BAUD_LADDER[0]!
  const ladder = [top, ...ESP_BAUD_LADDER.filter((b) => b < top)]
  let last: FlashlineError | null = null
  for (const baud of ladder) {
    try {
      return await attempt(esptool, t, parts, baud, options)
    } catch (e) {
      if (options.signal?.aborted) throw new FlashlineError('interrupted', 'aborted', 'interrupted')
      last = explain(e)
      if (last.kind !== 'device' || last.code === 'esp-no-sync' || options.signal?.aborted) throw last
      if (baud !== ladder.at(-1)) options.log?.(`${last.message} at ${baud} baud; trying again at ${ladder[ladder.indexOf(baud) + 1]} baud`)
      if (t.baudRate !== ROM_BAUD) await t.setBaudRate(ROM_BAUD).catch(() => undefined)
    }
  }
  throw last!
}
