/** What a package server may answer that is not simply the package: each path ends verified or with a clear error. */
import { randomBytes } from 'node:crypto'
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import http from 'node:http'
import https from 'node:https'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { fetchPackage } from '../main/engine/download/fetch-package'
import { simTls } from '../main/engine/sim/tls'
import { tempDir } from './harness/tmp'

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
async function serve(handler: http.RequestListener, secure = true): Promise<string> {
  const server = secure ? https.createServer({ key: tls.key, cert: tls.cert }, handler) : http.createServer(handler)
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  closers.push(() => new Promise((r) => (server.closeAllConnections(), server.close(() => r()))))
  return `${secure ? 'https' : 'http'}://127.0.0.1:${(server.address() as AddressInfo).port}`
}

/** Writes `total` bytes in 64 KiB pieces, waiting for drain, until done or the client goes away; counts what it handed over. */
async function flood(res: http.ServerResponse, total: number, sent: { bytes: number }): Promise<void> {
  const piece = randomBytes(64 * 1024)
  let gone = false
  res.once('close', () => (gone = true))
  while (sent.bytes < total && !gone) {
    const more = res.write(piece)
    sent.bytes += piece.length
    if (!more) await new Promise<void>((r) => (res.once('drain', r), res.once('close', r)))
  }
  if (!gone) res.end()
}

const partials = (dir: string): string[] => (existsSync(join(dir, 'partial')) ? readdirSync(join(dir, 'partial')).filter((f) => f.endsWith('.part')) : [])

describe('a body longer than the expected size', () => {
  const FLOOD = 64 * 1024 * 1024

  it('chunked over TLS: stops at the first byte too many (integrity, size), removes the partial file', async () => {
    const sent = { bytes: 0 }
    const base = await serve((_req, res) => {
      res.writeHead(200) // no Content-Length: chunked
      void flood(res, FLOOD, sent)
    })
    const dir = cacheDir()
    const t0 = Date.now()
    await expect(fetchPackage({ url: `${base}/fw.bin` }, { size: 4096 }, { cacheDir: dir, ca: tls.ca })).rejects.toMatchObject({
      kind: 'integrity',
      details: { field: 'size', expected: '4096' },
      message: expect.stringMatching(/expected 4096 bytes, the server sent more/)
    })
    // socket buffers hold a few MiB at most; without the cap all 64 MiB were read before "size mismatch"
    expect(sent.bytes).toBeLessThan(16 * 1024 * 1024)
    expect(Date.now() - t0).toBeLessThan(10_000)
    expect(partials(dir)).toEqual([])
  })

  it('close-delimited over plain http: the same', async () => {
    const sent = { bytes: 0 }
    const base = await serve((_req, res) => {
      res.useChunkedEncodingByDefault = false
      res.shouldKeepAlive = false
      res.writeHead(200)
      void flood(res, FLOOD, sent)
    }, false)
    const dir = cacheDir()
    await expect(fetchPackage({ url: `${base}/fw.bin` }, { size: 100_000 }, { cacheDir: dir, allowHttp: true })).rejects.toMatchObject({ kind: 'integrity', details: { field: 'size' } })
    expect(sent.bytes).toBeLessThan(16 * 1024 * 1024)
    expect(partials(dir)).toEqual([])
  })
})

describe('answers that restart, retry or end the download', () => {
  const data = randomBytes(700_003)
  const sha256 = createHash('sha256').update(data).digest('hex')

  /** The package as a server with Range support answers it; `seen` records each request's Range header. */
  function honest(req: http.IncomingMessage, res: http.ServerResponse): void {
    const from = Number(/^bytes=(\d+)-$/.exec(req.headers.range ?? '')?.[1] ?? 0)
    if (from >= data.length) {
      res.writeHead(416, { 'Content-Range': `bytes */${data.length}` })
      res.end()
      return
    }
    res.writeHead(from ? 206 : 200, { 'Content-Length': data.length - from, ...(from ? { 'Content-Range': `bytes ${from}-${data.length - 1}/${data.length}` } : {}) })
    res.end(data.subarray(from))
  }

  /** A partial file as an earlier run left it, under the name fetchPackage resumes. */
  function leftover(dir: string, bytes: Buffer): void {
    mkdirSync(join(dir, 'partial'), { recursive: true })
    writeFileSync(join(dir, 'partial', 'k.part'), bytes)
  }

  it('416 to the resume request (the partial file is longer than the package): starts over from byte 0', async () => {
    const seen: Array<string | undefined> = []
    const base = await serve((req, res) => (seen.push(req.headers.range), honest(req, res)))
    const dir = cacheDir()
    leftover(dir, randomBytes(800_000))
    const pkg = await fetchPackage({ url: `${base}/fw.bin` }, { sha256 }, { cacheDir: dir, ca: tls.ca, partKey: 'k' })
    expect(seen).toEqual(['bytes=800000-', undefined])
    expect(readFileSync(pkg.path).equals(data)).toBe(true)
  })

  it('206 whose Content-Range does not start where asked: nothing of it is appended, the download starts over', async () => {
    const seen: Array<string | undefined> = []
    const base = await serve((req, res) => {
      seen.push(req.headers.range)
      if (req.headers.range) {
        // a broken cache in front of the origin: answers any range with the file from byte 0
        res.writeHead(206, { 'Content-Length': data.length, 'Content-Range': `bytes 0-${data.length - 1}/${data.length}` })
        res.end(data)
      } else honest(req, res)
    })
    const dir = cacheDir()
    leftover(dir, data.subarray(0, 100_000))
    const pkg = await fetchPackage({ url: `${base}/fw.bin` }, { sha256 }, { cacheDir: dir, ca: tls.ca, partKey: 'k' })
    expect(seen).toEqual(['bytes=100000-', undefined])
    expect(readFileSync(pkg.path).equals(data)).toBe(true)
  })

  it('5xx is retried and the download then succeeds; a server that keeps failing ends with a network error naming it', async () => {
    let calls = 0
    const base = await serve((req, res) => {
      if (++calls <= 2) {
        res.writeHead(503)
        res.end('busy')
      } else honest(req, res)
    })
    const pkg = await fetchPackage({ url: `${base}/fw.bin` }, { sha256 }, { cacheDir: cacheDir(), ca: tls.ca })
    expect(calls).toBe(3)
    expect(readFileSync(pkg.path).equals(data)).toBe(true)

    let failing = 0
    const broken = await serve((_req, res) => (failing++, res.writeHead(500), res.end()))
    await expect(fetchPackage({ url: `${broken}/fw.bin` }, {}, { cacheDir: cacheDir(), ca: tls.ca, retries: 2 })).rejects.toMatchObject({
      kind: 'download',
      code: 'network',
      message: expect.stringMatching(/^download from 127\.0\.0\.1:\d+ failed after 3 attempts: HTTP 500/)
    })
    expect(failing).toBe(3)
  })

  it('a redirect loop ends with a clear download error after 5 redirects', async () => {
    let hops = 0
    const base = await serve((req, res) => {
      hops++
      res.writeHead(302, { Location: `/hop/${hops}` })
      res.end()
    })
    await expect(fetchPackage({ url: `${base}/fw.bin` }, {}, { cacheDir: cacheDir(), ca: tls.ca })).rejects.toMatchObject({
      kind: 'download',
      code: 'redirects',
      message: expect.stringMatching(/too many redirects fetching the package from 127\.0\.0\.1/)
    })
    expect(hops).toBe(6) // the first request and five redirects followed
  })

  it('an https:// URL redirecting to http:// is refused unless plain http is allowed', async () => {
    let plainCalls = 0
    const plain = await serve((req, res) => (plainCalls++, honest(req, res)), false)
    const base = await serve((_req, res) => {
      res.writeHead(302, { Location: `${plain}/cdn/fw.bin` })
      res.end()
    })
    await expect(fetchPackage({ url: `${base}/fw.bin` }, { sha256 }, { cacheDir: cacheDir(), ca: tls.ca })).rejects.toMatchObject({
      kind: 'download',
      code: 'http-not-allowed',
      message: expect.stringMatching(/redirected elsewhere: refusing plain http:\/\//)
    })
    expect(plainCalls).toBe(0)
    const pkg = await fetchPackage({ url: `${base}/fw.bin` }, { sha256 }, { cacheDir: cacheDir(), ca: tls.ca, allowHttp: true })
    expect(readFileSync(pkg.path).equals(data)).toBe(true)
    expect(plainCalls).toBe(1)
  })
})
