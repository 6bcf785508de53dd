import type { z } from 'zod'
import type { Flasher } from '../flash/flasher'
import type { DeviceIdentity, ProtocolName } from '../model'
import type { Transport } from '../transport/transport'

/** Line settings a bootloader expects unless the slot overrides them. */
export interface LineDefaults {
  baudRate: number
  parity: 'none' | 'even'
  /** The slot's baud is the rate used for flashing once connected, not the rate to open the port at (ESP: ROM at 115200). */
  slotBaudIsFlashRate?: boolean
}

/** What the flasher gets besides its options: the slot's baud and a log line sink. */
export interface FlasherContext {
  baud?: number
  log?: (message: string) => void
}

/** What answered on a port, found without writing anything to the device. */
export interface DetectedDevice {
  protocol: ProtocolName
  /** What the bootloader says it is: the part, the chip description, the MCUboot image, the receiver. */
  chip?: string
  /** The unit's own id when the bootloader can tell it (STM32 96-bit unique ID, ESP factory MAC). */
  chipId?: string
  details?: Record<string, unknown>
}

/** What a detect gets besides its options: the slot's baud, a log line sink and a way to stop it. */
export interface DetectContext extends FlasherContext {
  signal?: AbortSignal
}

/** A flasher's identity as a detect reports it. */
export function detected(identity: DeviceIdentity): DetectedDevice {
  return { protocol: identity.protocol, ...(identity.chip !== undefined ? { chip: identity.chip } : {}), ...(identity.id !== undefined ? { chipId: identity.id } : {}), ...(identity.details ? { details: identity.details } : {}) }
}

/**
 * Everything the engine needs to know about one bench protocol. Adding a protocol means one file
 * exporting a descriptor and one line in the registry (./index.ts).
 */
export interface ProtocolDescriptor<Name extends ProtocolName = ProtocolName, Options = unknown> {
  readonly name: Name
  /** What a technician calls it. */
  readonly title: string
  readonly line: LineDefaults
  /** Where the image goes when the slot names no address (protocols that take one). */
  readonly defaultAddress?: number
  /** The protocol's own slot options, as the station file, CLI and app give them (field name → check). */
  readonly options: z.ZodType<Options, unknown>
  /** The option fields, for telling a user which ones apply to which protocol. */
  readonly optionFields: readonly string[]
  createFlasher(options: Options, context: FlasherContext): Flasher
  /**
   * Asks the bootloader on an open port what it is, erasing and writing nothing. A port where nothing
   * answers is a device error 'no-answer' whose message says how to put the board in its bootloader.
   */
  detect(transport: Transport, options: Options, context: DetectContext): Promise<DetectedDevice>
  /** The flash address these options select, if the protocol uses one. */
  address?(options: Options): number | undefined
}

export function defineProtocol<Name extends ProtocolName, Options>(d: ProtocolDescriptor<Name, Options>): ProtocolDescriptor<Name, Options> {
  return d
}
