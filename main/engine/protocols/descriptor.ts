import type { z } from 'zod'
import type { Flasher } from '../flash/flasher'
import type { ProtocolName } from '../model'

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
  /** The flash address these options select, if the protocol uses one. */
  address?(options: Options): number | undefined
}

export function defineProtocol<Name extends ProtocolName, Options>(d: ProtocolDescriptor<Name, Options>): ProtocolDescriptor<Name, Options> {
  return d
}
