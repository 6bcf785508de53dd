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
  /**
   * Where the adapter is plugged in: on Linux its USB interface as sysfs names it ("1-1.4:1.0":
   * bus 1, root hub port 1, port 4 of the hub there, configuration 1, interface 0), elsewhere
   * serialport's locationId.
   */
  location?: string
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

/** A USB interface directory in sysfs: "<bus>-<port>[.<port>…]:<configuration>.<interface>", e.g. "1-1.4:1.0". */
const USB_INTERFACE = /^\d+-\d+(\.\d+)*:\d+\.\d+$/

function readSysfs(dir: string, f: string): string | undefined {
  try {
    return readFileSync(join(dir, f), 'utf8').trim() || undefined
  } catch {
    return undefined
  }
}

/**
 * One tty as sysfs tells it (`<root>/class/tty/<name>/device` leads to the hardware behind it), or
 * null when it has none or is a legacy 8250 placeholder (ttyS0…31 with no hardware), which udev-based
 * listing leaves out too. A USB adapter's tty sits under its USB interface (CDC-ACM: the interface
 * itself; usb-serial drivers: a port device below it) and that under the USB device, whose
 * idVendor/idProduct/serial/manufacturer files give the rest.
 */
function ttyFromSysfs(root: string, name: string): PortListing | null {
  const deviceLink = join(root, 'class', 'tty', name, 'device')
  if (!existsSync(deviceLink)) return null
  let driver = ''
  try {
    driver = basename(realpathSync(join(deviceLink, 'driver')))
  } catch {
    /* no driver link */
  }
  if (driver === 'serial8250') return null
  let usb: string | undefined
  let location: string | undefined
  let dir = realpathSync(deviceLink)
  for (let i = 0; i < 6 && dir !== dirname(dir); i++, dir = dirname(dir)) {
    if (!location && USB_INTERFACE.test(basename(dir))) location = basename(dir)
    if (existsSync(join(dir, 'idVendor'))) {
      usb = dir
      break
    }
  }
  const vendorId = usb ? readSysfs(usb, 'idVendor') : undefined
  const productId = usb ? readSysfs(usb, 'idProduct') : undefined
  return {
    path: `/dev/${name}`,
    manufacturer: usb ? readSysfs(usb, 'manufacturer') : undefined,
    serialNumber: usb ? readSysfs(usb, 'serial') : undefined,
    vendorId,
    productId,
    bridge: bridgeName(vendorId, productId),
    location: usb ? location : undefined
  }
}

/**
 * Linux without udev (containers, minimal installs) makes serialport's list fail ("spawn udevadm
 * ENOENT"); read the same facts from sysfs instead. `root` is "/sys" but for tests.
 */
export function listFromSysfs(root = '/sys'): PortListing[] {
  let names: string[] = []
  try {
    names = readdirSync(join(root, 'class', 'tty'))
  } catch {
    return []
  }
  return names.map((n) => ttyFromSysfs(root, n)).filter((p): p is PortListing => p !== null)
}

type SerialportInfo = Awaited<ReturnType<typeof SerialPort.list>>[number]

/**
 * serialport's listing in our terms. Its Linux (udev) listing has no locationId, so there the USB
 * interface comes from sysfs, as in the fallback.
 */
export function fromSerialportList(ports: SerialportInfo[], options: { platform?: NodeJS.Platform; sysfsRoot?: string } = {}): PortListing[] {
  const linux = (options.platform ?? process.platform) === 'linux'
  return ports.map((p) => ({
    path: p.path,
    manufacturer: p.manufacturer,
    serialNumber: p.serialNumber,
    vendorId: p.vendorId,
    productId: p.productId,
    bridge: bridgeName(p.vendorId, p.productId),
    location: p.locationId || (linux ? ttyFromSysfs(options.sysfsRoot ?? '/sys', basename(p.path))?.location : undefined)
  }))
}

export async function listPorts(): Promise<PortListing[]> {
  let ports: SerialportInfo[]
  try {
    ports = await SerialPort.list()
  } catch (e) {
    if (process.platform === 'linux' && /udevadm/.test((e as Error).message)) return listFromSysfs()
    throw e
  }
  return fromSerialportList(ports)
}

/** The adapter a job's port goes through: the next best unit identity where the bootloader reports none. */
export interface UsbIdentity {
  /** The USB-serial adapter's serial number (iSerialNumber), when it has one. */
  serialNumber?: string
  /** Where it is plugged in (see PortListing.location). */
  location?: string
}

function realpathOrSelf(p: string): string {
  try {
    return realpathSync(p)
  } catch {
    return p
  }
}

/**
 * The listing entry for a port path as the user gave it: the same path, or the same device behind
 * a symlink (/dev/serial/by-id/…, /dev/serial/by-path/…). Windows port names ignore case.
 */
export function findPort(ports: PortListing[], portPath: string, platform: NodeJS.Platform = process.platform): PortListing | undefined {
  const key = (p: string): string => (platform === 'win32' ? p.toUpperCase() : p)
  const exact = ports.find((p) => key(p.path) === key(portPath))
  if (exact) return exact
  const target = realpathOrSelf(portPath)
  return ports.find((p) => realpathOrSelf(p.path) === target)
}

/**
 * The USB serial number and location of the adapter behind `portPath`, for the job's record.
 * {} for anything that is not a USB device (a pty, a built-in UART) and when the ports cannot be
 * listed: the flash never depends on it.
 */
/**
 * A lister whose callers in the same turn of the event loop share one listing, started after the last
 * of them asked, so nobody gets a listing older than their question. A batch starting 16 jobs asks for
 * 16 identities at once, and each listing spawns udevadm and parses its whole database on Linux.
 */
export function listingPerTurn(list: () => Promise<PortListing[]>): () => Promise<PortListing[]> {
  let next: Promise<PortListing[]> | null = null
  return () => {
    if (!next) {
      next = new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
        next = null
        return list()
      })
    }
    return next
  }
}

const listPortsPerTurn = listingPerTurn(() => listPorts())

export async function usbIdentityOf(portPath: string, list: () => Promise<PortListing[]> = listPortsPerTurn): Promise<UsbIdentity> {
  let port: PortListing | undefined
  try {
    port = findPort(await list(), portPath)
  } catch {
    return {}
  }
  return { ...(port?.serialNumber ? { serialNumber: port.serialNumber } : {}), ...(port?.location ? { location: port.location } : {}) }
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
