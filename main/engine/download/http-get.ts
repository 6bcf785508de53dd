import net from 'node:net'
import tls, { rootCertificates } from 'node:tls'
import { FlashlineError } from '../errors'

/**
 * One HTTP/1.1 GET for a package body, on a socket that decrypts into one reused buffer (`onread`).
 * Node's http client hands out a fresh 16 KiB Buffer per TLS record and runs the stream machinery
 * for each; measured here that costs about a third of the download thread, more than SHA-256 does.
 * Only what a package download needs: one request per connection (Connection: close), bodies
 * framed by Content-Length, chunked encoding, or the connection close.
 */
export interface GetRequest {
  url: URL
  headers: Record<string, string>
  /** PEM trust root added to the system roots; verification is always on. */
  ca?: string
  idleTimeoutMs: number
  signal?: AbortSignal
  /** Called when the connection idles for idleTimeoutMs; the returned error fails the request. */
  onIdle: () => Error
}

export interface BodyHandlers {
  /** A view valid only during the call: copy what you keep. Return false to pause the socket. */
  data(chunk: Uint8Array): boolean
  /** The body ended; `complete` is false when the connection closed before its framing said so. */
  end(complete: boolean): void
  error(e: Error): void
}

export interface GetResponse {
  statusCode: number
  statusMessage: string
  /** Lower-case names; repeated headers joined with ", ". */
  headers: Record<string, string>
  /** Starts delivering the body (bytes that came with the head first). Call once. */
  body(handlers: BodyHandlers): void
  resume(): void
  /** Drops the connection: for answers whose body we do not want. */
  discard(): void
}

const READ_BUFFER = 256 * 1024
const MAX_HEAD = 64 * 1024

const contexts = new Map<string, tls.SecureContext>()

/**
 * The system roots plus `ca`, built once per process: parsing the ~140 system roots again takes
 * ~30 ms, which callers overlap with other start-up work by asking early.
 */
export function trustContext(ca: string): tls.SecureContext {
  let context = contexts.get(ca)
  if (!context) {
    context = tls.createSecureContext({ ca: [...rootCertificates, ca] })
    contexts.set(ca, context)
  }
  return context
}

export function httpGet(req: GetRequest): Promise<GetResponse> {
  return new Promise((resolve, reject) => {
    const { url } = req
    for (const [name, value] of Object.entries(req.headers)) {
      // a value from a platform message must not be able to add header lines of its own
      if (/[\r\n\0]/.test(value)) return reject(new FlashlineError('download', 'bad-header', `the ${name} header for ${url.host} contains a line break or NUL; refusing to send it`))
    }
    const host = url.hostname.replace(/^\[|\]$/g, '')
    const port = Number(url.port) || (url.protocol === 'https:' ? 443 : 80)
    let head: Buffer | null = Buffer.alloc(0)
    let response: Response | null = null
    let failed = false
    const fail = (e: Error): void => {
      if (failed) return
      failed = true
      socket.destroy()
      if (response) response.fail(e)
      else reject(e)
    }
    const onread = {
      buffer: Buffer.allocUnsafe(READ_BUFFER),
      callback: (n: number, buf: Uint8Array): boolean => {
        const chunk = buf.subarray(0, n)
        if (response) return response.feed(chunk)
        head = Buffer.concat([head!, chunk])
        const end = head.indexOf('\r\n\r\n')
        if (end < 0) {
          if (head.length > MAX_HEAD) fail(new Error(`the server at ${url.host} sent no HTTP header end within ${MAX_HEAD} bytes`))
          return true
        }
        try {
          response = new Response(socket, head.subarray(0, end).toString('latin1'))
        } catch (e) {
          fail(e as Error)
          return false
        }
        const rest = Buffer.from(head.subarray(end + 4)) // the read buffer is reused: keep a copy
        head = null
        response.hold(rest)
        resolve(response)
        return true
      }
    }
    const socket: net.Socket =
      url.protocol === 'https:'
        ? tls.connect({
            host,
            port,
            ...(net.isIP(host) ? {} : { servername: host }),
            ...(req.ca ? { secureContext: trustContext(req.ca) } : {}),
            rejectUnauthorized: true,
            onread // documented for tls.connect since Node 15.1 (nodejs/node#35753); missing from @types/node
          } as tls.ConnectionOptions)
        : net.connect({ host, port, onread })
    socket.once(url.protocol === 'https:' ? 'secureConnect' : 'connect', () => {
      const lines = [`GET ${url.pathname}${url.search} HTTP/1.1`, `Host: ${url.host}`, 'Accept-Encoding: identity', 'Connection: close']
      for (const [k, v] of Object.entries(req.headers)) lines.push(`${k}: ${v}`)
      socket.write(lines.join('\r\n') + '\r\n\r\n')
    })
    socket.setTimeout(req.idleTimeoutMs, () => fail(req.onIdle()))
    socket.on('error', fail)
    socket.on('close', () => {
      if (response) response.closed()
      else fail(Object.assign(new Error(`the connection to ${url.host} closed before an HTTP answer`), { code: 'ECONNRESET' }))
    })
    if (req.signal) {
      const abort = (): void => fail(Object.assign(new Error('aborted'), { name: 'AbortError' }))
      if (req.signal.aborted) abort()
      else req.signal.addEventListener('abort', abort, { once: true })
      socket.on('close', () => req.signal!.removeEventListener('abort', abort))
    }
  })
}

class Response implements GetResponse {
  statusCode: number
  statusMessage: string
  headers: Record<string, string> = {}
  private handlers: BodyHandlers | null = null
  private held: Buffer[] = []
  private framing: Framing
  private ended = false
  /** How the connection ended before anyone asked for the body. */
  private early: { closed: true } | { error: Error } | null = null

  constructor(
    private readonly socket: net.Socket,
    text: string
  ) {
    const [status, ...lines] = text.split('\r\n')
    const m = /^HTTP\/1\.[01] (\d{3})(?: (.*))?$/.exec(status ?? '')
    if (!m) throw new Error(`not an HTTP/1.1 answer: "${(status ?? '').slice(0, 60)}"`)
    this.statusCode = Number(m[1])
    this.statusMessage = m[2] ?? ''
    for (const line of lines) {
      const i = line.indexOf(':')
      if (i <= 0) continue
      const name = line.slice(0, i).trim().toLowerCase()
      const value = line.slice(i + 1).trim()
      this.headers[name] = name in this.headers ? `${this.headers[name]}, ${value}` : value
    }
    const length = this.headers['content-length']
    if (/chunked/i.test(this.headers['transfer-encoding'] ?? '')) this.framing = new Chunked()
    else if (length !== undefined) {
      if (!/^\d+$/.test(length)) throw new Error(`the server sent an invalid Content-Length "${length}"`)
      this.framing = new Counted(Number(length))
    } else this.framing = new UntilClose()
  }

  hold(rest: Buffer): void {
    if (rest.length) this.held.push(rest)
  }

  body(handlers: BodyHandlers): void {
    this.handlers = handlers
    const held = this.held
    this.held = []
    let more = true
    for (const b of held) more = this.feed(b) && more
    if (this.framing.done) this.finish(true)
    else if (this.early && 'error' in this.early) this.fail(this.early.error)
    else if (this.early) this.closed()
    else if (more) this.socket.resume()
  }

  feed(chunk: Uint8Array): boolean {
    if (this.ended) return true
    if (!this.handlers) {
      this.held.push(Buffer.from(chunk))
      return false // hold no more than one read until someone asks for the body
    }
    let more = true
    try {
      this.framing.take(chunk, (data) => {
        if (data.length && !this.handlers!.data(data)) more = false
      })
    } catch (e) {
      this.fail(e as Error)
      return false
    }
    if (this.framing.done) this.finish(true)
    return more
  }

  resume(): void {
    this.socket.resume()
  }

  discard(): void {
    this.ended = true
    this.socket.destroy()
  }

  closed(): void {
    if (!this.handlers) this.early ??= { closed: true }
    else this.finish(this.framing instanceof UntilClose)
  }

  fail(e: Error): void {
    if (!this.handlers) {
      this.early = { error: e }
      this.socket.destroy()
      return
    }
    if (this.ended) return
    this.ended = true
    this.socket.destroy()
    this.handlers.error(e)
  }

  private finish(complete: boolean): void {
    if (this.ended) return
    this.ended = true
    this.socket.destroy()
    this.handlers!.end(complete)
  }
}

interface Framing {
  readonly done: boolean
  take(chunk: Uint8Array, out: (data: Uint8Array) => void): void
}

class Counted implements Framing {
  constructor(private left: number) {}
  get done(): boolean {
    return this.left === 0
  }
  take(chunk: Uint8Array, out: (data: Uint8Array) => void): void {
    const n = Math.min(chunk.length, this.left)
    this.left -= n
    out(chunk.subarray(0, n))
  }
}

class UntilClose implements Framing {
  readonly done = false
  take(chunk: Uint8Array, out: (data: Uint8Array) => void): void {
    out(chunk)
  }
}

/** Transfer-Encoding: chunked — hex size line (extensions ignored), data, CRLF; a 0 size ends it. */
class Chunked implements Framing {
  done = false
  private state: 'size' | 'data' | 'data-end' | 'trailer' = 'size'
  private line = ''
  private left = 0

  take(chunk: Uint8Array, out: (data: Uint8Array) => void): void {
    let i = 0
    while (i < chunk.length && !this.done) {
      if (this.state === 'data') {
        const n = Math.min(chunk.length - i, this.left)
        out(chunk.subarray(i, i + n))
        i += n
        this.left -= n
        if (this.left === 0) this.state = 'data-end'
        continue
      }
      const b = chunk[i++]!
      if (b !== 0x0a) {
        if (b !== 0x0d) this.line += String.fromCharCode(b)
        if (this.line.length > 1024) throw new Error('malformed chunked encoding: line too long')
        continue
      }
      const line = this.line
      this.line = ''
      if (this.state === 'data-end') {
        if (line !== '') throw new Error('malformed chunked encoding: data longer than its size')
        this.state = 'size'
      } else if (this.state === 'size') {
        const size = line.split(';')[0]!.trim()
        if (!/^[0-9a-fA-F]{1,12}$/.test(size)) throw new Error(`malformed chunked encoding: size "${size.slice(0, 20)}"`)
        this.left = parseInt(size, 16)
        this.state = this.left === 0 ? 'trailer' : 'data'
      } else if (line === '') this.done = true // end of trailers
    }
  }
}
