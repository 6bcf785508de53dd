/**
 * README login flags of `flashline agent` that no other test runs, each against a real mosquitto
 * that checks them: --secret-file and FLASHLINE_SECRET (IoTDA HMAC password in a mosquitto password
 * file), --check-timestamp (the client id the broker logs), --username/--password and
 * FLASHLINE_MQTT_PASSWORD, and --cert/--key (a TLS listener that requires a client certificate from
 * a CA made here with openssl).
 */
import { spawn, spawnSync } from 'node:child_process'
import { createHmac } from 'node:crypto'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { freePort, startMosquitto, type Broker } from './harness/mosquitto'
import { tempDir } from './harness/tmp'

const work = tempDir()
afterAll(() => work.cleanup())
const BIN = join(__dirname, '..', 'bin', 'flashline.js')
let n = 0

/** Huawei IoTDA, "Device connection authentication": timestamp yyyyMMddHH (UTC) … */
const stampOf = (d: Date) => d.toISOString().slice(0, 13).replace(/[-T]/g, '')
/** … and the password is HMAC-SHA256 of the device secret keyed by that timestamp. */
const iotdaPassword = (secret: string, stamp: string) => createHmac('sha256', stamp).update(secret).digest('hex')

function run(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 20_000 })
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr || r.error?.message}`)
}

/** mosquitto with a password file (no anonymous access) and every connection in its log. */
async function authBroker(users: Array<[string, string]>, extra: string[] = []): Promise<{ broker: Broker; log: () => string }> {
  const broker = await startMosquitto({ passwords: Object.fromEntries(users), extraConfig: extra.join('\n') })
  return { broker, log: () => broker.log() }
}

/** The next UTC hour must not start between writing an hour's HMAC into the password file and the login. */
async function awayFromHourChange(): Promise<Date> {
  const now = new Date()
  const left = 3600_000 - (now.getTime() % 3600_000)
  if (left < 20_000) await new Promise((r) => setTimeout(r, left + 500))
  return new Date()
}

interface AgentRun {
  code: number | null
  connected: boolean
  events: Array<Record<string, unknown>>
  stderr: string
}

/**
 * Starts `flashline agent --json`, waits until it logs "connected to …" (then stops it with SIGINT)
 * or exits by itself; resolves on 'close'.
 */
function agentUntilConnected(args: string[], env: Record<string, string | undefined> = {}, timeoutMs = 30_000): Promise<AgentRun> {
  return new Promise((resolve, reject) => {
    const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env }
    for (const [k, v] of Object.entries(env)) if (v === undefined) delete childEnv[k]
    const child = spawn(process.execPath, [BIN, 'agent', ...args, '--json', '--data-dir', join(work.dir, `data-${++n}`), '--connect-timeout', '10'], { stdio: ['ignore', 'pipe', 'pipe'], env: childEnv })
    const events: Array<Record<string, unknown>> = []
    let partial = ''
    let stderr = ''
    let connected = false
    child.stdout.on('data', (d: Buffer) => {
      const lines = (partial + d.toString()).split('\n')
      partial = lines.pop() ?? ''
      for (const line of lines) {
        if (!line.trim()) continue
        const e = JSON.parse(line) as Record<string, unknown>
        events.push(e)
        if (!connected && e['type'] === 'log' && String(e['message']).startsWith('connected to')) {
          connected = true
          child.kill('SIGINT')
        }
      }
    })
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`agent neither connected nor exited in ${timeoutMs} ms\nstdout events: ${JSON.stringify(events)}\nstderr: ${stderr}`))
    }, timeoutMs)
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({ code, connected, events, stderr })
    })
  })
}

const device = ['--port', 'sim:ymodem', '--protocol', 'ymodem', '--current-version', '1.0.0']
const explain = (r: AgentRun) => `exit ${r.code}\nevents: ${JSON.stringify(r.events).slice(-2000)}\nstderr: ${r.stderr}`

describe('IoTDA device secret from --secret-file and FLASHLINE_SECRET (mosquitto checks the HMAC)', () => {
  it('--secret-file: the trimmed file content is the secret; the broker logs the _0_0_ client id; a wrong secret is refused (exit 6)', async () => {
    const now = await awayFromHourChange()
    const stamp = stampOf(now)
    const { broker, log } = await authBroker([['dev_sf', iotdaPassword('sf-secret', stamp)]])
    try {
      const secretFile = join(work.dir, 'dev_sf.secret')
      writeFileSync(secretFile, 'sf-secret\n', { mode: 0o600 })
      const ok = await agentUntilConnected(['--platform', 'iotda', '--broker', broker.url, '--device-id', 'dev_sf', '--secret-file', secretFile, ...device], { FLASHLINE_SECRET: undefined })
      expect(ok.connected, explain(ok)).toBe(true)
      expect(ok.code).toBe(130)
      expect(ok.stderr).not.toMatch(/warning/) // mode 600: no warning about other readers
      expect(log()).toContain(`as dev_sf_0_0_${stamp} (p2, c1, k60, u'dev_sf')`)

      const wrongFile = join(work.dir, 'dev_sf.wrong')
      writeFileSync(wrongFile, 'not-the-secret\n', { mode: 0o600 })
      const refused = await agentUntilConnected(['--platform', 'iotda', '--broker', broker.url, '--device-id', 'dev_sf', '--secret-file', wrongFile, ...device], { FLASHLINE_SECRET: undefined })
      expect(refused.connected).toBe(false)
      expect(refused.code, explain(refused)).toBe(6)
      expect(refused.stderr).toMatch(/refused the login/)
    } finally {
      await broker.close()
    }
  }, 90_000)

  it('FLASHLINE_SECRET is used when no secret flag is given; --check-timestamp logs in as {id}_0_1_{stamp}', async () => {
    const now = await awayFromHourChange()
    const stamp = stampOf(now)
    const { broker, log } = await authBroker([['dev_env', iotdaPassword('env-secret', stamp)]])
    try {
      const viaEnv = await agentUntilConnected(['--platform', 'iotda', '--broker', broker.url, '--device-id', 'dev_env', ...device], { FLASHLINE_SECRET: 'env-secret' })
      expect(viaEnv.connected, explain(viaEnv)).toBe(true)
      expect(log()).toContain(`as dev_env_0_0_${stamp} (`)
      const checked = await agentUntilConnected(['--platform', 'iotda', '--broker', broker.url, '--device-id', 'dev_env', '--check-timestamp', ...device], { FLASHLINE_SECRET: 'env-secret' })
      expect(checked.connected, explain(checked)).toBe(true)
      expect(log()).toContain(`as dev_env_0_1_${stamp} (p2, c1, k60, u'dev_env')`)
      const none = await agentUntilConnected(['--platform', 'iotda', '--broker', broker.url, '--device-id', 'dev_env', ...device], { FLASHLINE_SECRET: undefined })
      expect(none.code).toBe(2)
      expect(none.stderr).toMatch(/--secret is required for IoTDA \(or --secret-file, FLASHLINE_SECRET, or --cert\/--key\)/)
    } finally {
      await broker.close()
    }
  }, 90_000)
})

describe('--username/--password and FLASHLINE_MQTT_PASSWORD (mosquitto password file, no anonymous access)', () => {
  let auth: { broker: Broker; log: () => string }
  beforeAll(async () => {
    auth = await authBroker([['ems_user', 'ems-pass']])
  })
  afterAll(async () => auth?.broker.close())
  const wudun = (uid: string) => ['--platform', 'wudun', '--broker', auth.broker.url, '--device-uid', uid, '--topic-prefix', 'v1', ...device]

  it('--username and --password log in', async () => {
    const r = await agentUntilConnected([...wudun('ems_a'), '--username', 'ems_user', '--password', 'ems-pass'], { FLASHLINE_MQTT_PASSWORD: undefined })
    expect(r.connected, explain(r)).toBe(true)
    expect(r.code).toBe(130)
    expect(auth.log()).toContain(`as flashline-ems_a (p2, c1, k60, u'ems_user')`)
  }, 60_000)

  it('the password may come from FLASHLINE_MQTT_PASSWORD', async () => {
    const r = await agentUntilConnected([...wudun('ems_b'), '--username', 'ems_user'], { FLASHLINE_MQTT_PASSWORD: 'ems-pass' })
    expect(r.connected, explain(r)).toBe(true)
    expect(auth.log()).toContain(`as flashline-ems_b (p2, c1, k60, u'ems_user')`)
  }, 60_000)

  it('a wrong password is refused by the broker: exit 6, saying so', async () => {
    const r = await agentUntilConnected([...wudun('ems_c'), '--username', 'ems_user', '--password', 'wrong'], { FLASHLINE_MQTT_PASSWORD: undefined })
    expect(r.connected).toBe(false)
    expect(r.code, explain(r)).toBe(6)
    expect(r.stderr).toMatch(/refused the login.*not authorized/)
    expect(auth.log()).not.toContain('as flashline-ems_c (')
  }, 60_000)

  it('no credentials at all are refused the same way (the broker allows no anonymous client)', async () => {
    const r = await agentUntilConnected(wudun('ems_d'), { FLASHLINE_MQTT_PASSWORD: undefined })
    expect(r.code, explain(r)).toBe(6)
  }, 60_000)

  it('a password without --username is a usage error (exit 2)', async () => {
    const r = await agentUntilConnected(wudun('ems_e'), { FLASHLINE_MQTT_PASSWORD: 'ems-pass' })
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/--password needs --username/)
  }, 60_000)
})

describe('IoTDA X.509 login with --cert/--key (mosquitto TLS listener with require_certificate)', () => {
  const pki = join(work.dir, 'pki')
  const f = (name: string) => join(pki, name)
  let tls: { broker: Broker; log: () => string; port: number }

  beforeAll(async () => {
    spawnSync('mkdir', ['-p', pki])
    const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes']
    run('openssl', ['req', '-x509', ...ec, '-keyout', f('ca.key'), '-out', f('ca.pem'), '-days', '2', '-subj', '/CN=flashline test CA', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'])
    const issue = (name: string, cn: string, ext: string) => {
      run('openssl', ['req', ...ec, '-keyout', f(`${name}.key`), '-out', f(`${name}.csr`), '-subj', `/CN=${cn}`])
      writeFileSync(f(`${name}.ext`), ext)
      run('openssl', ['x509', '-req', '-in', f(`${name}.csr`), '-CA', f('ca.pem'), '-CAkey', f('ca.key'), '-CAcreateserial', '-out', f(`${name}.pem`), '-days', '2', '-extfile', f(`${name}.ext`)])
    }
    issue('server', 'localhost', 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n')
    issue('device', 'dev_x509', 'extendedKeyUsage=clientAuth\n')
    // a certificate for the same name from a CA the broker does not trust
    run('openssl', ['req', '-x509', ...ec, '-keyout', f('rogue.key'), '-out', f('rogue.pem'), '-days', '2', '-subj', '/CN=dev_x509'])
    const port = await freePort()
    const broker = await startMosquitto({
      extraConfig: [
        `listener ${port} 127.0.0.1`,
        `cafile ${f('ca.pem')}`,
        `certfile ${f('server.pem')}`,
        `keyfile ${f('server.key')}`,
        'require_certificate true',
        'use_identity_as_username true'
      ].join('\n')
    })
    tls = { broker, port, log: () => broker.log() }
  }, 60_000)
  afterAll(async () => tls?.broker.close())

  const x509 = (deviceId: string, extra: string[]) => ['--platform', 'iotda', '--broker', `mqtts://localhost:${tls.port}`, '--ca', f('ca.pem'), '--device-id', deviceId, ...extra, ...device]

  it('connects with the client certificate; the broker takes the certificate’s CN as the user name', async () => {
    const r = await agentUntilConnected(x509('dev_x509', ['--cert', f('device.pem'), '--key', f('device.key')]), { FLASHLINE_SECRET: undefined })
    expect(r.connected, explain(r)).toBe(true)
    expect(r.code).toBe(130)
    expect(tls.log()).toMatch(/as dev_x509_0_0_\d{10} \(p2, c1, k60, u'dev_x509'\)/)
  }, 60_000)

  it('without a client certificate, or with one from another CA, the TLS handshake is refused (exit 6) with a hint about the client certificate', async () => {
    const noCert = await agentUntilConnected(x509('dev_nocert', ['--secret', 's']), { FLASHLINE_SECRET: undefined })
    expect(noCert.connected).toBe(false)
    expect(noCert.code, explain(noCert)).toBe(6)
    expect(noCert.stderr).toMatch(/alert certificate required.* — the broker requires a client certificate: log in with --cert and --key/s)
    expect(noCert.stderr).not.toMatch(/pass the broker's CA/) // --ca was given and the broker was verified
    const rogue = await agentUntilConnected(x509('dev_rogue', ['--cert', f('rogue.pem'), '--key', f('rogue.key')]), { FLASHLINE_SECRET: undefined })
    expect(rogue.connected).toBe(false)
    expect(rogue.code, explain(rogue)).toBe(6)
    expect(rogue.stderr).toMatch(/alert unknown ca.* — the broker did not accept the client certificate: check that --cert and --key were issued by a CA the broker trusts/s)
    expect(tls.log()).not.toMatch(/as dev_(nocert|rogue)_0_0_/)
  }, 60_000)

  it('--cert without --key, and --cert with --secret, are usage errors (exit 2)', async () => {
    const alone = await agentUntilConnected(x509('dev_x509', ['--cert', f('device.pem')]), { FLASHLINE_SECRET: undefined })
    expect(alone.code).toBe(2)
    expect(alone.stderr).toMatch(/--cert and --key go together/)
    const both = await agentUntilConnected(x509('dev_x509', ['--cert', f('device.pem'), '--key', f('device.key'), '--secret', 's']), { FLASHLINE_SECRET: undefined })
    expect(both.code).toBe(2)
    expect(both.stderr).toMatch(/--secret and --cert cannot be combined/)
  }, 60_000)
})
