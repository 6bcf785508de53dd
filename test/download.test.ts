import { execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import http from 'node:http'
import https from 'node:https'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { fetchPackage } from '../main/engine/download/fetch-package'
import { byteSum, compareExpectation, hashBuffer, PackageHasher } from '../main/engine/download/hashers'
import { PackageSink } from '../main/engine/download/package-sink'
import { startPackageServer, type PackageServer } from '../main/engine/sim/package-server'
import { simTls } from '../main/engine/sim/tls'
import { tempDir } from './harness/tmp'

describe('package digests', () => {
  it('computes SHA-256, MD5 and the FogCloud additive checksum (4 bytes little-endian)', () => {
    const abc = hashBuffer(Buffer.from('abc'))
    expect(abc.sha256).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad')
    expect(abc.md5).toBe('900150983cd24fb0d6963f7d28e17f72')
    expect(hashBuffer(Buffer.from([1, 2, 3])).sum32).toBe('06000000')
    expect(hashBuffer(Buffer.alloc(4, 0xff)).sum32).toBe('fc030000')
  })

  it('sums bytes correctly at any alignment and length (word-lane fast path)', () => {
    const data = randomBytes(100_003)
    let naive = 0
    for (const b of data) naive += b
    for (const [from, to] of [[0, data.length], [1, 99_999], [3, 7], [2, 2050], [5, 5]] as const) {
      let want = 0
      for (let i = from; i < to; i++) want += data[i]!
      expect(byteSum(data.subarray(from, to))).toBe(want)
    }
    expect(byteSum(data)).toBe(naive)
  })

  it('wraps the byte sum modulo 2^32', () => {
    const h = new PackageHasher()
    const block = Buffer.alloc(1 << 20, 0xff)
    for (let i = 0; i < 17; i++) h.update(block) // 17 MiB of 0xFF sums past 2^32
    const le = Buffer.alloc(4)
    le.writeUInt32LE((17 * (1 << 20) * 0xff) % 2 ** 32)
    expect(h.digest().sum32).toBe(le.toString('hex'))
  })

  it('the package sink writes and hashes like the plain hasher, continues a partial file, and computes only what was asked', async () => {
    const data = randomBytes(3_000_001)
    const dir = tempDir()
    try {
      const plain = new PackageHasher()
      plain.update(data)
      // an earlier run left the first 1 234 567 bytes
      const part = join(dir.dir, 'x.part')
      writeFileSync(part, data.subarray(0, 1_234_567))
      const sink = new PackageSink(part, { md5: true, sum32: true })
      expect(await sink.open()).toBe(1_234_567)
      for (let i = 1_234_567; i < data.length; i += 70_001) sink.write(data.subarray(i, Math.min(i + 70_001, data.length)))
      const { file, ...sums } = await sink.digest()
      expect(sums).toEqual(plain.digest())
      expect(file).toMatchObject({ size: data.length, ino: statSync(part).ino })
      expect(readFileSync(part).equals(data)).toBe(true)
      const shaOnly = new PackageSink(join(dir.dir, 'y.part'), {})
      await shaOnly.open()
      shaOnly.write(data)
      const s = await shaOnly.digest()
      expect(s.sha256).toBe(hashBuffer(data).sha256)
      expect(s.md5).toBeUndefined()
    } finally {
      dir.cleanup()
    }
  })

  it('the package sink hashes the batches in the order they were written, and closing waits for the write still running', async () => {
    const dir = tempDir()
    try {
      const data = randomBytes(24 * 1024 * 1024 + 5)
      const sink = new PackageSink(join(dir.dir, 'big.part'), { md5: true })
      await sink.open()
      for (let i = 0; i < data.length; i += 100_003) {
        sink.write(data.subarray(i, Math.min(i + 100_003, data.length)))
        if (sink.congested) await sink.drained()
      }
      const { file, ...sums } = await sink.digest()
      const plain = hashBuffer(data)
      expect(sums).toEqual({ size: data.length, sha256: plain.sha256, md5: plain.md5 })
      expect(file.size).toBe(data.length)
      expect(readFileSync(join(dir.dir, 'big.part')).equals(data)).toBe(true)

      // 16 whole batches posted and not awaited: dispose must let every one land before closing
      const quick = new PackageSink(join(dir.dir, 'quick.part'), {})
      await quick.open()
      quick.write(data.subarray(0, 16 * 1024 * 1024))
      await quick.dispose()
      expect(statSync(join(dir.dir, 'quick.part')).size).toBe(16 * 1024 * 1024)
    } finally {
      dir.cleanup()
    }
  })

  it('the package sink reports a disk it cannot write as a download error naming the file', async () => {
    const dir = tempDir()
    try {
      const sink = new PackageSink(join(dir.dir, 'no-such-dir', 'x.part'), {})
      await expect(sink.open()).rejects.toMatchObject({ kind: 'download', code: 'disk', message: expect.stringMatching(/no-such-dir/) })
      await sink.dispose()
    } finally {
      dir.cleanup()
    }
  })

  it('compares expectations case-insensitively and names the first failing field', () => {
    const d = hashBuffer(Buffer.from('abc'))
    expect(compareExpectation(d, { sha256: d.sha256.toUpperCase(), size: 3 })).toBeNull()
    expect(compareExpectation(d, { size: 4 })).toEqual({ field: 'size', expected: '4', actual: '3' })
    expect(compareExpectation(d, { md5: '00'.repeat(16) })).toMatchObject({ field: 'md5' })
  })
})

describe('fetchPackage against the simulated HTTPS package server', () => {
  let server: PackageServer
  let ca: string
  const data = randomBytes(3 * 1024 * 1024 + 17)
  const sha256 = hashBuffer(data).sha256
  let n = 0
  const dirs: Array<() => void> = []

  beforeAll(async () => {
    server = await startPackageServer({ tls: true })
    ca = simTls().ca
  })
  afterAll(async () => {
    await server.close()
    for (const d of dirs) d()
  })
  afterEach(() => {
    server.faults.dropAfterBytes = undefined
    server.faults.dropTimes = undefined
    server.faults.ignoreRange = undefined
  })

  function cacheDir(): string {
    const t = tempDir()
    dirs.push(t.cleanup)
    return t.dir
  }
  const requestsFor = (name: string) => server.requests.filter((r) => r.path.endsWith(name))

  it('downloads with a bearer token, byte-identical, with every digest when asked', async () => {
    const name = `p${++n}.bin`
    const { url, token } = server.addPackage(name, data, { token: 'tok-123' })
    const progress: number[] = []
    const pkg = await fetchPackage({ url, bearerToken: token }, { sha256, size: data.length }, { cacheDir: cacheDir(), ca, allDigests: true, onProgress: (p) => progress.push(p.done) })
    expect(readFileSync(pkg.path).equals(data)).toBe(true)
    expect(pkg).toMatchObject({ size: data.length, sha256, md5: hashBuffer(data).md5, sum32: hashBuffer(data).sum32, fromCache: false })
    expect(requestsFor(name)[0]!.headers['authorization']).toBe('Bearer tok-123')
    expect(progress.at(-1)).toBe(data.length)
  })

  it('sends neither Authorization nor Content-Type to a presigned URL', async () => {
    const name = `p${++n}.bin`
    const { url } = server.addPackage(name, data, { presigned: true })
    await fetchPackage({ url }, { sha256 }, { cacheDir: cacheDir(), ca })
    const r = requestsFor(name)[0]!
    expect(r.status).toBe(200)
    expect(r.headers['authorization']).toBeUndefined()
    expect(r.headers['content-type']).toBeUndefined()
  })

  it('serves a verified package from the cache without touching the network', async () => {
    const name = `p${++n}.bin`
    const { url } = server.addPackage(name, data, {})
    const dir = cacheDir()
    await fetchPackage({ url }, { sha256 }, { cacheDir: dir, ca })
    const again = await fetchPackage({ url }, { sha256 }, { cacheDir: dir, ca })
    expect(again.fromCache).toBe(true)
    expect(requestsFor(name)).toHaveLength(1)
  })

  it('serves an MD5-only order (FogCloud, Wudun) from the cache the second time', async () => {
    const name = `p${++n}.bin`
    const { url } = server.addPackage(name, data, {})
    const dir = cacheDir()
    const md5 = hashBuffer(data).md5!.toUpperCase()
    const first = await fetchPackage({ url }, { md5 }, { cacheDir: dir, ca })
    const again = await fetchPackage({ url }, { md5 }, { cacheDir: dir, ca })
    expect(first.fromCache).toBe(false)
    expect(again).toMatchObject({ fromCache: true, path: first.path, md5: md5.toLowerCase() })
    expect(requestsFor(name)).toHaveLength(1)
  })

  it('resumes a dropped connection with Range and ends byte-identical', async () => {
    const name = `p${++n}.bin`
    const { url } = server.addPackage(name, data, {})
    server.faults.dropAfterBytes = 1_000_000
    server.faults.dropTimes = 2
    const pkg = await fetchPackage({ url }, { sha256 }, { cacheDir: cacheDir(), ca })
    const reqs = requestsFor(name)
    expect(reqs).toHaveLength(3)
    expect(reqs[1]!.range).toMatch(/^bytes=\d+-$/)
    expect(Number(reqs[1]!.range!.slice(6, -1))).toBeGreaterThan(0)
    expect(reqs[1]!.status).toBe(206)
    expect(readFileSync(pkg.path).equals(data)).toBe(true)
  })

  it('starts over from byte 0 when the server answers a Range request with 200', async () => {
    const name = `p${++n}.bin`
    const { url } = server.addPackage(name, data, {})
    server.faults.dropAfterBytes = 1_000_000
    server.faults.dropTimes = 1
    server.faults.ignoreRange = true
    const pkg = await fetchPackage({ url }, { sha256 }, { cacheDir: cacheDir(), ca })
    const reqs = requestsFor(name)
    expect(reqs[1]!.range).toBeDefined()
    expect(reqs[1]!.status).toBe(200)
    expect(readFileSync(pkg.path).equals(data)).toBe(true)
  })

  it('treats an expired token as refused: download error, one request, no retry loop', async () => {
    const name = `p${++n}.bin`
    const { url, token } = server.addPackage(name, data, { token: 't', tokenExpiresAt: Date.now() - 1000 })
    await expect(fetchPackage({ url, bearerToken: token }, { sha256 }, { cacheDir: cacheDir(), ca })).rejects.toMatchObject({ kind: 'download', code: 'refused' })
    expect(requestsFor(name)).toHaveLength(1)
  })

  it('an expired presigned URL is refused the same way', async () => {
    const name = `p${++n}.bin`
    const { url } = server.addPackage(name, data, { presigned: true, presignExpiresAt: Date.now() - 5000 })
    await expect(fetchPackage({ url }, {}, { cacheDir: cacheDir(), ca })).rejects.toMatchObject({ kind: 'download', code: 'refused' })
  })

  it('rejects a package whose SHA-256 does not match and leaves nothing in the cache', async () => {
    const name = `p${++n}.bin`
    const { url } = server.addPackage(name, data, {})
    const dir = cacheDir()
    await expect(fetchPackage({ url }, { sha256: 'ab'.repeat(32) }, { cacheDir: dir, ca })).rejects.toMatchObject({ kind: 'integrity', details: { field: 'sha256' } })
    expect(existsSync(join(dir, 'sha256')) ? readdirSync(join(dir, 'sha256')) : []).toEqual([])
    expect(readdirSync(join(dir, 'partial'))).toEqual([])
  })

  it('fails early on a size mismatch announced by the server', async () => {
    const name = `p${++n}.bin`
    const { url } = server.addPackage(name, data, {})
    await expect(fetchPackage({ url }, { size: 10 }, { cacheDir: cacheDir(), ca })).rejects.toMatchObject({ kind: 'integrity', details: { field: 'size' } })
  })

  it('refuses plain http unless allowed, and verifies TLS (no trust root → tls error)', async () => {
    const name = `p${++n}.bin`
    const { url } = server.addPackage(name, data, {})
    await expect(fetchPackage({ url: url.replace('https:', 'http:') }, {}, { cacheDir: cacheDir(), ca })).rejects.toMatchObject({ kind: 'download', code: 'http-not-allowed' })
    await expect(fetchPackage({ url }, {}, { cacheDir: cacheDir() })).rejects.toMatchObject({ kind: 'download', code: 'tls' })
  })

  it('reports a missing package as an HTTP status error without retrying', async () => {
    await expect(fetchPackage({ url: `${server.url}/packages/nope.bin` }, {}, { cacheDir: cacheDir(), ca })).rejects.toMatchObject({ kind: 'download', code: 'http-status' })
    expect(server.requests.filter((r) => r.path.endsWith('nope.bin'))).toHaveLength(1)
  })

  it('gives up with a network error naming the host when nothing listens', async () => {
    await expect(fetchPackage({ url: 'https://127.0.0.1:9/x.bin' }, {}, { cacheDir: cacheDir(), ca, retries: 1 })).rejects.toMatchObject({ kind: 'download', code: 'network' })
  })
})

describe('package download: what else a server may answer', () => {
  const data = randomBytes(700_000 + 3)
  const sha256 = hashBuffer(data).sha256
  const tls = simTls()
  const closers: Array<() => Promise<void>> = []
  const dirs: Array<() => void> = []
  afterEach(async () => {
    while (closers.length) await closers.pop()!()
    while (dirs.length) dirs.pop()!()
  })
  function cacheDir(): string {
    const t = tempDir()
    dirs.push(t.cleanup)
    return t.dir
  }
  /** A plain node:http(s) server; resolves with its base URL. */
  async function serve(handler: http.RequestListener, secure = false, key = tls.key, cert = tls.cert): Promise<string> {
    const server = secure ? https.createServer({ key, cert }, handler) : http.createServer(handler)
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    closers.push(() => new Promise((r) => (server.closeAllConnections(), server.close(() => r()))))
    return `${secure ? 'https' : 'http'}://127.0.0.1:${(server.address() as AddressInfo).port}`
  }
  /** Writes the body in pieces with pauses, so it crosses many reads and chunk boundaries. */
  async function dribble(res: http.ServerResponse, body: Buffer, sizes = [1, 4093, 65_536, 100_000]): Promise<void> {
    let off = 0
    for (let i = 0; off < body.length; i++) {
      const n = Math.min(sizes[i % sizes.length]!, body.length - off)
      if (!res.write(body.subarray(off, off + n))) await new Promise((r) => res.once('drain', r))
      off += n
      if (i % 7 === 0) await new Promise((r) => setTimeout(r, 2))
    }
    res.end()
  }

  it('reads a chunked body over TLS (no Content-Length), byte-identical', async () => {
    const base = await serve((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/octet-stream' }) // HTTP/1.1 without a length: chunked
      void dribble(res, data)
    }, true)
    const pkg = await fetchPackage({ url: `${base}/fw.bin` }, { sha256, size: data.length }, { cacheDir: cacheDir(), ca: tls.ca })
    expect(readFileSync(pkg.path).equals(data)).toBe(true)
  })

  it('reads a body that ends when the server closes the connection (HTTP/1.0 style)', async () => {
    const base = await serve((_req, res) => {
      res.useChunkedEncodingByDefault = false
      res.shouldKeepAlive = false
      res.writeHead(200)
      void dribble(res, data)
    })
    const pkg = await fetchPackage({ url: `${base}/fw.bin` }, { sha256 }, { cacheDir: cacheDir(), allowHttp: true })
    expect(readFileSync(pkg.path).equals(data)).toBe(true)
  })

  it('follows a redirect to the package, keeps verifying the host it lands on, and keeps the bearer token to the host that issued it', async () => {
    const landed: Array<string | undefined> = []
    const target = await serve((req, res) => {
      landed.push(req.headers.authorization)
      res.writeHead(200, { 'Content-Length': data.length })
      res.end(data)
    }, true)
    const hops: Array<[string, string | undefined]> = []
    const base = await serve((req, res) => {
      hops.push([req.url!, req.headers.authorization])
      res.writeHead(302, { Location: `${target.replace('127.0.0.1', 'localhost')}/cdn/fw.bin` })
      res.end('moved')
    }, true)
    const pkg = await fetchPackage({ url: `${base}/fw.bin?sig=abc`, bearerToken: 'tok' }, { sha256 }, { cacheDir: cacheDir(), ca: tls.ca })
    expect(readFileSync(pkg.path).equals(data)).toBe(true)
    expect(hops).toEqual([['/fw.bin?sig=abc', 'Bearer tok']])
    expect(landed).toEqual([undefined])
  })

  it('refuses a token that would add header lines of its own, without sending anything', async () => {
    let calls = 0
    const base = await serve((_req, res) => (calls++, res.end()), true)
    await expect(fetchPackage({ url: `${base}/fw.bin`, bearerToken: 'tok\r\nX-Evil: 1' }, {}, { cacheDir: cacheDir(), ca: tls.ca })).rejects.toMatchObject({
      kind: 'download',
      code: 'bad-header'
    })
    expect(calls).toBe(0)
  })

  it('refuses a certificate issued for another host name, even when it chains to the trusted CA', async () => {
    const other = selfSigned('other.example')
    const base = await serve((_req, res) => res.end(data), true, other.key, other.cert)
    await expect(fetchPackage({ url: `${base}/fw.bin` }, {}, { cacheDir: cacheDir(), ca: other.cert })).rejects.toMatchObject({
      kind: 'download',
      code: 'tls',
      message: expect.stringContaining('ERR_TLS_CERT_ALTNAME_INVALID')
    })
  })

  it('gives up on a silent server after the idle timeout and resumes with Range', async () => {
    const ranges: Array<string | undefined> = []
    const base = await serve((req, res) => {
      ranges.push(req.headers.range)
      const from = Number(/bytes=(\d+)-/.exec(req.headers.range ?? '')?.[1] ?? 0)
      const headers = { 'Content-Length': data.length - from, ...(from ? { 'Content-Range': `bytes ${from}-${data.length - 1}/${data.length}` } : {}) }
      res.writeHead(from ? 206 : 200, headers)
      if (ranges.length === 1) res.write(data.subarray(0, 300_000)) // then silence, connection open
      else res.end(data.subarray(from))
    }, true)
    const pkg = await fetchPackage({ url: `${base}/fw.bin` }, { sha256 }, { cacheDir: cacheDir(), ca: tls.ca, idleTimeoutMs: 300 })
    expect(readFileSync(pkg.path).equals(data)).toBe(true)
    // however many attempts a loaded machine needed, the one after the silence continued where the first stopped
    expect(ranges[0]).toBeUndefined()
    const resumedFrom = Number(/^bytes=(\d+)-$/.exec(ranges[1] ?? '')?.[1])
    expect(resumedFrom).toBeGreaterThan(0)
    expect(resumedFrom).toBeLessThanOrEqual(300_000)
  })

  it('retries a body cut short of its Content-Length, and stops at once when interrupted', async () => {
    let calls = 0
    const base = await serve((req, res) => {
      calls++
      res.writeHead(200, { 'Content-Length': data.length })
      res.write(data.subarray(0, 1000), () => res.socket?.destroy())
    }, true)
    await expect(fetchPackage({ url: `${base}/a.bin` }, {}, { cacheDir: cacheDir(), ca: tls.ca, retries: 1 })).rejects.toMatchObject({
      kind: 'download',
      code: 'network',
      message: expect.stringContaining(`connection closed after 1000 of ${data.length} bytes`)
    })
    expect(calls).toBe(2)
    const stalled = await serve((_req, res) => (res.writeHead(200, { 'Content-Length': data.length }), res.write(data.subarray(0, 10))), true)
    const abort = new AbortController()
    setTimeout(() => abort.abort(), 200)
    await expect(fetchPackage({ url: `${stalled}/b.bin` }, {}, { cacheDir: cacheDir(), ca: tls.ca, signal: abort.signal })).rejects.toMatchObject({ kind: 'interrupted' })
  })
})

function selfSigned(name: string): { key: string; cert: string } {
  const t = tempDir()
  try {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', `/CN=${name}`,
      '-addext', `subjectAltName=DNS:${name}`, '-keyout', join(t.dir, 'k.pem'), '-out', join(t.dir, 'c.pem')], { stdio: 'ignore' })
    return { key: readFileSync(join(t.dir, 'k.pem'), 'utf8'), cert: readFileSync(join(t.dir, 'c.pem'), 'utf8') }
  } finally {
    t.cleanup()
  }
}
