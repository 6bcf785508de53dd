import { randomBytes, timingSafeEqual } from 'node:crypto'
import { readFileSync, statSync } from 'node:fs'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { extname, join, normalize, resolve, sep } from 'node:path'
import { WebSocketServer, type WebSocket } from 'ws'
import { API_METHODS, type ApiMethod, type AppEvent } from '../../preload/contract'
import { CONTENT_TYPES, rendererCsp, SECURITY_HEADERS } from './csp'
import type { Host } from './host'

/**
 * `flashline ui`'s server: the built renderer (out/renderer) and the WebSocket bridge at /api that
 * carries the host's API (preload/bridge-client.ts is the page's side).
 *
 * Security (a browser on the same machine is a shared place: any site it opens may try the port):
 * - every HTTP request needs the token: `?token=` on the page load, which also sets an HttpOnly,
 *   SameSite=Strict cookie (named by the port) that the page's asset loads and its socket carry;
 *   a missing or wrong token is answered 401;
 * - the Host header must be the bound address and port (a DNS-rebinding page names its own host): 403;
 * - the socket's Origin must be this server (cross-site WebSocket hijacking): closed with 4403;
 *   the token (cookie, or the first message {auth}) is required before any call: else closed with 4401;
 * - the page gets the same strict CSP as the desktop app, plus connect-src for this socket.
 */

export interface BridgeServerOptions {
  host: Host
  /** The built renderer: index.html and its assets. */
  rendererDir: string
  /** An address of this machine (loopback unless the user allowed otherwise). */
  bindHost: string
  /** 0 picks a free port. */
  port: number
  /** Default: 24 random bytes, base64url. */
  token?: string
}

export interface BridgeServer {
  url: string
  port: number
  token: string
  close(): Promise<void>
}

/** Largest message the socket takes: a 64 MiB package as base64 with its envelope. */
const MAX_MESSAGE = 96 * 1024 * 1024
/** A socket that has not authenticated by then is closed. */
const AUTH_TIMEOUT_MS = 5000
/** Above this much unsent data to a slow page, progress and log events are skipped (the next one replaces them). */
const SLOW_PAGE_BYTES = 4 * 1024 * 1024

const METHODS = new Set<string>(API_METHODS)

export async function startBridgeServer(o: BridgeServerOptions): Promise<BridgeServer> {
  const token = o.token ?? randomBytes(24).toString('base64url')
  const tokenBytes = Buffer.from(token)
  const rendererDir = resolve(o.rendererDir)
  let port = o.port
  const urlHost = o.bindHost.includes(':') ? `[${o.bindHost}]` : o.bindHost
  const authority = () => `${urlHost}:${port}`
  const cookieName = () => `flashline_ui_${port}`

  const tokenOk = (given: string | null | undefined): boolean => {
    if (!given) return false
    const b = Buffer.from(given)
    return b.length === tokenBytes.length && timingSafeEqual(b, tokenBytes)
  }
  const cookieToken = (req: IncomingMessage): string | undefined => {
    for (const part of (req.headers.cookie ?? '').split(';')) {
      const [k, ...v] = part.trim().split('=')
      if (k === cookieName()) return v.join('=')
    }
    return undefined
  }
  const hostOk = (req: IncomingMessage) => req.headers.host === authority()

  const headers = (extra: Record<string, string> = {}) => ({ ...SECURITY_HEADERS, 'Content-Security-Policy': rendererCsp({ connect: [`ws://${authority()}`] }), ...extra })
  const plain = (res: ServerResponse, status: number, text: string) => {
    res.writeHead(status, headers({ 'Content-Type': 'text/plain; charset=utf-8' }))
    res.end(text + '\n')
  }

  const server = createServer((req, res) => {
    if (!hostOk(req)) return plain(res, 403, 'unexpected Host header')
    if (req.method !== 'GET' && req.method !== 'HEAD') return plain(res, 405, 'only GET')
    const url = new URL(req.url ?? '/', `http://${authority()}`)
    const queryToken = url.searchParams.get('token')
    const extra: Record<string, string> = {}
    if (tokenOk(queryToken)) extra['Set-Cookie'] = `${cookieName()}=${token}; Path=/; HttpOnly; SameSite=Strict`
    else if (queryToken !== null || !tokenOk(cookieToken(req))) return plain(res, 401, 'open the address "flashline ui" printed (it holds the access token)')
    let path: string
    try {
      path = decodeURIComponent(url.pathname)
    } catch {
      return plain(res, 400, 'bad path')
    }
    let file = resolve(join(rendererDir, normalize(path)))
    if (file !== rendererDir && !file.startsWith(rendererDir + sep)) return plain(res, 404, 'not found')
    let st = statSafe(file)
    if (st?.isDirectory()) {
      file = join(file, 'index.html')
      st = statSafe(file)
    }
    // the app is one page: a path without a file extension is one of its routes
    if (!st && !extname(path)) {
      file = join(rendererDir, 'index.html')
      st = statSafe(file)
    }
    if (!st?.isFile()) return plain(res, 404, 'not found')
    const body = readFileSync(file)
    res.writeHead(200, headers({ ...extra, 'Content-Type': CONTENT_TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream', 'Content-Length': String(body.length) }))
    res.end(req.method === 'HEAD' ? undefined : body)
  })

  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_MESSAGE })
  const sockets = new Set<Socket>()
  server.on('connection', (s) => {
    sockets.add(s)
    s.on('close', () => sockets.delete(s))
  })

  server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    const refuse = (status: number, text: string) => {
      socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`)
    }
    if (!hostOk(req)) return refuse(403, 'Forbidden')
    if (new URL(req.url ?? '/', 'http://x').pathname !== '/api') return refuse(404, 'Not Found')
    wss.handleUpgrade(req, socket, head, (ws) => serve(ws, req))
  })

  function serve(ws: WebSocket, req: IncomingMessage): void {
    if (req.headers.origin !== `http://${authority()}`) return ws.close(4403, 'foreign origin')
    let authed = tokenOk(cookieToken(req))
    let unsubscribe: (() => void) | undefined
    const send = (data: unknown) => {
      if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(data))
    }
    const start = () => {
      unsubscribe = o.host.onEvent((event: AppEvent) => {
        if ((event.type === 'progress' || event.type === 'log') && ws.bufferedAmount > SLOW_PAGE_BYTES) return
        send({ event })
      })
    }
    const timer = setTimeout(() => {
      if (!authed) ws.close(4401, 'no token')
    }, AUTH_TIMEOUT_MS)
    if (authed) start()
    ws.on('close', () => {
      clearTimeout(timer)
      unsubscribe?.()
    })
    ws.on('message', (data, isBinary) => {
      let msg: { auth?: unknown; id?: unknown; method?: unknown; args?: unknown }
      try {
        if (isBinary) throw new Error('binary')
        msg = JSON.parse(data.toString())
        if (typeof msg !== 'object' || msg === null) throw new Error('not an object')
      } catch {
        return ws.close(1007, 'expected JSON text messages')
      }
      if (msg.auth !== undefined) {
        if (!tokenOk(typeof msg.auth === 'string' ? msg.auth : undefined)) return ws.close(4401, 'wrong token')
        if (!authed) {
          authed = true
          start()
        }
        return
      }
      if (!authed) return ws.close(4401, 'no token')
      if (typeof msg.id !== 'number' || !Number.isSafeInteger(msg.id) || typeof msg.method !== 'string') return ws.close(1008, 'expected {id, method, args}')
      const id = msg.id
      if (!METHODS.has(msg.method)) return send({ id, result: { ok: false, error: { kind: 'usage', code: 'unknown-method', message: `there is no method "${msg.method.slice(0, 64)}"` } } })
      void o.host.call(msg.method as ApiMethod, msg.args).then((result) => send({ id, result }))
    })
  }

  await new Promise<void>((resolvePromise, reject) => {
    server.once('error', reject)
    server.listen(o.port, o.bindHost, () => {
      server.off('error', reject)
      resolvePromise()
    })
  })
  port = (server.address() as AddressInfo).port

  return {
    url: `http://${authority()}/?token=${token}`,
    port,
    token,
    close: async () => {
      for (const c of wss.clients) c.close(1001, 'flashline ui is stopping')
      wss.close()
      const closed = new Promise<void>((r) => server.close(() => r()))
      for (const s of sockets) s.destroy()
      await closed
    }
  }
}

function statSafe(file: string) {
  try {
    return statSync(file)
  } catch {
    return undefined
  }
}
