// Listing ports needs no bench: this query reads the engine's port module directly so that
// `flashline ports` (run once per unit on a line) loads serialport and nothing else.
import { listPorts, PortWatcher, type PortListing } from '../../engine/ports'
import { parseFlags } from '../args'
import type { Output } from '../output'

function describePort(p: PortListing): string {
  const ids = p.vendorId ? ` [${p.vendorId}:${p.productId}]` : ''
  return `${p.path}\t${p.bridge ?? p.manufacturer ?? ''}${ids}${p.serialNumber ? ` s/n ${p.serialNumber}` : ''}`
}

export async function portsCommand(argv: string[], makeOutput: (json: boolean) => Output, signal?: AbortSignal): Promise<number> {
  const flags = parseFlags(argv, { json: { type: 'boolean' }, watch: { type: 'boolean' } }, 'ports')
  const out = makeOutput(Boolean(flags['json']))
  if (flags['watch']) {
    // Hot-plug: every port present is listed first, then arrivals and removals until Ctrl-C.
    const watcher = new PortWatcher((c) => {
      out.event(`port-${c.type}`, { port: c.port })
      out.info(`${c.type === 'arrived' ? '+' : '-'} ${describePort(c.port)}`)
    })
    watcher.start()
    await new Promise<void>((resolve) => signal?.addEventListener('abort', () => resolve(), { once: true }))
    watcher.stop()
    return 130
  }
  const ports = await listPorts()
  if (out.json) {
    out.event('ports', { ports })
    return 0
  }
  if (ports.length === 0) out.info('No serial ports found. Connect the device (and its USB-serial adapter) and try again.')
  for (const p of ports) out.info(describePort(p))
  return 0
}
