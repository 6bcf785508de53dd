/** Package URLs from orders and redirects: what is refused (as a download error) and what is printed. */
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { fetchPackage } from '../main/engine/download/fetch-package'
import { parsePackageUrl } from '../main/engine/download/package-url'
import { startPackageServer, type PackageServer } from '../main/engine/sim/package-server'
import { simTls } from '../main/engine/sim/tls'
import { redactUrl } from '../main/engine/util/redact'
import { tempDir } from './harness/tmp'

describe('redactUrl', () => {
  it('keeps scheme, host, port and path; masks user info as ***@; drops query and fragment', () => {
    expect(redactUrl('https://user:pw@obs.example.com:8443/fw/app.bin?AccessKeyId=AK&Expires=1&Signature=abc#x')).toBe('https://***@obs.example.com:8443/fw/app.bin')
    expect(redactUrl('mqtts://dev:secret@broker.example.com:8883')).toBe('mqtts://***@broker.example.com:8883')
    expect(redactUrl('https://host/p?token=t')).toBe('https://host/p')
  })

  it('still cuts user info and query from a string the URL parser rejects', () => {
    expect(redactUrl('https://us er:pw@ho st/x?sig=1')).toBe('https://***@ho st/x')
    expect(redactUrl('mqtt//bob:hunter2@127.0.0.1:1883')).toBe('mqtt//***@127.0.0.1:1883')
    expect(redactUrl('not a url ?token=1')).toBe('not a url ')
  })
})

describe('package URLs are refused as download errors (an order with such a URL is a download failure, not an internal one)', () => {
  it.each([
    ['file:///etc/passwd', 'bad-url'],
    ['ftp://files.example.com/fw.bin', 'bad-url'],
    ['http://files.example.com/fw.bin', 'http-not-allowed'],
    ['https://files.example.com/fw%zz.bin', 'bad-url'],
    ['https://files.example.com/fw.bin?x=%4', 'bad-url'],
    ['https://exa mple.com/fw.bin', 'bad-url']
  ])('%s → %s', (url, code) => {
    expect(() => parsePackageUrl(url)).toThrow(expect.objectContaining({ kind: 'download', code }))
  })

  it('accepts valid percent-encoding and http:// when allowed', () => {
    expect(parsePackageUrl('https://h/f%20w%C3%A9.bin').pathname).toBe('/f%20w%C3%A9.bin')
    expect(parsePackageUrl('http://h/fw.bin', true).protocol).toBe('http:')
  })

  it('never prints the user info or signature of the URL in its messages', () => {
    try {
      parsePackageUrl('ftp://user:hunter2@h/fw.bin?Signature=s3cr3t')
      expect.unreachable()
    } catch (e) {
      expect((e as Error).message).not.toMatch(/hunter2|s3cr3t/)
      expect((e as Error).message).toContain('ftp://***@h/fw.bin')
    }
  })
})

describe('fetchPackage with a URL it must refuse', () => {
  let server: PackageServer
  const dir = tempDir()
  beforeAll(async () => {
    server = await startPackageServer({ tls: true })
  })
  afterAll(async () => {
    await server.close()
    dir.cleanup()
  })

  it('a malformed percent-encoding is a clear download error and nothing is requested', async () => {
    const before = server.requests.length
    await expect(fetchPackage({ url: `${server.url}/packages/%E0%A4%A.bin` }, {}, { cacheDir: dir.dir, ca: simTls().ca })).rejects.toMatchObject({
      kind: 'download',
      code: 'bad-url',
      message: expect.stringMatching(/percent-encoding/)
    })
    expect(server.requests.length).toBe(before)
  })

  it.each(['file:///etc/passwd', 'ftp://127.0.0.1/fw.bin'])('%s is a download error', async (url) => {
    await expect(fetchPackage({ url }, {}, { cacheDir: dir.dir })).rejects.toMatchObject({ kind: 'download', code: 'bad-url' })
  })

  it('a redirect to an address that is not a URL is a download error, not a crash', async () => {
    const s = http.createServer((_req, res) => {
      res.writeHead(302, { Location: 'http://[bad' })
      res.end()
    })
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r))
    try {
      const url = `http://127.0.0.1:${(s.address() as AddressInfo).port}/fw.bin`
      await expect(fetchPackage({ url }, {}, { cacheDir: dir.dir, allowHttp: true })).rejects.toMatchObject({ kind: 'download', code: 'bad-url', message: expect.stringMatching(/redirected/) })
    } finally {
      s.closeAllConnections()
      await new Promise((r) => s.close(r))
    }
  })

  it('the simulated package server answers a malformed path with 400 instead of crashing', async () => {
    const port = new URL(server.url).port
    const { request } = await import('node:https')
    const status = await new Promise<number>((resolve, reject) => {
      request({ host: '127.0.0.1', port, path: '/packages/%E0%A4%A.bin', ca: simTls().ca }, (res) => {
        res.resume()
        resolve(res.statusCode!)
      })
        .on('error', reject)
        .end()
    })
    expect(status).toBe(400)
  })
})
