/**
 * The MQTT link against a real mosquitto with a password file (allow_anonymous false): refused
 * logins, unreachable brokers, a fresh password on every reconnect, and no password in any message.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { FlashlineError } from '../main/engine/errors'
import { MqttLink } from '../main/engine/link/mqtt-link'
import type { MqttLogin } from '../main/engine/platforms/adapter'
import { createIotdaAdapter } from '../main/engine/platforms/iotda'
import { freePort, startMosquitto, type Broker } from './harness/mosquitto'
import { opensslHmac } from './harness/openssl'

const links: MqttLink[] = []
const brokers: Broker[] = []
afterEach(async () => {
  while (links.length) await links.pop()!.close()
  while (brokers.length) await brokers.pop()!.close()
})

async function broker(passwords: Record<string, string>): Promise<Broker> {
  const b = await startMosquitto({ passwords })
  brokers.push(b)
  return b
}

function link(brokerUrl: string, login: (now: Date) => MqttLogin, extra: Partial<ConstructorParameters<typeof MqttLink>[0]> = {}): MqttLink {
  const l = new MqttLink({ brokerUrl, login, subscriptions: ['t/down'], connectTimeoutMs: 5000, reconnectPeriodMs: 200, ...extra })
  links.push(l)
  return l
}

async function startError(l: MqttLink): Promise<FlashlineError> {
  const e = await l.start().then(
    () => undefined,
    (err: unknown) => err
  )
  expect(e).toBeInstanceOf(FlashlineError)
  return e as FlashlineError
}

describe('MqttLink on mosquitto with a password file', () => {
  it('a refused login rejects at once with a platform error naming the user and the reason', async () => {
    const b = await broker({ dev1: 'right' })
    const t0 = Date.now()
    const e = await startError(link(b.url, () => ({ clientId: 'c1', username: 'dev1', password: 'wrong' })))
    expect(e.kind).toBe('platform')
    expect(e.code).toBe('login-refused')
    expect(e.message).toBe(`${b.url} refused the login of user "dev1": not authorized (CONNACK 5) — check the device id and secret (or certificate)`)
    expect(Date.now() - t0).toBeLessThan(3000) // not left to the connect timeout
    expect(b.log()).toMatch(/disconnected, not authoris/)
  })

  it('an unreachable broker fails after the connect timeout with broker-unreachable, and no password in the message', async () => {
    const port = await freePort() // nothing listens there
    const t0 = Date.now()
    const e = await startError(link(`mqtt://bob:hunter2@127.0.0.1:${port}`, () => ({ clientId: 'c2' }), { connectTimeoutMs: 1500 }))
    const took = Date.now() - t0
    expect(e.code).toBe('broker-unreachable')
    expect(e.message).toBe(`cannot connect to mqtt://***@127.0.0.1:${port} within 2 s: connect ECONNREFUSED 127.0.0.1:${port} — check the address, port, network and TLS settings`)
    expect(took).toBeGreaterThanOrEqual(1400)
    expect(took).toBeLessThan(4000)
  })

  it('logs in again with a fresh password on every reconnect (IoTDA: the password changes with the hour)', async () => {
    const adapter = createIotdaAdapter({ deviceId: 'dev_rc', secret: 'rc-secret' })
    // openssl computes what the broker accepts: HMAC-SHA256 of the secret keyed by yyyyMMddHH
    const b = await broker({ dev_rc: opensslHmac('sha256', '2030010203', 'rc-secret') })
    let clock = new Date(Date.UTC(2030, 0, 2, 3, 59, 30))
    const calls: string[] = []
    const l = link(b.url, () => {
      const login = adapter.login(clock)
      calls.push(login.clientId)
      return login
    })
    let connects = 0
    l.on('connect', () => connects++)
    await l.start()
    expect(calls).toEqual(['dev_rc_0_0_2030010203'])
    await waitUntil(() => connects === 1)

    // The hour turns while the broker is away: only the new hour's password is accepted after it.
    await b.stop()
    b.setPasswords({ dev_rc: opensslHmac('sha256', '2030010204', 'rc-secret') })
    clock = new Date(Date.UTC(2030, 0, 2, 4, 0, 10))
    await b.start()
    await waitUntil(() => connects === 2, 15_000)
    expect(calls.at(-1)).toBe('dev_rc_0_0_2030010204')
    expect(calls.length).toBeGreaterThanOrEqual(2)
    expect(b.log()).toContain("as dev_rc_0_0_2030010204 (p2, c1, k60, u'dev_rc')")
  }, 30_000)

  it('user info in the broker URL logs in when the platform login names no user, and is never shown', async () => {
    const b = await broker({ wuser: 'w/pass:1' })
    const l = link(`mqtt://wuser:${encodeURIComponent('w/pass:1')}@127.0.0.1:${b.port}`, () => ({ clientId: 'wudun-1' }))
    await l.start()
    expect(l.connected).toBe(true)
    expect(l.displayUrl).toBe(`mqtt://***@127.0.0.1:${b.port}`)
    expect(b.log()).toContain("as wudun-1 (p2, c1, k60, u'wuser')")
  })
})

async function waitUntil(cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`)
    await new Promise((r) => setTimeout(r, 25))
  }
}
