/** `flashline flash` and `flashline fetch` as a technician runs them: real process, real pty, real HTTPS. */
import { createHash } from 'node:crypto'
import { chmodSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { makeFirmwareImage } from '../main/engine/sim/firmware-image'
import { startPackageServer, type PackageServer } from '../main/engine/sim/package-server'
import { simTls } from '../main/engine/sim/tls'
import { YmodemDevice } from '../main/engine/sim/ymodem-device'
import { SerialTransport } from '../main/engine/transport/serial'
import { jsonEvents, runCli } from './harness/cli'
import { ptyPair, type PtyPair } from './harness/pty'
import { tempDir } from './harness/tmp'

const work = tempDir()
afterAll(() => work.cleanup())

describe('flashline flash (offline recovery over a real pty)', () => {
  let pair: PtyPair
  let port: SerialTransport
  let device: YmodemDevice
  let served: Promise<void>

  afterEach(async () => {
    await port.close()
    await served
    await pair.close()
  })

  async function setup(personality: 'st-iap' | 'mico' = 'st-iap'): Promise<void> {
    pair = await ptyPair()
    port = await SerialTransport.open({ path: pair.b, baudRate: 115200 })
    device = new YmodemDevice({ personality, version: '1.0.0', requestIntervalMs: 300 })
    served = device.attach(port)
  }

  it('flashes a local file, checks its MD5 first, and reads the new version from the console', async () => {
    await setup('mico')
    const fw = makeFirmwareImage({ version: '7.1.2', size: 40_000, seed: 9 })
    const file = join(work.dir, 'fw-7.1.2.bin')
    writeFileSync(file, fw)
    const md5 = createHash('md5').update(fw).digest('hex').toUpperCase()
    const r = await runCli(['flash', '--port', pair.a, '--protocol', 'ymodem', '--file', file, '--md5', md5, '--menu-command', '1\\r', '--probe', 'version[: ]+(\\S+)', '--json'])
    expect(r.code, r.stderr + r.stdout).toBe(0)
    expect(device.image.equals(fw)).toBe(true)
    const done = jsonEvents(r.stdout).find((e) => e.type === 'flash-done')!
    expect(done).toMatchObject({ bytes: 40_000, version: '7.1.2' })
  }, 60_000)

  it('refuses to flash a file whose hash does not match (exit 4, device untouched)', async () => {
    await setup()
    const file = join(work.dir, 'bad.bin')
    writeFileSync(file, makeFirmwareImage({ version: '9.9.9', size: 5000 }))
    const r = await runCli(['flash', '--port', pair.a, '--protocol', 'ymodem', '--file', file, '--sha256', 'ab'.repeat(32)])
    expect(r.code).toBe(4)
    expect(r.stderr).toMatch(/does not match --sha256/)
    expect(device.received).toHaveLength(0)
  }, 60_000)

  it('the probe captures the version the device reports after the flash, not the one it reported before', async () => {
    await setup() // boots reporting "version: 1.0.0"
    const file = join(work.dir, 'other.bin')
    writeFileSync(file, makeFirmwareImage({ version: '2.0.0', size: 3000 }))
    const r = await runCli(['flash', '--port', pair.a, '--protocol', 'ymodem', '--file', file, '--probe', '^version: (\\d+\\.\\d+\\.\\d+)', '--probe-timeout', '5', '--json'])
    expect(r.code, r.stderr).toBe(0)
    expect(jsonEvents(r.stdout).find((e) => e.type === 'flash-done')).toMatchObject({ version: '2.0.0' })
  }, 60_000)

  it('fails with exit 5 and shows what the device printed when no line matches the probe', async () => {
    await setup()
    const file = join(work.dir, 'other.bin')
    writeFileSync(file, makeFirmwareImage({ version: '2.0.0', size: 3000 }))
    const r = await runCli(['flash', '--port', pair.a, '--protocol', 'ymodem', '--file', file, '--probe', '^build (\\S+)', '--probe-timeout', '2'])
    expect(r.code).toBe(5)
    expect(r.stderr).toMatch(/no version banner matching \/\^build \(\\S\+\)\/ within 2 s/)
    expect(r.stderr).toMatch(/version: 2\.0\.0/)
  }, 60_000)

  it('names the port when it does not exist (exit 5)', async () => {
    await setup()
    const r = await runCli(['flash', '--port', '/dev/ttyNOPE9', '--protocol', 'ymodem', '--file', __filename])
    expect(r.code).toBe(5)
    expect(r.stderr).toMatch(/ttyNOPE9/)
  }, 30_000)
})

describe('flashline fetch', () => {
  let server: PackageServer
  const ca = join(work.dir, 'ca.pem')
  beforeAll(async () => {
    server = await startPackageServer({ tls: true })
    writeFileSync(ca, simTls().ca)
  })
  afterAll(async () => server.close())
  afterEach(() => {
    for (const k of Object.keys(server.faults)) delete server.faults[k as keyof typeof server.faults]
  })

  it('downloads, verifies and copies a package for offline work; a second run comes from the cache', async () => {
    const data = makeFirmwareImage({ version: '4.4.4', size: 200_000 })
    const sha = createHash('sha256').update(data).digest('hex')
    const { url, token } = server.addPackage('fetch/fw.bin', data, { token: 'abc' })
    const out = join(work.dir, 'fetched.bin')
    const args = ['fetch', '--url', url, '--token', token!, '--sha256', sha, '--ca', ca, '--out', out, '--data-dir', join(work.dir, 'data'), '--json']
    const r = await runCli(args)
    expect(r.code, r.stderr).toBe(0)
    expect(readFileSync(out).equals(data)).toBe(true)
    const again = await runCli(args)
    expect(again.code, again.stderr).toBe(0)
    expect(jsonEvents(again.stdout).find((e) => e.type === 'download-done')).toMatchObject({ fromCache: true })
  }, 60_000)

  it('exit 3 for an expired token, exit 4 for a wrong hash, exit 2 for a bad URL', async () => {
    const data = Buffer.from('x'.repeat(1000))
    const { url } = server.addPackage('fetch/exp.bin', data, { token: 't', tokenExpiresAt: Date.now() - 1 })
    const expired = await runCli(['fetch', '--url', url, '--token', 't', '--ca', ca, '--data-dir', join(work.dir, 'd2')])
    expect(expired.code).toBe(3)
    expect(expired.stderr).toMatch(/expired/)
    const { url: u2 } = server.addPackage('fetch/ok.bin', data, {})
    const wrong = await runCli(['fetch', '--url', u2, '--md5', '0'.repeat(32), '--ca', ca, '--data-dir', join(work.dir, 'd3')])
    expect(wrong.code).toBe(4)
    const bad = await runCli(['fetch', '--url', 'not a url'])
    expect(bad.code).toBe(2)
  }, 60_000)

  it('--size: the right size passes; a wrong one fails with exit 4 before the body is read, also when the body comes chunked', async () => {
    const data = makeFirmwareImage({ version: '5.0.0', size: 8 * 1024 * 1024, seed: 3 })
    const { url } = server.addPackage('fetch/sized.bin', data, {})
    const right = await runCli(['fetch', '--url', url, '--size', String(data.length), '--ca', ca, '--data-dir', join(work.dir, 'd-size1'), '--json'])
    expect(right.code, right.stderr).toBe(0)
    expect(jsonEvents(right.stdout).find((e) => e.type === 'download-done')).toMatchObject({ size: data.length })

    const announced = await runCli(['fetch', '--url', url, '--size', '4096', '--ca', ca, '--data-dir', join(work.dir, 'd-size2')])
    expect(announced.code).toBe(4)
    expect(announced.stderr).toMatch(/size mismatch: expected 4096, the server offers 8388608/)

    server.faults.noLength = true
    server.faults.bytesPerSecond = 8 * 1024 * 1024 // one second for the whole body
    const dataDir = join(work.dir, 'd-size3')
    const chunked = await runCli(['fetch', '--url', url, '--size', '4096', '--ca', ca, '--data-dir', dataDir])
    expect(chunked.code).toBe(4)
    expect(chunked.stderr).toMatch(/expected 4096 bytes, the server sent more/)
    const served = server.requests.filter((r) => r.path.endsWith('fetch/sized.bin')).at(-1)!
    expect(served.bytesSent).toBeLessThan(2 * 1024 * 1024) // not the whole 8 MiB
    expect(readdirSync(join(dataDir, 'cache', 'partial')).filter((f) => f.endsWith('.part'))).toEqual([])
  }, 60_000)

  it('the token from --token-file (warned about when others can read it) or env FLASHLINE_TOKEN; with --token as well it is exit 2', async () => {
    const data = Buffer.alloc(20_000, 3)
    const { url } = server.addPackage('fetch/tok.bin', data, { token: 'file-token-1' })
    const served = () => server.requests.filter((q) => q.path.endsWith('fetch/tok.bin'))
    const tokenFile = join(work.dir, 'token')
    writeFileSync(tokenFile, 'file-token-1\n', { mode: 0o600 })
    chmodSync(tokenFile, 0o600)
    const own = await runCli(['fetch', '--url', url, '--token-file', tokenFile, '--ca', ca, '--data-dir', join(work.dir, 'd-tok1')])
    expect(own.code, own.stderr).toBe(0)
    expect(own.stderr).toBe('')
    expect(served().at(-1)!.headers['authorization']).toBe('Bearer file-token-1')

    chmodSync(tokenFile, 0o644)
    const shared = await runCli(['fetch', '--url', url, '--token-file', tokenFile, '--ca', ca, '--data-dir', join(work.dir, 'd-tok2')])
    expect(shared.code, shared.stderr).toBe(0)
    expect(shared.stderr).toMatch(new RegExp(`warning: --token-file ${tokenFile} is readable by its group and other users \\(mode 644\\); chmod 600`))

    const env = await runCli(['fetch', '--url', url, '--ca', ca, '--data-dir', join(work.dir, 'd-tok3')], { env: { FLASHLINE_TOKEN: 'file-token-1' } })
    expect(env.code, env.stderr).toBe(0)
    expect(served().at(-1)!.headers['authorization']).toBe('Bearer file-token-1')

    const before = served().length
    const both = await runCli(['fetch', '--url', url, '--token', 'x', '--token-file', tokenFile, '--ca', ca, '--data-dir', join(work.dir, 'd-tok4')])
    expect(both.code).toBe(2)
    expect(both.stderr).toMatch(/--token and --token-file cannot be combined/)
    const missing = await runCli(['fetch', '--url', url, '--token-file', join(work.dir, 'no-token'), '--ca', ca, '--data-dir', join(work.dir, 'd-tok4')])
    expect(missing.code).toBe(2)
    expect(missing.stderr).toMatch(/--token-file .*no-token: no such file/)
    expect(served()).toHaveLength(before)
  }, 60_000)

  it('--out an existing directory puts the package inside it, named after the URL; nothing else is left there', async () => {
    const data = makeFirmwareImage({ version: '6.0.0', size: 50_000, seed: 4 })
    const { url } = server.addPackage('fetch/into-dir/fw-6.0.0.bin', data, {})
    const dir = join(work.dir, 'out-dir')
    mkdirSync(dir)
    const r = await runCli(['fetch', '--url', url, '--ca', ca, '--out', dir, '--data-dir', join(work.dir, 'd-out1'), '--json'])
    expect(r.code, r.stderr).toBe(0)
    expect(readFileSync(join(dir, 'fw-6.0.0.bin')).equals(data)).toBe(true)
    expect(readdirSync(dir)).toEqual(['fw-6.0.0.bin'])
    expect(jsonEvents(r.stdout).find((e) => e.type === 'download-done')).toMatchObject({ path: join(dir, 'fw-6.0.0.bin') })
  }, 60_000)

  it('--out where nothing can be written is exit 2 naming the path and the OS error, before anything is downloaded', async () => {
    const data = Buffer.alloc(10_000, 1)
    const { url } = server.addPackage('fetch/no-out.bin', data, {})
    const file = join(work.dir, 'a-file')
    writeFileSync(file, 'x')
    const r = await runCli(['fetch', '--url', url, '--ca', ca, '--out', join(file, 'fw.bin'), '--data-dir', join(work.dir, 'd-out2')])
    expect(r.code).toBe(2)
    expect(r.stderr).toContain(`--out ${join(file, 'fw.bin')}: cannot write there (ENOTDIR`)
    expect(server.requests.filter((q) => q.path.endsWith('fetch/no-out.bin'))).toHaveLength(0)
  }, 60_000)

  it.each([
    ['file:///etc/passwd', /unsupported URL scheme "file:"/],
    ['ftp://127.0.0.1/fw.bin', /unsupported URL scheme "ftp:"/],
    ['http://127.0.0.1:9/fw.bin', /--allow-http/],
    ['https://127.0.0.1:9/fw%zz.bin', /percent-encoding/]
  ])('exit 2 for --url %s, before anything is downloaded', async (url, message) => {
    const r = await runCli(['fetch', '--url', url, '--data-dir', join(work.dir, 'd-url')])
    expect(r.code, r.stderr).toBe(2)
    expect(r.stderr).toMatch(message)
  }, 60_000)

  it('never prints the user info or the signature of the URL (--json and human output, success and failure)', async () => {
    const data = Buffer.from('y'.repeat(5000))
    const { url } = server.addPackage('fetch/redact.bin', data, {})
    const secretUrl = url.replace('https://', 'https://agent:hunter2@') + '?Expires=1&Signature=s3cr3tsig'
    const json = await runCli(['fetch', '--url', secretUrl, '--ca', ca, '--data-dir', join(work.dir, 'd-redact'), '--json'])
    expect(json.code, json.stderr).toBe(0)
    const start = jsonEvents(json.stdout).find((e) => e.type === 'download-start')!
    expect(start['url']).toBe(url.replace('https://', 'https://***@'))
    const missing = await runCli(['fetch', '--url', secretUrl.replace('redact.bin', 'nope.bin'), '--ca', ca, '--data-dir', join(work.dir, 'd-redact')])
    expect(missing.code).toBe(3)
    for (const r of [json, missing]) expect(r.stdout + r.stderr).not.toMatch(/hunter2|s3cr3tsig/)
  }, 60_000)
})
