/** What a package server may answer that is not simply the package: each path ends verified or with a clear error. */
import { randomBytes } from 'node:crypto'
import { existsSync, readdirSync } from 'node:fs'
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
