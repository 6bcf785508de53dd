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

export async function listPorts(): Promise<PortListing[]> {
  const ports = await SerialPort.list()
  return ports.map((p) => ({
    path: p.path,
    manufacturer: p.manufacturer,
    serialNumber: p.serialNumber,
    vendorId: p.vendorId,
    productId: p.productId,
    bridge: bridgeName(p.vendorId, p.productId)
  }))
}
