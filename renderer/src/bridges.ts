import type { PortInfo } from '../../preload/contract'

export type BridgeChip = 'CH340' | 'CP210x' | 'FTDI' | 'CDC-ACM' | 'PL2303'

/** USB vendor IDs of the common USB-serial bridge makers (the USB-IF vendor ID list). */
const BY_VENDOR: Record<string, BridgeChip> = {
  '1a86': 'CH340', // WCH (CH340/CH341/CH343/CH9102)
  '10c4': 'CP210x', // Silicon Labs
  '0403': 'FTDI', // Future Technology Devices
  '067b': 'PL2303' // Prolific
}

/**
 * Which USB-serial bridge a port sits behind: the host's friendly name when it gave one, else the
 * vendor ID, else the device name (ttyACM / usbmodem are CDC-ACM devices, often the MCU's own USB).
 */
export function bridgeOf(port: PortInfo): BridgeChip | undefined {
  const named = `${port.bridge ?? ''} ${port.manufacturer ?? ''}`.toLowerCase()
  if (/ch3[4-9]\d|ch910|wch/.test(named)) return 'CH340'
  if (/cp21\d\d|silicon lab/.test(named)) return 'CP210x'
  if (/ftdi|ft232|ft2232|future technology/.test(named)) return 'FTDI'
  if (/pl2303|prolific/.test(named)) return 'PL2303'
  if (/cdc|acm/.test(named)) return 'CDC-ACM'
  const vendor = port.vendorId?.toLowerCase()
  if (vendor && BY_VENDOR[vendor]) return BY_VENDOR[vendor]
  if (/ttyACM|usbmodem/i.test(port.path)) return 'CDC-ACM'
  return undefined
}
