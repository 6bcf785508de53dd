import type { ProtocolName } from '../model'
import { SerialTransport } from './serial'
import type { Transport } from './transport'

export interface OpenOptions {
  baudRate?: number
  parity?: 'none' | 'even' | 'odd'
  lowLatency?: boolean
}

/** Line settings each bootloader expects unless the slot overrides them. */
export const PROTOCOL_LINE_DEFAULTS: Record<ProtocolName, { baudRate: number; parity: 'none' | 'even'; slotBaudIsFlashRate?: boolean }> = {
  ymodem: { baudRate: 115200, parity: 'none' },
  stm32: { baudRate: 115200, parity: 'even' },
  // The ESP ROM is always met at 115200; a slot's baud is the rate the stub switches to for flashing.
  esp: { baudRate: 115200, parity: 'none', slotBaudIsFlashRate: true },
  mcuboot: { baudRate: 115200, parity: 'none' }
}

type SimOpener = (name: string, options: OpenOptions) => Promise<Transport>
let simOpener: SimOpener | null = null

/** The simulator module registers itself here, so the engine can open `sim:` ports without depending on it. */
export function registerSimPorts(opener: SimOpener): void {
  simOpener = opener
}

export function isSimPort(path: string): boolean {
  return path.startsWith('sim:')
}

export async function openTransport(path: string, options: OpenOptions = {}): Promise<Transport> {
  if (isSimPort(path)) {
    if (!simOpener) {
      // Loaded on first use: the simulators are product code, but a bench station never needs them.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      ;(require('../sim/sim-ports') as typeof import('../sim/sim-ports')).registerBuiltinSimPorts()
    }
    return simOpener!(path.slice(4), options)
  }
  return SerialTransport.open({ path, baudRate: options.baudRate ?? 115200, parity: options.parity, lowLatency: options.lowLatency })
}
