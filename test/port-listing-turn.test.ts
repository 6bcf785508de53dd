/** Port listings shared by the callers of one event-loop turn (a batch asking 16 USB identities at once). */
import { describe, expect, it } from 'vitest'
import { listingPerTurn, usbIdentityOf, type PortListing } from '../main/engine/ports'

const FTDI: PortListing = { path: '/dev/ttyUSB0', vendorId: '0403', productId: '6001', serialNumber: 'A50285BI', location: '3-2:1.0' }
const CH340: PortListing = { path: '/dev/ttyUSB1', vendorId: '1a86', productId: '7523', location: '3-3:1.0' }

describe('listingPerTurn', () => {
  it('callers of one turn share one listing; a caller after it started gets a new one, never an older answer', async () => {
    let listings = 0
    let ports: PortListing[] = [FTDI]
    const list = listingPerTurn(async () => {
      listings++
      return ports
    })
    const first = await Promise.all([usbIdentityOf('/dev/ttyUSB0', list), usbIdentityOf('/dev/ttyUSB0', list), usbIdentityOf('/dev/ttyUSB1', list)])
    expect(listings).toBe(1)
    expect(first).toEqual([{ serialNumber: 'A50285BI', location: '3-2:1.0' }, { serialNumber: 'A50285BI', location: '3-2:1.0' }, {}])
    // a board plugged in after that listing is seen by the next question
    ports = [FTDI, CH340]
    expect(await usbIdentityOf('/dev/ttyUSB1', list)).toEqual({ location: '3-3:1.0' })
    expect(listings).toBe(2)
  })

  it('a listing that fails fails its turn only (usbIdentityOf then knows nothing), and the next turn lists again', async () => {
    let calls = 0
    const list = listingPerTurn(async () => {
      calls++
      if (calls === 1) throw new Error('udevadm: not found')
      return [FTDI]
    })
    expect(await Promise.all([usbIdentityOf('/dev/ttyUSB0', list), usbIdentityOf('/dev/ttyUSB0', list)])).toEqual([{}, {}])
    expect(await usbIdentityOf('/dev/ttyUSB0', list)).toEqual({ serialNumber: 'A50285BI', location: '3-2:1.0' })
    expect(calls).toBe(2)
  })
})
