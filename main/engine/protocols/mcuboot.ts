import { z } from 'zod'
import { signalSequence, wholeNumber } from '../config/fields'
import { defineProtocol, detected } from './descriptor'

const options = z.object({
  /** Image number of a multi-image build; its slot 0 receives the upload. */
  image: wholeNumber(0, 15),
  /** Largest SMP packet (default 512, or the buffer a Zephyr SMP server reports). */
  mtu: wholeNumber(128, 65535),
  /** DTR/RTS sequence that enters serial recovery (stm32flash -i syntax). */
  entry: signalSequence()
})

export type McubootSlotOptions = z.output<typeof options>

/** MCUboot serial recovery (SMP over the console). */
export const mcuboot = defineProtocol({
  name: 'mcuboot',
  title: 'MCUboot serial recovery',
  line: { baudRate: 115200, parity: 'none' },
  options,
  optionFields: ['image', 'mtu', 'entry'],
  createFlasher: (o: McubootSlotOptions, ctx) => ({
    protocol: 'mcuboot',
    // the flasher's code is loaded when a job first needs it, not when the CLI starts
    flash: async (t, image, f) => (await import('../flash/mcuboot')).flashMcuboot(t, image, { image: o.image, mtu: o.mtu, entry: o.entry, log: ctx.log, ...f })
  }),
  // The image list and, if answered, mcumgr params; no upload, no reset.
  detect: async (t, o: McubootSlotOptions, ctx) => detected(await (await import('../flash/mcuboot')).identifyMcuboot(t, { image: o.image, entry: o.entry, signal: ctx.signal }))
})
