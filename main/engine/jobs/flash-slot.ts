import { FlashlineError } from '../errors'
import { probeVersion } from '../flash/probe'
import type { FlashManifest, FlashProgress } from '../model'
import { flasherFor, PROTOCOLS } from '../protocols'
import { openTransport } from '../transport/open'
import type { Transport } from '../transport/transport'
import type { FlashOutcome } from './job-runner'
import { DEFAULT_PROBE_PATTERN, type SlotSettings } from './slot'

/**
 * Opens a slot's port with its protocol's line defaults: the protocol's parity unless the slot names
 * one, and the slot's baud unless that is the protocol's flashing rate (ESP: the ROM is met at 115200).
 */
export function openSlot(slot: SlotSettings): Promise<Transport> {
  return openTransport(slot.port, slotLine(slot))
}

function slotLine(slot: SlotSettings): { baudRate: number; parity: 'none' | 'even' | 'odd' } {
  const line = PROTOCOLS[slot.protocol].line
  return { baudRate: line.slotBaudIsFlashRate ? line.baudRate : (slot.baud ?? line.baudRate), parity: slot.parity ?? line.parity }
}

/**
 * Flashes one package onto one slot and, if the slot has a probe, reads the version the device prints
 * after its reset. The one flashing step of every job, whatever its origin.
 */
export async function flashSlot(
  slot: SlotSettings,
  pkg: { path: string; size: number; name: string; manifest?: FlashManifest },
  options: { signal?: AbortSignal; onProgress?: (p: FlashProgress) => void; onProving?: () => void; log?: (message: string) => void }
): Promise<FlashOutcome> {
  if (pkg.size === 0) {
    // an empty image "flashes" in no time on every protocol and proves nothing
    throw new FlashlineError('usage', 'empty-image', `${pkg.name} is empty (0 bytes); there is nothing to flash — check that the right file was given`)
  }
  const { flasher, address } = flasherFor(slot, options.log)
  const openBaud = slotLine(slot).baudRate
  let transport: Transport | null = await openSlot(slot)
  try {
    const result = await flasher.flash(transport, { path: pkg.path, size: pkg.size, name: pkg.name, address, manifest: pkg.manifest }, { signal: options.signal, onProgress: options.onProgress })
    if (!slot.probe) return { result }
    options.onProving?.()
    const probeBaud = slot.probe.baud ?? openBaud
    const reopened = !transport.isOpen
    const changed = !reopened && probeBaud !== transport.baudRate
    if (reopened) transport = await openTransport(slot.port, { baudRate: probeBaud, parity: 'none' })
    else if (changed) await transport.setBaudRate(probeBaud)
    let pattern: RegExp
    try {
      pattern = new RegExp(slot.probe.pattern ?? DEFAULT_PROBE_PATTERN, 'i')
    } catch (e) {
      throw new FlashlineError('usage', 'bad-probe', `the probe pattern is not a valid regular expression: ${(e as Error).message}`)
    }
    const probedVersion = await probeVersion(transport, {
      pattern,
      timeoutMs: slot.probe.timeoutMs ?? 15_000,
      // Bytes caught behind the last protocol answer were sent at the flash baud rate.
      alreadyReceived: reopened || changed ? undefined : result.bootLog
    })
    return { result, probedVersion }
  } finally {
    await transport?.close()
  }
}
