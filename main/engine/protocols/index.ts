import type { Flasher } from '../flash/flasher'
import type { ProtocolName } from '../model'
import type { DetectContext, DetectedDevice, ProtocolDescriptor } from './descriptor'
import type { Transport } from '../transport/transport'
import { esp, type EspSlotOptions } from './esp'
import { mcuboot, type McubootSlotOptions } from './mcuboot'
import { stm32, type Stm32SlotOptions } from './stm32'
import { ymodem, type YmodemSlotOptions } from './ymodem'

/** Every bench protocol, by name. Adding one: its descriptor file and one line here. */
export const PROTOCOLS = { ymodem, stm32, esp, mcuboot } as const satisfies { [P in ProtocolName]: { name: P } }

/** The typed slot options of each protocol. */
export interface ProtocolOptions {
  ymodem: YmodemSlotOptions
  stm32: Stm32SlotOptions
  esp: EspSlotOptions
  mcuboot: McubootSlotOptions
}

export const PROTOCOL_NAMES = Object.keys(PROTOCOLS) as ProtocolName[]

export function protocol<P extends ProtocolName>(name: P): ProtocolDescriptor<P, ProtocolOptions[P]> {
  return PROTOCOLS[name] as unknown as ProtocolDescriptor<P, ProtocolOptions[P]>
}

export type { DetectContext, DetectedDevice, FlasherContext, LineDefaults, ProtocolDescriptor } from './descriptor'

/** The flasher and flash address a slot's settings select. */
export function flasherFor(slot: { protocol: ProtocolName; options?: ProtocolOptions[ProtocolName]; baud?: number }, log?: (m: string) => void): { flasher: Flasher; address?: number } {
  const d = PROTOCOLS[slot.protocol] as unknown as ProtocolDescriptor<ProtocolName, ProtocolOptions[ProtocolName]>
  const options = slot.options ?? {}
  return { flasher: d.createFlasher(options, { baud: slot.baud, log }), address: d.address?.(options) ?? d.defaultAddress }
}

/** Asks what answers on a slot's open port, with the slot's protocol and options; writes nothing. */
export function detectOn(transport: Transport, slot: { protocol: ProtocolName; options?: ProtocolOptions[ProtocolName]; baud?: number }, context: Omit<DetectContext, 'baud'> = {}): Promise<DetectedDevice> {
  const d = PROTOCOLS[slot.protocol] as unknown as ProtocolDescriptor<ProtocolName, ProtocolOptions[ProtocolName]>
  return d.detect(transport, slot.options ?? {}, { ...context, baud: slot.baud })
}
