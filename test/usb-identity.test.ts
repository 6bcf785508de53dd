/**
 * The USB-serial adapter as the unit's next best identity (YMODEM and MCUboot report no unit id):
 * its serial number and where it is plugged in, found from the port path a job was given.
 */
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { flashMcuboot } from '../main/engine/flash/mcuboot'
import { findPort, fromSerialportList, listFromSysfs, listPorts, usbIdentityOf, type PortListing } from '../main/engine/ports'
import { McubootDevice } from '../main/engine/sim/mcuboot-device'
import { memoryPair } from '../main/engine/transport/memory'
import { IMAGE_A } from './fixtures/imgtool-images'
import { ptyPair } from './harness/pty'
import { tempDir } from './harness/tmp'

const work = tempDir()
afterAll(() => work.cleanup())

/**
 * A sysfs tree laid out as Linux lays it out: /sys/class/tty/<name> links into /sys/devices, and
 * <name>/device leads to the hardware. A usb-serial driver's ttyUSBn hangs off a port device below
 * the USB interface ("1-1.4:1.0"); a CDC-ACM ttyACMn's device is the interface itself; the USB
 * device directory above ("1-1.4") holds idVendor, idProduct, serial and manufacturer.
 */
function fakeSysfs(root: string): void {
  const write = (path: string, text: string): void => {
    mkdirSync(dirname(join(root, path)), { recursive: true })
    writeFileSync(join(root, path), `${text}\n`)
  }
  const link = (path: string, target: string): void => {
    mkdirSync(dirname(join(root, path)), { recursive: true })
    symlinkSync(join(root, target), join(root, path))
  }
  const usbDevice = (dir: string, files: Record<string, string>): void => {
    for (const [f, v] of Object.entries(files)) write(`${dir}/${f}`, v)
  }
  const usb1 = 'devices/pci0000:00/0000:00:14.0/usb1'
  for (const d of ['ftdi_sio', 'ch341-uart']) mkdirSync(join(root, 'bus/usb-serial/drivers', d), { recursive: true })
  for (const d of ['cdc_acm', 'serial8250', 'uart-pl011']) mkdirSync(join(root, 'drivers', d), { recursive: true })

  // FTDI FT232R on hub port 1.4, with a serial number
  usbDevice(`${usb1}/1-1/1-1.4`, { idVendor: '0403', idProduct: '6001', serial: 'A50285BI', manufacturer: 'FTDI' })
  const ftdiPort = `${usb1}/1-1/1-1.4/1-1.4:1.0/ttyUSB0`
  mkdirSync(join(root, ftdiPort, 'tty/ttyUSB0'), { recursive: true })
  link(`${ftdiPort}/driver`, 'bus/usb-serial/drivers/ftdi_sio')
  link(`${ftdiPort}/tty/ttyUSB0/device`, ftdiPort)
  link('class/tty/ttyUSB0', `${ftdiPort}/tty/ttyUSB0`)

  // WCH CH340 on hub port 1.3: no serial number string, so only its place tells it apart
  usbDevice(`${usb1}/1-1/1-1.3`, { idVendor: '1a86', idProduct: '7523' })
  const chPort = `${usb1}/1-1/1-1.3/1-1.3:1.0/ttyUSB1`
  mkdirSync(join(root, chPort, 'tty/ttyUSB1'), { recursive: true })
  link(`${chPort}/driver`, 'bus/usb-serial/drivers/ch341-uart')
  link(`${chPort}/tty/ttyUSB1/device`, chPort)
  link('class/tty/ttyUSB1', `${chPort}/tty/ttyUSB1`)

  // ST-LINK/V2-1 virtual COM port on root port 2, CDC-ACM on interface 2
  usbDevice(`${usb1}/1-2`, { idVendor: '0483', idProduct: '374b', serial: '066DFF343632535043102431', manufacturer: 'STMicroelectronics' })
  const acmIf = `${usb1}/1-2/1-2:1.2`
  mkdirSync(join(root, acmIf, 'tty/ttyACM0'), { recursive: true })
  link(`${acmIf}/driver`, 'drivers/cdc_acm')
  link(`${acmIf}/tty/ttyACM0/device`, acmIf)
  link('class/tty/ttyACM0', `${acmIf}/tty/ttyACM0`)

  // a legacy 8250 placeholder (left out) and a built-in UART (listed, no USB facts)
  for (const [name, dev, driver] of [
    ['ttyS0', 'devices/platform/serial8250', 'drivers/serial8250'],
    ['ttyAMA0', 'devices/platform/fe201000.serial', 'drivers/uart-pl011']
  ] as const) {
    mkdirSync(join(root, dev, 'tty', name), { recursive: true })
    link(`${dev}/driver`, driver)
    link(`${dev}/tty/${name}/device`, dev)
    link(`class/tty/${name}`, `${dev}/tty/${name}`)
  }
  // a virtual console: no device link at all
  mkdirSync(join(root, 'devices/virtual/tty/tty0'), { recursive: true })
  link('class/tty/tty0', 'devices/virtual/tty/tty0')
}

const sysfs = join(work.dir, 'sys')
fakeSysfs(sysfs)

const FTDI = { serialNumber: 'A50285BI', location: '1-1.4:1.0' }

describe('the sysfs port listing (Linux without udev)', () => {
  it('reads each USB adapter serial number and interface, leaves out 8250 placeholders and ttys without hardware', () => {
    const byPath = (a: PortListing, b: PortListing): number => a.path.localeCompare(b.path)
    expect(listFromSysfs(sysfs).sort(byPath)).toEqual([
      { path: '/dev/ttyACM0', manufacturer: 'STMicroelectronics', serialNumber: '066DFF343632535043102431', vendorId: '0483', productId: '374b', bridge: 'ST-LINK/V2-1 VCP', location: '1-2:1.2' },
      { path: '/dev/ttyAMA0' },
      { path: '/dev/ttyUSB0', manufacturer: 'FTDI', serialNumber: 'A50285BI', vendorId: '0403', productId: '6001', bridge: 'FTDI FT232R', location: '1-1.4:1.0' },
      { path: '/dev/ttyUSB1', vendorId: '1a86', productId: '7523', bridge: 'WCH CH340', location: '1-1.3:1.0' }
    ])
  })

  it('a missing sysfs lists nothing instead of failing', () => {
    expect(listFromSysfs(join(work.dir, 'no-such-sys'))).toEqual([])
  })
})

describe("serialport's listing", () => {
  it('on Linux (udev: no locationId) takes the USB interface from sysfs', () => {
    // what serialport's linux-list makes of `udevadm info -e` for an FT232R (pnpId from the by-id link)
    const udev = { path: '/dev/ttyUSB0', manufacturer: 'FTDI', serialNumber: 'A50285BI', pnpId: 'usb-FTDI_FT232R_USB_UART_A50285BI-if00-port0', locationId: undefined, vendorId: '0403', productId: '6001' }
    expect(fromSerialportList([udev], { platform: 'linux', sysfsRoot: sysfs })).toEqual([
      { path: '/dev/ttyUSB0', manufacturer: 'FTDI', serialNumber: 'A50285BI', vendorId: '0403', productId: '6001', bridge: 'FTDI FT232R', location: '1-1.4:1.0' }
    ])
  })

  it("elsewhere uses serialport's locationId as it is", () => {
    const mac = { path: '/dev/tty.usbserial-A50285BI', manufacturer: 'FTDI', serialNumber: 'A50285BI', pnpId: undefined, locationId: '14200000', vendorId: '0403', productId: '6001' }
    expect(fromSerialportList([mac], { platform: 'darwin', sysfsRoot: sysfs })[0]).toMatchObject({ serialNumber: 'A50285BI', location: '14200000' })
  })
})

describe('usbIdentityOf(port)', () => {
  const listing: PortListing[] = [
    { path: '/dev/ttyUSB0', serialNumber: 'A50285BI', location: '1-1.4:1.0', vendorId: '0403', productId: '6001' },
    { path: '/dev/ttyUSB1', location: '1-1.3:1.0', vendorId: '1a86', productId: '7523' },
    { path: '/dev/ttyAMA0' }
  ]
  const list = async (): Promise<PortListing[]> => listing

  it('gives the adapter serial number and location of the port path', async () => {
    expect(await usbIdentityOf('/dev/ttyUSB0', list)).toEqual(FTDI)
  })

  it('an adapter without a serial number still has its location; a non-USB port has neither (no keys at all)', async () => {
    const ch340 = await usbIdentityOf('/dev/ttyUSB1', list)
    expect(ch340).toEqual({ location: '1-1.3:1.0' })
    expect(Object.keys(ch340)).toEqual(['location'])
    expect(Object.keys(await usbIdentityOf('/dev/ttyAMA0', list))).toEqual([])
    expect(Object.keys(await usbIdentityOf('/dev/ttyUSB9', list))).toEqual([])
  })

  it('finds the device behind a /dev/serial/by-id symlink', async () => {
    const dev = join(work.dir, 'dev')
    mkdirSync(join(dev, 'serial/by-id'), { recursive: true })
    writeFileSync(join(dev, 'ttyUSB3'), '')
    const byId = join(dev, 'serial/by-id/usb-FTDI_FT232R_USB_UART_A50285BI-if00-port0')
    symlinkSync('../../ttyUSB3', byId)
    const withReal: PortListing[] = [...listing, { path: join(dev, 'ttyUSB3'), serialNumber: 'A50285BI', location: '3-2:1.0' }]
    expect(await usbIdentityOf(byId, async () => withReal)).toEqual({ serialNumber: 'A50285BI', location: '3-2:1.0' })
  })

  it('reads the sysfs listing through to the identity', async () => {
    expect(await usbIdentityOf('/dev/ttyUSB0', async () => listFromSysfs(sysfs))).toEqual(FTDI)
    expect(await usbIdentityOf('/dev/ttyACM0', async () => listFromSysfs(sysfs))).toEqual({ serialNumber: '066DFF343632535043102431', location: '1-2:1.2' })
  })

  it('Windows port names match in any case', () => {
    expect(findPort([{ path: 'COM3', serialNumber: 'A50285BI' }], 'com3', 'win32')?.serialNumber).toBe('A50285BI')
    expect(findPort([{ path: '/dev/ttyUSB0' }], '/dev/TTYUSB0', 'linux')).toBeUndefined()
  })

  it('a listing that fails gives no identity rather than failing the job', async () => {
    expect(
      await usbIdentityOf('/dev/ttyUSB0', async () => {
        throw new Error('spawn udevadm EACCES')
      })
    ).toEqual({})
  })

  it('a pty is no USB device: {} from the real port listing', async () => {
    const pair = await ptyPair()
    try {
      const id = await usbIdentityOf(pair.a)
      expect(Object.keys(id)).toEqual([])
      // and the listing itself works here (serialport's, or the sysfs fallback without udev)
      expect(Array.isArray(await listPorts())).toBe(true)
    } finally {
      await pair.close()
    }
  })
})

describe('a bootloader that names no unit: MCUboot serial recovery', () => {
  it("reports no id (the adapter stands in for the unit), and names what it flashed: 'MCUboot image 0'", async () => {
    const [host, dev] = memoryPair()
    const device = new McubootDevice()
    const served = device.attach(dev)
    try {
      const path = join(work.dir, 'a.signed.bin')
      writeFileSync(path, IMAGE_A)
      const r = await flashMcuboot(host, { path, size: IMAGE_A.length, name: 'a.signed.bin' }, {})
      expect(r.identity).toMatchObject({ protocol: 'mcuboot', chip: 'MCUboot image 0', details: { image: 0, version: '1.2.3' } })
      expect(r.identity && 'id' in r.identity).toBe(false)
    } finally {
      await host.close()
      await dev.close()
      await served
    }
  })
})
