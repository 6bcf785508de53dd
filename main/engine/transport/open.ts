import { FlashlineError } from '../errors'
import { SerialTransport } from './serial'
import type { Transport } from './transport'

export interface OpenOptions {
  baudRate?: number
  parity?: 'none' | 'even' | 'odd'
  lowLatency?: boolean
}

type SimOpener = (name: string, options: OpenOptions) => Promise<Transport>
let simOpener: SimOpener | null = null

/** Whoever wants simulated boards (demo, tests, the app's demo mode) registers them here; the transport layer never imports them. */
export function registerSimPorts(opener: SimOpener): void {
  simOpener = opener
}

export function isSimPort(path: string): boolean {
  return path.startsWith('sim:')
}

export async function openTransport(path: string, options: OpenOptions = {}): Promise<Transport> {
  if (isSimPort(path)) {
    if (!simOpener) throw new FlashlineError('usage', 'no-simulators', `${path} is a simulated port, and no simulators are available in this run`)
    return simOpener(path.slice(4), options)
  }
  return SerialTransport.open({ path, baudRate: options.baudRate ?? 115200, parity: options.parity, lowLatency: options.lowLatency })
}
