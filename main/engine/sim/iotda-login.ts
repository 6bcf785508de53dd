import { createHmac, timingSafeEqual } from 'node:crypto'

/**
 * The platform side of the IoTDA device login ("Device Connection Authentication", iot_06_v5_3009),
 * written from the public description only (never from the device-side code it checks):
 * client id `{device_id}_0_{0|1}_{yyyyMMddHH}`, user name = device id, password = lowercase hex
 * HMAC-SHA256 keyed by the yyyyMMddHH timestamp over the device secret. With `_0_1_` the platform
 * also checks the timestamp against its own clock.
 */
export type LoginCheck = { ok: true; deviceId: string } | { ok: false; reason: string }

/** How far (ms) a `_0_1_` timestamp may be from the platform clock. */
const STAMP_TOLERANCE_MS = 2 * 3600_000

export function verifyIotdaLogin(login: { clientId: string; username: string; password: string }, secretOf: (deviceId: string) => string | undefined, now: Date): LoginCheck {
  const m = /^(.+)_0_([01])_(\d{4})(\d{2})(\d{2})(\d{2})$/.exec(login.clientId)
  if (!m) return { ok: false, reason: `client id "${login.clientId}" is not {device_id}_0_{0|1}_{yyyyMMddHH}` }
  const [, deviceId, checkStamp, yyyy, mm, dd, hh] = m as unknown as [string, string, string, string, string, string, string]
  if (login.username !== deviceId) return { ok: false, reason: `user name "${login.username}" is not the device id "${deviceId}"` }
  const secret = secretOf(deviceId)
  if (secret === undefined) return { ok: false, reason: `unknown device "${deviceId}"` }
  if (checkStamp === '1') {
    const t = Date.UTC(Number(yyyy), Number(mm) - 1, Number(dd), Number(hh))
    if (Math.abs(now.getTime() - t) > STAMP_TOLERANCE_MS) return { ok: false, reason: `timestamp ${yyyy}${mm}${dd}${hh} is too far from the platform clock` }
  }
  const want = Buffer.from(createHmac('sha256', `${yyyy}${mm}${dd}${hh}`).update(secret, 'utf8').digest('hex'), 'latin1')
  const got = Buffer.from(login.password, 'latin1')
  if (want.length !== got.length || !timingSafeEqual(want, got)) return { ok: false, reason: 'password (HMAC-SHA256 of the secret keyed by the timestamp) does not match' }
  return { ok: true, deviceId }
}

/** `event_time` as the platform writes it in downlinks: yyyyMMdd'T'HHmmss'Z' (UTC). */
export function platformEventTime(d: Date): string {
  const p = (n: number, w = 2) => String(n).padStart(w, '0')
  return `${p(d.getUTCFullYear(), 4)}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}T${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}Z`
}
