/**
 * Platform logins checked against implementations that are not ours: the openssl command line
 * computes every expected HMAC, python3 the FogCloud checksum, and mosquitto (password file,
 * allow_anonymous false) decides whether the real `flashline agent` may log in.
 */
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { fogcloudLogin } from '../main/engine/platforms/fogcloud'
import { fogcloudChecksum, verifyFogcloudLogin } from '../main/engine/sim/fogcloud-login'
import { makeFirmwareImage } from '../main/engine/sim/firmware-image'
import { runCli, type CliRun } from './harness/cli'
import { freePort, startMosquitto, type Broker } from './harness/mosquitto'
import { ndjsonReader, once } from './harness/ndjson'
import { opensslHmac, stableUtcHour } from './harness/openssl'
import { tempDir } from './harness/tmp'

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

describe('flashline agent logs in to mosquitto with a password file (no anonymous access)', () => {
  let broker: Broker
  const work = tempDir()
  const FOG = { pk: 'pkL', dn: 'dnL', secret: 'fog-secret-1' }
  const IOT = { id: 'iot_login_dev', secret: 'iot-secret-1' }
  let stamp = ''

  beforeAll(async () => {
    stamp = await stableUtcHour()
    broker = await startMosquitto({
      passwords: {
        [`${FOG.dn}&${FOG.pk}`]: opensslHmac('sha1', FOG.secret, FOG_SIGNED(FOG.pk, FOG.dn)),
        // IoTDA: HMAC-SHA256 of the secret keyed by the timestamp yyyyMMddHH
        [IOT.id]: opensslHmac('sha256', stamp, IOT.secret)
      }
    })
  })
  afterAll(async () => {
    await broker?.close()
    work.cleanup()
  })

  const explain = (r: CliRun) => `exit ${r.code}\nstdout:\n${r.stdout.slice(-3000)}\nstderr:\n${r.stderr.slice(-2000)}`

  /** Runs the agent until it reports the connection (NDJSON, read line by line), then interrupts it: SIGINT → exit 130. */
  function agent(args: string[], onConnected?: (message: string) => void): Promise<CliRun> {
    let reader: ((chunk: string) => void) | null = null
    return runCli([...args, '--json', '--port', '/nonexistent-bench-port', '--protocol', 'ymodem', '--current-version', '1.0.0', '--connect-timeout', '10'], {
      timeoutMs: 30_000,
      onStdout: (chunk, child) => {
        reader ??= ndjsonReader(
          once(
            (e) => e.type === 'log' && String(e['message']).startsWith('connected to '),
            (e) => {
              onConnected?.(String(e['message']))
              child.kill('SIGINT')
            }
          )
        )
        reader(chunk)
      }
    })
  }

  it('FogCloud: the broker accepts the HMAC-SHA1 password openssl computed; SIGINT ends the agent with 130', async () => {
    let connected = ''
    const r = await agent(['agent', '--platform', 'fogcloud', '--broker', broker.url, '--product-key', FOG.pk, '--device-name', FOG.dn, '--device-secret', FOG.secret, '--data-dir', join(work.dir, 'fog')], (m) => (connected = m))
    expect(r.code, explain(r)).toBe(130)
    expect(connected).toBe(`connected to ${broker.url} as fogcloud-${FOG.pk}/${FOG.dn}`)
    expect(broker.log()).toContain(`as ${FOG.pk}&${FOG.dn}|signmethod=hmacsha1,authType=1| (p2, c1, k60, u'${FOG.dn}&${FOG.pk}')`)
  })

  it('IoTDA: the broker accepts HMAC-SHA256(secret, key=yyyyMMddHH) from openssl; the client id is {device_id}_0_0_{yyyyMMddHH}', async () => {
    const r = await agent(['agent', '--platform', 'iotda', '--broker', broker.url, '--device-id', IOT.id, '--secret', IOT.secret, '--data-dir', join(work.dir, 'iot')])
    expect(r.code, explain(r)).toBe(130)
    expect(broker.log()).toContain(`as ${IOT.id}_0_0_${stamp} (p2, c1, k60, u'${IOT.id}')`)
  })

  it('a wrong secret is refused by the broker: exit 6 and a message naming the user and the reason', async () => {
    for (const args of [
      ['agent', '--platform', 'iotda', '--broker', broker.url, '--device-id', IOT.id, '--secret', 'not-the-secret', '--data-dir', join(work.dir, 'iot-bad')],
      ['agent', '--platform', 'fogcloud', '--broker', broker.url, '--product-key', FOG.pk, '--device-name', FOG.dn, '--device-secret', 'nope', '--data-dir', join(work.dir, 'fog-bad')]
    ]) {
      const t0 = Date.now()
      const r = await agent(args)
      expect(r.code, explain(r)).toBe(6)
      expect(Date.now() - t0).toBeLessThan(8000) // refused at once, not left to the 10 s connect timeout
      const user = args.includes('iotda') ? IOT.id : `${FOG.dn}&${FOG.pk}`
      expect(r.stderr).toContain(`flashline agent: ${broker.url} refused the login of user "${user}": not authorized (CONNACK 5) — check the device id and secret (or certificate)`)
      const errors: Array<Record<string, unknown>> = []
      ndjsonReader((e) => e.type === 'error' && errors.push(e))(r.stdout)
      expect(errors).toMatchObject([{ kind: 'platform', code: 'login-refused', exitCode: 6 }])
    }
  })
})

describe('broker URL credentials never reach the output (D13)', () => {
  const work = tempDir()
  let open: Broker
  beforeAll(async () => {
    open = await startMosquitto()
  })
  afterAll(async () => {
    await open?.close()
    work.cleanup()
  })

  const base = ['--platform', 'wudun', '--device-uid', 'red1', '--topic-prefix', 'v1', '--port', '/nonexistent-bench-port', '--protocol', 'ymodem', '--current-version', '1.0.0', '--json']

  it('not in the error line or the --json error event of an unreachable broker', async () => {
    const port = await freePort()
    const r = await runCli(['agent', '--broker', `mqtt://bob:hunter2@127.0.0.1:${port}`, ...base, '--connect-timeout', '1', '--data-dir', join(work.dir, 'a')], { timeoutMs: 20_000 })
    expect(r.code).toBe(6)
    expect(r.stdout + r.stderr).not.toContain('hunter2')
    expect(r.stderr).toContain(`cannot connect to mqtt://***@127.0.0.1:${port} within 1 s`)
  })

  it('not in the "connected to" log of a running agent', async () => {
    let reader: ((c: string) => void) | null = null
    const r = await runCli(['agent', '--broker', `mqtt://bob:hunter2@127.0.0.1:${open.port}`, ...base, '--data-dir', join(work.dir, 'b')], {
      timeoutMs: 20_000,
      onStdout: (chunk, child) => {
        reader ??= ndjsonReader(once((e) => e.type === 'log' && String(e['message']).startsWith('connected to'), () => child.kill('SIGINT')))
        reader(chunk)
      }
    })
    expect(r.code).toBe(130)
    expect(r.stdout).toContain(`"connected to mqtt://***@127.0.0.1:${open.port} as wudun-red1"`)
    expect(r.stdout + r.stderr).not.toContain('hunter2')
  })

  it('not in the usage error for a broker address that is no URL', async () => {
    const r = await runCli(['agent', '--broker', 'mqtt//bob:hunter2@127.0.0.1:1883', ...base, '--data-dir', join(work.dir, 'c')], { timeoutMs: 20_000 })
    expect(r.code).toBe(2)
    expect(r.stderr).toContain('--broker "mqtt//***@127.0.0.1:1883" is not a URL')
    expect(r.stdout + r.stderr).not.toContain('hunter2')
  })
})
