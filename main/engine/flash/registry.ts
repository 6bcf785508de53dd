import { FlashlineError } from '../errors'
import type { ProtocolName } from '../model'
import type { Flasher } from './flasher'
import { createEspFlasher } from './esp'
import { createMcubootFlasher } from './mcuboot'
import { createStm32Flasher } from './stm32'
import { createYmodemFlasher } from './ymodem'

export const PROTOCOLS: readonly ProtocolName[] = ['ymodem', 'stm32', 'esp', 'mcuboot']

export function isProtocol(name: string): name is ProtocolName {
  return (PROTOCOLS as readonly string[]).includes(name)
}

/** Default flash address per protocol, where the protocol needs one. */
export const DEFAULT_ADDRESS: Partial<Record<ProtocolName, number>> = {
  stm32: 0x08000000,
  esp: 0x10000
}

/** Creates the flasher for a protocol. */
export async function createFlasher(protocol: ProtocolName, options: Record<string, unknown> = {}): Promise<Flasher> {
  switch (protocol) {
    case 'ymodem':
      return createYmodemFlasher(options)
    case 'stm32':
      return createStm32Flasher(options)
    case 'mcuboot':
      return createMcubootFlasher(options)
    case 'esp':
      return createEspFlasher(options)
    default:
      throw new FlashlineError('usage', 'protocol-unavailable', `protocol "${protocol}" is not available in this build; use one of: ymodem, stm32, mcuboot`)
  }
}
