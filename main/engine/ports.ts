import { existsSync, readdirSync, readFileSync, realpathSync } from 'node:fs'
import { basename, dirname, join } from 'node:path'
import { SerialPort } from 'serialport'

export interface PortListing {
  path: string
  manufacturer?: string
  serialNumber?: string
  vendorId?: string
  productId?: string
  /** Friendly name of a known USB-serial bridge, from VID:PID. */
  bridge?: string
}

/** Known USB-serial bridges by VID:PID (lower-case hex). */
const BRIDGES: Record<string, string> = {
  '1a86:7523': 'WCH CH340',
  '1a86:7522': 'WCH CH340K',
  '1a86:5523': 'WCH CH341',
  '1a86:55d4': 'WCH CH9102',
  '1a86:55d3': 'WCH CH343',
  '10c4:ea60': 'Silicon Labs CP210x',
  '10c4:ea70': 'Silicon Labs CP2105',
  '10c4:ea71': 'Silicon Labs CP2108',
  '0403:6001': 'FTDI FT232R',
  '0403:6010': 'FTDI FT2232',
  '0403:6011': 'FTDI FT4232',
  '0403:6014': 'FTDI FT232H',
  '0403:6015': 'FTDI FT-X',
  '067b:2303': 'Prolific PL2303',
  '303a:1001': 'Espressif USB-JTAG/serial',
  '0483:5740': 'STMicroelectronics Virtual COM (CDC-ACM)',
  '0483:374b': 'ST-LINK/V2-1 VCP',
  '0483:374e': 'ST-LINK/V3 VCP',
  '2e8a:000a': 'Raspberry Pi Pico (CDC-ACM)',
  '1366:1015': 'SEGGER J-Link CDC',
  '2341:0043': 'Arduino Uno (CDC-ACM)'
}

export function bridgeName(vendorId?: string, productId?: string): string | undefined {
  if (!vendorId || !productId) return undefined
  return BRIDGES[`${vendorId.toLowerCase()}:${productId.toLowerCase()}`]
}

/**
 * Linux without udev (containers, minimal installs) makes serialport's list fail ("spawn udevadm
 * ENOENT"); read the same facts from sysfs instead. Legacy 8250 placeholders (ttyS0…31 with no
 * hardware behind them) are left out, as udev-based listing does.
 */
function listFromSysfs(): PortListing[] {
  const base = '/sys/class/tty'
  const out: PortListing[] = []
  let names: string[] = []
  try {
    names = readdirSync(base)
  } catch {
    return out
  }
  const read = (dir: string, f: string): string | undefined => {
    try {
      return readFileSync(join(dir, f), 'utf8').trim() || undefined
    } catch {
      return undefined
    }
  }
  for (const name of names) {
    const deviceLink = join(base, name, 'device')
    if (!existsSync(deviceLink)) continue
    let driver = ''
    try {
      driver = basename(realpathSync(join(deviceLink, 'driver')))
    } catch {
      /* no driver link */
    }
    if (driver === 'serial8250') continue
    let dir = realpathSync(deviceLink)
    let usb: string | undefined
    for (let i = 0; i < 6 && dir !== '/'; i++, dir = dirname(dir)) {
      if (existsSync(join(dir, 'idVendor'))) {
        usb = dir
        break
      }
    }
    const vendorId = usb ? read(usb, 'idVendor') : undefined
    const productId = usb ? read(usb, 'idProduct') : undefined
    out.push({ path: `/dev/${name}`, manufacturer: usb ? read(usb, 'manufacturer') : undefined, serialNumber: usb ? read(usb, 'serial') : undefined, vendorId, productId, bridge: bridgeName(vendorId, productId) })
  }
  return out
}

export async function listPorts(): Promise<PortListing[]> {
  let ports: Awaited<ReturnType<typeof SerialPort.list>>
  try {
    ports = await SerialPort.list()
  } catch (e) {
    if (process.platform === 'linux' && /udevadm/.test((e as Error).message)) return listFromSysfs()
    throw e
  }
  return ports.map((p) => ({
    path: p.path,
    manufacturer: p.manufacturer,
    serialNumber: p.serialNumber,
    vendorId: p.vendorId,
    productId: p.productId,
    bridge: bridgeName(p.vendorId, p.productId)
  }))
}

export type PortChange = { type: 'arrived' | 'removed'; port: PortListing }

/**
 * Hot-plug: polls the port list and reports arrivals and removals (serialport has no native
 * notification on every OS; one list per second is cheap). The lister is injectable for tests.
 */
export class PortWatcher {
  private known = new Map<string, PortListing>()
  private timer: NodeJS.Timeout | null = null

  constructor(
    private readonly onChange: (change: PortChange) => void,
    private readonly list: () => Promise<PortListing[]> = listPorts,
    private readonly intervalMs = 1000
  ) {}

  /** Compares one listing with the last; the first poll reports every port as arrived. */
  async poll(): Promise<void> {
    const now = new Map((await this.list()).map((p) => [p.path, p]))
    for (const [path, port] of now) if (!this.known.has(path)) this.onChange({ type: 'arrived', port })
    for (const [path, port] of this.known) if (!now.has(path)) this.onChange({ type: 'removed', port })
    this.known = now
  }

  start(): void {
    const tick = (): void => {
      void this.poll()
        .catch(() => undefined)
        .finally(() => {
          if (this.timer) this.timer = setTimeout(tick, this.intervalMs)
        })
    }
    this.timer = setTimeout(tick, 0)
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
  }
}
