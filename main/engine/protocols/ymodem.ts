import { z } from 'zod'
import { text } from '../config/fields'
import { defineProtocol } from './descriptor'

const options = z.object({
  /** Text typed first to start the receiver from a bootloader menu (e.g. "1\r"). */
  menuCommand: text()
})

export type YmodemSlotOptions = z.output<typeof options>

/** YMODEM-1K batch (ST IAP, MXCHIP MiCO and other YMODEM bootloaders). */
export const ymodem = defineProtocol({
  name: 'ymodem',
  title: 'YMODEM-1K',
  line: { baudRate: 115200, parity: 'none' },
  options,
  optionFields: ['menuCommand'],
  createFlasher: (o: YmodemSlotOptions, ctx) => ({
    protocol: 'ymodem',
    // the flasher's code is loaded when a job first needs it, not when the CLI starts
    flash: async (t, image, f) => (await import('../flash/ymodem')).sendYmodem(t, image, { menuCommand: o.menuCommand, log: ctx.log, ...f })
  }),
  // The receiver's first 'C' (after the menu command), then CAN CAN; no block is sent.
  detect: async (t, o: YmodemSlotOptions, ctx) => (await import('../flash/ymodem')).identifyYmodem(t, { menuCommand: o.menuCommand, signal: ctx.signal })
})
