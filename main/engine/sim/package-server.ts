import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import type { AddressInfo, Socket } from 'node:net'
import { simTls } from './tls'

/**
 * The platforms' package download endpoints, simulated: IoTDA's token-protected HTTPS endpoint
 * (Authorization: Bearer, 24 h expiry), OBS/FogCloud-style presigned URLs (signature and expiry in
 * the query, any Authorization header is a signature mismatch), and plain URLs. Range requests are
 * answered with 206 like OBS. Faults can be injected for the resume tests.
 */
export interface PackageAccess {
  token?: string
  tokenExpiresAt?: number
  presigned?: boolean
  presignExpiresAt?: number
}

export interface PackageFaults {
  /** Cut the connection after this many body bytes … */
  dropAfterBytes?: number
  /** … this many times (default: every request while set). */
  dropTimes?: number
  /** Answer 200 with the whole body even when a Range is asked (a server without Range support). */
  ignoreRange?: boolean
  /** Stop sending (but keep the connection open) after this many body bytes, once. */
  stallAfterBytes?: number
  /** Pace in-memory bodies to about this rate (a slow link). */
  bytesPerSecond?: number
  /** Answer without Content-Length, so the body goes out chunked. */
  noLength?: boolean
  /** Answer this status (say 401, a refused token) instead of the package … */
  status?: number
  /** … this many times (default: every request while set). */
  statusTimes?: number
}

export interface ServedRequest {
  path: string
  headers: Record<string, string | undefined>
  status: number
  range?: string
  /** Body bytes handed to the connection before it ended or closed. */
  bytesSent?: number
  /** The injected fault this answer carried, if any. */
  fault?: 'drop' | 'stall' | 'status' | 'ignored-range'
}

export interface PackageServer {
  url: string
  addPackage(name: string, data: Buffer | { path: string; size: number }, access?: PackageAccess): { url: string; token?: string }
  /** Faults for every package, except those that `faultsFor` gives their own. */
  faults: PackageFaults
  /**
   * The faults of the packages whose name starts with `prefix` (made empty on first use, changed in
   * place like `faults`): one download can be made to fail while others run cleanly.
   */
  faultsFor(prefix: string): PackageFaults
  requests: ServedRequest[]
  close(): Promise<void>
}

interface Entry {
  data: Buffer | { path: string; size: number }
  access: PackageAccess
}

export async function startPackageServer(options: { tls?: boolean; host?: string } = {}): Promise<PackageServer> {
  const secret = randomBytes(16)
  const entries = new Map<string, Entry>()
  const requests: ServedRequest[] = []
  const faults: PackageFaults = {}
  const ownFaults = new Map<string, PackageFaults>()
  const faultsOf = (name: string): PackageFaults => {
    for (const [prefix, f] of ownFaults) if (name.startsWith(prefix)) return f
    return faults
  }
  const sockets = new Set<Socket>()
  const useTls = options.tls ?? true
  const host = options.host ?? '127.0.0.1'

  const sign = (path: string, expires: number): string => createHmac('sha256', secret).update(`${path}\n${expires}`).digest('hex')

  function handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://x')
    const headers: Record<string, string | undefined> = {}
    for (const [k, v] of Object.entries(req.headers)) headers[k] = Array.isArray(v) ? v.join(', ') : v
    const decoded = safeDecode(url.pathname)
    const path = decoded ?? url.pathname
    const record: ServedRequest = { path, headers, status: 0, range: headers['range'] }
    requests.push(record)
    const reply = (status: number, body = ''): void => {
      record.status = status
      res.writeHead(status, { 'Content-Type': 'text/plain', 'Content-Length': Buffer.byteLength(body) })
      res.end(body)
    }
    // malformed percent-encoding: a 400 like any web server answers, not a crashed simulator
    if (decoded === undefined) return reply(400, 'malformed percent-encoding in the path')
    const name = path.replace(/^\/packages\//, '')
    const entry = entries.get(name)
    if (!entry || !path.startsWith('/packages/')) return reply(404, 'no such package')
    const { access } = entry
    const faults = faultsOf(name)
    if (faults.status !== undefined && (faults.statusTimes === undefined || faults.statusTimes > 0)) {
      record.fault = 'status'
      const status = faults.status
      if (faults.statusTimes !== undefined && --faults.statusTimes === 0) faults.status = undefined
      return reply(status, `injected fault: HTTP ${status}`)
    }
    if (access.token) {
      const auth = headers['authorization']
      if (auth === undefined) return reply(401, 'missing Authorization')
      const want = Buffer.from(`Bearer ${access.token}`)
      const got = Buffer.from(auth)
      if (want.length !== got.length || !timingSafeEqual(want, got)) return reply(401, 'bad token')
      if (access.tokenExpiresAt !== undefined && Date.now() > access.tokenExpiresAt) return reply(403, 'token expired')
    }
    if (access.presigned) {
      const expires = Number(url.searchParams.get('Expires'))
      const signature = url.searchParams.get('Signature') ?? ''
      // OBS signs the request; an extra Authorization or Content-Type changes what was signed.
      if (headers['authorization'] !== undefined || headers['content-type'] !== undefined) return reply(403, 'SignatureDoesNotMatch')
      if (signature !== sign(path, expires)) return reply(403, 'SignatureDoesNotMatch')
      if (Date.now() / 1000 > expires) return reply(403, 'Request has expired')
    }
    const size = Buffer.isBuffer(entry.data) ? entry.data.length : entry.data.size
    let start = 0
    let end = size - 1
    let status = 200
    const range = headers['range']
    if (range && faults.ignoreRange) record.fault = 'ignored-range'
    if (range && !faults.ignoreRange) {
      const m = /^bytes=(\d+)-(\d*)$/.exec(range)
      if (!m || Number(m[1]) >= size) {
        record.status = 416
        res.writeHead(416, { 'Content-Range': `bytes */${size}` })
        return void res.end()
      }
      start = Number(m[1])
      if (m[2]) end = Math.min(end, Number(m[2]))
      status = 206
    }
    record.status = status
    const resHeaders: Record<string, string | number> = { 'Content-Type': 'application/octet-stream', 'Accept-Ranges': 'bytes' }
    // without a length an HTTP/1.1 answer goes out chunked (RFC 9112 §7.1)
    if (!faults.noLength) resHeaders['Content-Length'] = end - start + 1
    if (status === 206) resHeaders['Content-Range'] = `bytes ${start}-${end}/${size}`
    res.writeHead(status, resHeaders)
    let dropAt: number | undefined
    if (faults.dropAfterBytes !== undefined && (faults.dropTimes === undefined || faults.dropTimes > 0)) {
      dropAt = faults.dropAfterBytes
      if (faults.dropTimes !== undefined) faults.dropTimes--
    }
    const stallAt = faults.stallAfterBytes
    if (stallAt !== undefined) faults.stallAfterBytes = undefined
    const limit = Math.min(dropAt ?? Infinity, stallAt ?? Infinity)
    if (limit < end - start + 1) record.fault = dropAt !== undefined && dropAt <= (stallAt ?? Infinity) ? 'drop' : 'stall'
    // Faulty delivery: send up to the limit, then cut or stall.
    const cut = (): void => {
      if (dropAt !== undefined && dropAt <= (stallAt ?? Infinity)) res.socket?.destroy()
      // stall: keep the socket open and silent until the client gives up
    }
    if (Buffer.isBuffer(entry.data)) {
      const buf = entry.data.subarray(start, end + 1)
      if (limit === Infinity && !faults.bytesPerSecond) {
        record.bytesSent = buf.length
        res.end(buf)
        return
      }
      void pump(res, buf, limit, faults.bytesPerSecond, record).then((reached) => {
        if (reached) setTimeout(cut, 20)
      })
      return
    }
    const body = createReadStream(entry.data.path, { start, end, highWaterMark: 256 * 1024 })
    if (limit === Infinity) {
      body.pipe(res)
      return
    }
    let sent = 0
    body.on('data', (chunk: string | Buffer) => {
      const c = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk)
      const take = Math.min(c.length, limit - sent)
      if (take > 0) res.write(c.subarray(0, take))
      sent += take
      if (sent >= limit) {
        body.destroy()
        setTimeout(cut, 20)
      }
    })
    body.on('end', () => res.end())
  }

  const server: Server = useTls ? createHttpsServer({ ...simTls() }, handle) : createHttpServer(handle)
  server.on('connection', (s: Socket) => {
    sockets.add(s)
    s.on('close', () => sockets.delete(s))
  })
  await new Promise<void>((resolve) => server.listen(0, host, resolve))
  const base = `${useTls ? 'https' : 'http'}://${host}:${(server.address() as AddressInfo).port}`

  return {
    url: base,
    faults,
    faultsFor(prefix) {
      let f = ownFaults.get(prefix)
      if (!f) ownFaults.set(prefix, (f = {}))
      return f
    },
    requests,
    addPackage(name, data, access = {}) {
      const path = `/packages/${name}`
      entries.set(name, { data, access })
      const encoded = `/packages/${name.split('/').map(encodeURIComponent).join('/')}`
      if (access.presigned) {
        const expires = Math.floor((access.presignExpiresAt ?? Date.now() + 86400_000) / 1000)
        return { url: `${base}${encoded}?AccessKeyId=SIMULATED&Expires=${expires}&Signature=${sign(path, expires)}` }
      }
      return { url: `${base}${encoded}`, token: access.token }
    },
    async close() {
      for (const s of sockets) s.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  }
}

function safeDecode(path: string): string | undefined {
  try {
    return decodeURIComponent(path)
  } catch {
    return undefined
  }
}

/**
 * Writes an in-memory body in 64 KiB slices, honouring backpressure and an optional pace, and stops
 * when the client goes away. Resolves true when it stopped at `limit` (the caller cuts or stalls).
 */
async function pump(res: ServerResponse, buf: Buffer, limit: number, bytesPerSecond: number | undefined, record: ServedRequest): Promise<boolean> {
  const t0 = Date.now()
  let sent = 0
  record.bytesSent = 0
  let gone = false
  res.once('close', () => (gone = true))
  const stop = Math.min(buf.length, limit)
  while (sent < stop) {
    if (gone || res.destroyed) return false
    const n = Math.min(64 * 1024, stop - sent)
    const more = res.write(buf.subarray(sent, sent + n))
    sent += n
    record.bytesSent = sent
    if (!more) await new Promise<void>((r) => (res.once('drain', r), res.once('close', r)))
    if (bytesPerSecond) {
      const due = t0 + (sent / bytesPerSecond) * 1000 - Date.now()
      if (due > 0) await new Promise((r) => setTimeout(r, due))
    }
  }
  if (stop < buf.length) return true
  if (!gone) res.end()
  return false
}
