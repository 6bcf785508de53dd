import { describe, expect, it } from 'vitest'
import { bridgeName, PortWatcher, type PortChange, type PortListing } from '../main/engine/ports'
import { runCli } from './harness/cli'

describe('port discovery', () => {
  it('names known USB-serial bridges from VID:PID, any case', () => {
    expect(bridgeName('1A86', '7523')).toBe('WCH CH340')
    expect(bridgeName('10c4', 'ea60')).toBe('Silicon Labs CP210x')
    expect(bridgeName('0403', '6001')).toBe('FTDI FT232R')
    expect(bridgeName('1a86', '55d4')).toBe('WCH CH9102')
    expect(bridgeName('ffff', '0001')).toBeUndefined()
  })

  it('reports arrivals and removals between listings (hot-plug)', async () => {
    const a: PortListing = { path: '/dev/ttyUSB0', vendorId: '1a86', productId: '7523', bridge: 'WCH CH340' }
    const b: PortListing = { path: '/dev/ttyACM0', vendorId: '0483', productId: '5740' }
    const listings = [[a], [a, b], [b], []]
    const changes: PortChange[] = []
    const w = new PortWatcher((c) => changes.push(c), async () => listings.shift() ?? [])
    for (let i = 0; i < 4; i++) await w.poll()
    expect(changes.map((c) => `${c.type} ${c.port.path}`)).toEqual(['arrived /dev/ttyUSB0', 'arrived /dev/ttyACM0', 'removed /dev/ttyUSB0', 'removed /dev/ttyACM0'])
  })

  it('flashline ports --json lists ports as one event and exits 0', async () => {
    const r = await runCli(['ports', '--json'])
    expect(r.code).toBe(0)
    const ev = JSON.parse(r.stdout.trim().split('\n')[0]!)
    expect(ev.type).toBe('ports')
    expect(Array.isArray(ev.ports)).toBe(true)
  })
})
