import { FlashlineError } from '../../engine/errors'
import { isProtocol, PROTOCOLS } from '../../engine/flash/registry'
import { parseSignalSequence } from '../../engine/flash/signal-sequence'
import type { ProbeConfig, SlotConfig } from '../../engine/jobs/slot'
import type { ProtocolName } from '../../engine/model'
import { int, seconds, str, type Flags, type OptionSpec } from '../args'

/** Flags that describe how to reach and flash one bench device; shared by `agent` and `flash`. */
export const SLOT_OPTIONS: OptionSpec = {
  port: { type: 'string' },
  protocol: { type: 'string' },
  baud: { type: 'string' },
  parity: { type: 'string' },
  address: { type: 'string' },
  'menu-command': { type: 'string' },
  image: { type: 'string' },
  mtu: { type: 'string' },
  verify: { type: 'string' },
  entry: { type: 'string' },
  unprotect: { type: 'boolean' },
  protect: { type: 'boolean' },
  probe: { type: 'string' },
  'probe-baud': { type: 'string' },
  'probe-timeout': { type: 'string' }
}

export function protocolFrom(flags: Flags): ProtocolName {
  const p = str(flags, 'protocol')
  if (!p) throw new FlashlineError('usage', 'missing-flag', `--protocol is required: one of ${PROTOCOLS.join(', ')}`)
  if (!isProtocol(p)) throw new FlashlineError('usage', 'bad-choice', `--protocol must be one of ${PROTOCOLS.join(', ')}, got "${p}"`)
  return p
}

export function probeFrom(flags: Flags): ProbeConfig | undefined {
  const pattern = str(flags, 'probe')
  if (pattern === undefined) {
    if (str(flags, 'probe-baud') || str(flags, 'probe-timeout')) throw new FlashlineError('usage', 'missing-flag', '--probe-baud and --probe-timeout need --probe REGEX')
    return undefined
  }
  try {
    new RegExp(pattern)
  } catch (e) {
    throw new FlashlineError('usage', 'bad-probe', `--probe is not a valid regular expression: ${(e as Error).message}`)
  }
  return { pattern, baud: int(flags, 'probe-baud', { min: 300 }), timeoutMs: seconds(flags, 'probe-timeout') }
}

export function slotFrom(flags: Flags, deviceId: string, currentVersion: string): SlotConfig {
  const port = str(flags, 'port')
  if (!port) throw new FlashlineError('usage', 'missing-flag', '--port is required: the serial port of the device on the bench (see "flashline ports"), or sim:ymodem for the simulator')
  const parity = str(flags, 'parity')
  if (parity !== undefined && !['none', 'even', 'odd'].includes(parity)) throw new FlashlineError('usage', 'bad-choice', `--parity must be none, even or odd, got "${parity}"`)
  const protocolOptions: Record<string, unknown> = {}
  const address = int(flags, 'address', { min: 0, max: 0xffffffff })
  if (address !== undefined) protocolOptions['address'] = address
  const verify = str(flags, 'verify')
  if (verify !== undefined) {
    if (!['auto', 'readback', 'crc', 'none'].includes(verify)) throw new FlashlineError('usage', 'bad-choice', `--verify must be auto, readback, crc or none, got "${verify}"`)
    protocolOptions['verify'] = verify
  }
  const entry = str(flags, 'entry')
  if (entry !== undefined) {
    parseSignalSequence(entry) // a bad sequence is a usage error now, not halfway through a flash
    protocolOptions['entry'] = entry
  }
  if (flags['unprotect'] === true) protocolOptions['unprotect'] = true
  if (flags['protect'] === true) protocolOptions['protect'] = true
  const imageNo = int(flags, 'image', { min: 0, max: 15 })
  if (imageNo !== undefined) protocolOptions['image'] = imageNo
  const mtu = int(flags, 'mtu', { min: 128, max: 65535 })
  if (mtu !== undefined) protocolOptions['mtu'] = mtu
  const menu = str(flags, 'menu-command')
  if (menu !== undefined) protocolOptions['menuCommand'] = menu.replace(/\\r/g, '\r').replace(/\\n/g, '\n')
  return {
    deviceId,
    port,
    protocol: protocolFrom(flags),
    baud: int(flags, 'baud', { min: 300, max: 16_000_000 }),
    parity: parity as SlotConfig['parity'],
    currentVersion,
    probe: probeFrom(flags),
    protocolOptions
  }
}
