import { createHmac, timingSafeEqual } from 'node:crypto'

/** IoTDA device login (platform-protocols.md §A.1): the timestamp is the UTC hour, yyyyMMddHH. */
export function iotdaTimestamp(now: Date): string {
  const p = (n: number) => String(n).padStart(2, '0')
  return `${now.getUTCFullYear()}${p(now.getUTCMonth() + 1)}${p(now.getUTCDate())}${p(now.getUTCHours())}`
}

/** Lowercase hex HMAC-SHA256 keyed by the timestamp, over the device secret. */
export function iotdaPassword(secret: string, timestamp: string): string {
  return createHmac('sha256', timestamp).update(secret).digest('hex')
}

/** `{device_id}_0_{0|1}_{timestamp}`: 1 asks the platform to check the timestamp against its clock. */
export function iotdaClientId(deviceId: string, timestamp: string, checkTimestamp: boolean): string {
  return `${deviceId}_0_${checkTimestamp ? 1 : 0}_${timestamp}`
}

/** `yyyyMMdd'T'HHmmss'Z'` in UTC. */
export function iotdaEventTime(d: Date): string {
  return d.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '')
}

export type LoginCheck = { ok: true; deviceId: string } | { ok: false; reason: string }

/** The cloud side of the login, as the simulated platform checks it. */
export function verifyIotdaLogin(login: { clientId: string; username: string; password: string }, secretOf: (deviceId: string) => string | undefined, now: Date): LoginCheck {
  const m = /^(.+)_0_([01])_(\d{10})$/.exec(login.clientId)
  if (!m) return { ok: false, reason: `client id "${login.clientId}" is not {device_id}_0_{0|1}_{yyyyMMddHH}` }
  const [, deviceId, sig, stamp] = m as unknown as [string, string, string, string]
  if (login.username !== deviceId) return { ok: false, reason: `user name "${login.username}" is not the device id "${deviceId}"` }
  const secret = secretOf(deviceId)
  if (secret === undefined) return { ok: false, reason: `unknown device "${deviceId}"` }
  if (sig === '1') {
    const t = Date.UTC(+stamp.slice(0, 4), +stamp.slice(4, 6) - 1, +stamp.slice(6, 8), +stamp.slice(8, 10))
    if (Math.abs(now.getTime() - t) > 2 * 3600_000) return { ok: false, reason: `timestamp ${stamp} is too far from the platform clock` }
  }
  const want = Buffer.from(iotdaPassword(secret, stamp))
  const got = Buffer.from(login.password)
  if (want.length !== got.length || !timingSafeEqual(want, got)) return { ok: false, reason: 'password (HMAC-SHA256 of the secret) does not match' }
  return { ok: true, deviceId }
}
