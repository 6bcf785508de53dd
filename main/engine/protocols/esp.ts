import { z } from 'zod'
import { wholeNumber } from '../config/fields'
import { defineProtocol, detected } from './descriptor'

const options = z.object({
  /** Flash offset of a single image (default 0x10000, the application partition); a manifest brings its own. */
  address: wholeNumber(0, 0xffffffff)
})

export type EspSlotOptions = z.output<typeof options>

/**
 * Espressif ROM + stub loader through esptool-js. The slot's baud is the flashing rate after the stub
 * (the ROM is met at 115200). esptool-js's deflate is CPU-heavy, so it runs on a worker thread.
 */
export const esp = defineProtocol({
  name: 'esp',
  title: 'Espressif ROM bootloader',
  line: { baudRate: 115200, parity: 'none', slotBaudIsFlashRate: true },
  defaultAddress: 0x10000,
  options,
  optionFields: ['address'],
  address: (o: EspSlotOptions) => o.address,
  createFlasher: (_o: EspSlotOptions, ctx) => ({
    protocol: 'esp',
    // the flasher's code is loaded when a job first needs it, not when the CLI starts
    flash: async (t, image, f) => (await import('../flash/esp-threaded')).flashEspThreaded(t, image, { baud: ctx.baud, log: ctx.log, ...f })
  }),
  // ROM loader only (no stub, no flash command), on this thread: a few register reads need no worker.
  detect: async (t, _o: EspSlotOptions, ctx) => detected(await (await import('../flash/esp')).identifyEsp(t, { log: ctx.log, signal: ctx.signal }))
})
