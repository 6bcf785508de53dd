import { z } from 'zod'
import { choice, flag, signalSequence, wholeNumber } from '../config/fields'
import type { flashStm32 as Flash } from '../flash/stm32'
import { defineProtocol } from './descriptor'

/** The flasher's code is loaded when a job first needs it, not when the CLI starts. */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const load = () => require('../flash/stm32') as { flashStm32: typeof Flash }

const options = z.object({
  address: wholeNumber(0, 0xffffffff),
  /** auto: Get Checksum (0xA1) when the bootloader lists it, else a full read-back. */
  verify: choice(['auto', 'readback', 'crc', 'none'] as const),
  /** DTR/RTS bootloader entry[:exit] sequence, stm32flash -i syntax. */
  entry: signalSequence(),
  /** Remove write and read-out protection first (read-out unprotect mass-erases the chip). */
  unprotect: flag(),
  /** Enable read-out protection after the verified write. */
  protect: flag()
})

export type Stm32SlotOptions = z.output<typeof options>

/** STM32 system-memory UART bootloader (ST AN3155), 8E1. */
export const stm32 = defineProtocol({
  name: 'stm32',
  title: 'STM32 system bootloader (AN3155)',
  line: { baudRate: 115200, parity: 'even' },
  defaultAddress: 0x08000000,
  options,
  optionFields: ['address', 'verify', 'entry', 'unprotect', 'protect'],
  address: (o: Stm32SlotOptions) => o.address,
  createFlasher: (o: Stm32SlotOptions, ctx) => ({
    protocol: 'stm32',
    flash: (t, image, f) => load().flashStm32(t, image, { verify: o.verify ?? 'auto', entry: o.entry, unprotect: o.unprotect, protect: o.protect, log: ctx.log, ...f })
  })
})
