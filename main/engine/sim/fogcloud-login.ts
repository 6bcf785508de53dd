import { createHmac, timingSafeEqual } from 'node:crypto'

/**
 * The platform side of the FogCloud device login (docs.fogcloud.io v4.20, "device authentication"),
 * written from the public description only: client id `${pk}&${dn}|signmethod=${m},authType=1|`,
 * user name `${dn}&${pk}`, password = hex HMAC (hmacsha1 or hmacmd5, keyed by the device secret)
 * over `clientId${pk}&${dn}deviceName${dn}productKey${pk}`.
 */
export type FogLoginCheck = { ok: true } | { ok: false; reason: string } | undefined

const CLIENT_ID = /^([^&|]+)&([^|]+)\|signmethod=(hmacsha1|hmacmd5),authType=1\|$/

export function verifyFogcloudLogin(login: { clientId: string; username: string; password: string }, secretOf: (productKey: string, deviceName: string) => string | undefined): FogLoginCheck {
  const m = CLIENT_ID.exec(login.clientId)
  if (!m) return undefined // not a FogCloud client id: another platform's login
  const [, pk, dn, method] = m as unknown as [string, string, string, 'hmacsha1' | 'hmacmd5']
  const secret = secretOf(pk, dn)
  if (secret === undefined) return { ok: false, reason: `unknown FogCloud device ${pk}/${dn}` }
  if (login.username !== `${dn}&${pk}`) return { ok: false, reason: `user name "${login.username}" is not "${dn}&${pk}"` }
  const signed = `clientId${pk}&${dn}deviceName${dn}productKey${pk}`
  const want = Buffer.from(createHmac(method === 'hmacsha1' ? 'sha1' : 'md5', secret).update(signed, 'utf8').digest('hex'), 'latin1')
  const got = Buffer.from(login.password, 'latin1')
  return want.length === got.length && timingSafeEqual(want, got) ? { ok: true } : { ok: false, reason: `FogCloud ${method} password does not match` }
}

/** The `checksum` of firmware.post: the sum of all bytes mod 2^32, as 4 bytes little-endian in hex. */
export function fogcloudChecksum(data: Uint8Array): string {
  let sum = 0
  for (let i = 0; i < data.length; i++) sum = (sum + data[i]!) >>> 0
  return Buffer.from([sum & 0xff, (sum >>> 8) & 0xff, (sum >>> 16) & 0xff, sum >>> 24]).toString('hex')
}
