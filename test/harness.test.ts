import { describe, expect, it } from 'vitest'
import { SerialTransport } from '../main/engine/transport/serial'
import { ptyPair } from './harness/pty'
import { startMosquitto } from './harness/mosquitto'
import mqtt from 'mqtt'

describe('test harness on real parts', () => {
  it('moves bytes both ways through a socat pty pair with the real serialport binding', async () => {
    const pair = await ptyPair()
    const host = await SerialTransport.open({ path: pair.a, baudRate: 115200 })
    const dev = await SerialTransport.open({ path: pair.b, baudRate: 115200 })
    try {
      await host.setSignals({ dtr: false }) // ptys answer ENOTTY; must be tolerated
      expect(host.modemLinesSupported).toBe(false)
      const payload = Buffer.alloc(64 * 1024, 0).map((_, i) => i * 7)
      const got = dev.read(payload.length, 5000)
      await host.write(payload)
      expect(Buffer.compare(await got, Buffer.from(payload))).toBe(0)
      await dev.write(Buffer.from('pong\r\n'))
      expect((await host.readUntil(Buffer.from('\r\n'), 2000)).toString()).toBe('pong\r\n')
      await expect(host.read(1, 50)).rejects.toThrow(/waited 50 ms/)
    } finally {
      await host.close()
      await dev.close()
      await pair.close()
    }
  })

  it('runs mosquitto on a free port, stops and restarts it', async () => {
    const broker = await startMosquitto()
    try {
      const c = await mqtt.connectAsync(broker.url, { reconnectPeriod: 0 })
      await c.subscribeAsync('t', { qos: 1 })
      const got = new Promise<string>((r) => c.on('message', (_t, m) => r(m.toString())))
      await c.publishAsync('t', 'hello', { qos: 1 })
      expect(await got).toBe('hello')
      await c.endAsync()
      await broker.stop()
      await expect(mqtt.connectAsync(broker.url, { reconnectPeriod: 0, connectTimeout: 500 })).rejects.toThrow()
      await broker.start()
      const c2 = await mqtt.connectAsync(broker.url, { reconnectPeriod: 0 })
      await c2.endAsync()
    } finally {
      await broker.close()
    }
  })
})
