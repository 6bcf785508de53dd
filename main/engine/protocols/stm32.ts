import { z } from 'zod'
import { choice, flag, signalSequence, wholeNumber } from '../config/fields'
import { defineProtocol, detected } from './descriptor'

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
    // the flasher's code is loaded when a job first needs it, not when the CLI starts
    flash: async (t, image, f) => (await import('../flash/stm32')).flashStm32(t, image, { verify: o.verify ?? 'auto', entry: o.entry, unprotect: o.unprotect, protect: o.protect, log: ctx.log, ...f })
  }),
  // Sync, Get, Get Version, Get ID, unique ID and flash size register; the entry sequence before, its exit after.
  detect: async (t, o: Stm32SlotOptions, ctx) => detected(await (await import('../flash/stm32')).identifyStm32(t, { entry: o.entry, signal: ctx.signal }))
})
