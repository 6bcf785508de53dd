import { listPorts } from '../../engine/ports'
import { parseFlags } from '../args'
import type { Output } from '../output'

export async function portsCommand(argv: string[], makeOutput: (json: boolean) => Output): Promise<number> {
  const flags = parseFlags(argv, { json: { type: 'boolean' } }, 'ports')
  const out = makeOutput(Boolean(flags['json']))
  const ports = await listPorts()
  if (out.json) {
    out.event('ports', { ports })
    return 0
  }
  if (ports.length === 0) out.info('No serial ports found. Connect the device (and its USB-serial adapter) and try again.')
  for (const p of ports) {
    const ids = p.vendorId ? ` [${p.vendorId}:${p.productId}]` : ''
    out.info(`${p.path}\t${p.bridge ?? p.manufacturer ?? ''}${ids}${p.serialNumber ? ` s/n ${p.serialNumber}` : ''}`)
  }
  return 0
}
