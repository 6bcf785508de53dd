import { spawn, type ChildProcess } from 'node:child_process'
import { request } from 'node:http'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { connectBridge, type BridgeSocket } from '../preload/bridge-client'
import type { AppEvent, FlashlineApi, JobView } from '../preload/contract'
import { makeFirmwareImage } from '../main/engine/sim/firmware-image'
import { runCli } from './harness/cli'
import { tempDir } from './harness/tmp'

const BIN = join(__dirname, '..', 'bin', 'flashline.js')

/** The real `flashline ui` process, its one line read, stopped with Ctrl-C (SIGINT) at the end. */
interface Ui {
  child: ChildProcess
  url: string
  port: number
  token: string
  stdout: () => string
  stderr: () => string
  closed: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
}

function startUi(args: string[]): Promise<Ui> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, 'ui', ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    const closed = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.on('close', (code, signal) => r({ code, signal })))
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`flashline ui printed no address in 60 s\nstdout: ${stdout}\nstderr: ${stderr}`))
    }, 60_000)
    void closed.then(({ code }) => {
      clearTimeout(timer)
      reject(new Error(`flashline ui ended (${code}) before printing its address\nstdout: ${stdout}\nstderr: ${stderr}`))
    })
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()))
    child.stdout!.on('data', (d: Buffer) => {
      stdout += d.toString()
      const nl = stdout.indexOf('\n')
      if (nl < 0) return
      clearTimeout(timer)
      const m = /^Flashline UI: (http:\/\/127\.0\.0\.1:(\d+)\/\?token=([A-Za-z0-9_-]{32}))$/.exec(stdout.slice(0, nl))
      if (!m) return reject(new Error(`unexpected first line: ${JSON.stringify(stdout.slice(0, nl))}`))
      resolve({ child, url: m[1]!, port: Number(m[2]), token: m[3]!, stdout: () => stdout, stderr: () => stderr, closed })
    })
  })
}

interface Reply {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: string
}

function get(port: number, path: string, headers: Record<string, string> = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers: { Host: `127.0.0.1:${port}`, ...headers } }, (res) => {
      let body = ''
      res.on('data', (d: Buffer) => (body += d.toString()))
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }))
    })
    req.on('error', reject)
    req.end()
  })
}

/** Opens a socket and resolves with how the server closed it (or 'open' once it is open and `stayOpen`). */
function closeOf(ws: WebSocket, timeoutMs = 15_000): Promise<{ code: number; reason: string }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the socket was not closed in ${timeoutMs} ms`)), timeoutMs)
    ws.on('close', (code, reason) => {
      clearTimeout(timer)
      resolve({ code, reason: reason.toString() })
    })
    ws.on('error', () => undefined)
  })
}

let ui: Ui
let tmp: ReturnType<typeof tempDir>
let origin: string
let cookie: string

beforeAll(async () => {
  tmp = tempDir('flashline-ui-')
  ui = await startUi(['--port', '0', '--data-dir', join(tmp.dir, 'data')])
  origin = `http://127.0.0.1:${ui.port}`
  cookie = `flashline_ui_${ui.port}=${ui.token}`
}, 90_000)

afterAll(async () => {
  if (ui && ui.child.exitCode === null) {
    ui.child.kill('SIGINT')
    await ui.closed
  }
  tmp?.cleanup()
})

describe('flashline ui: the page', () => {
  it('serves the page only with the token, sets the cookie the assets then need, and sends the strict CSP', async () => {
    expect((await get(ui.port, '/')).status).toBe(401)
    expect((await get(ui.port, '/?token=wrong')).status).toBe(401)
    const page = await get(ui.port, `/?token=${ui.token}`)
    expect(page.status).toBe(200)
    expect(page.body).toMatch(/<div id="root">/)
    const setCookie = String(page.headers['set-cookie'])
    expect(setCookie).toContain(`${cookie};`)
    expect(setCookie).toMatch(/HttpOnly/)
    expect(setCookie).toMatch(/SameSite=Strict/)
    const csp = String(page.headers['content-security-policy'])
    expect(csp).toMatch(/default-src 'none'/)
    expect(csp).toMatch(/script-src 'self'(;|$)/)
    expect(csp).toContain(`connect-src 'self' ws://127.0.0.1:${ui.port}`)
    expect(csp).toMatch(/frame-ancestors 'none'/)
    expect(page.headers['referrer-policy']).toBe('no-referrer')
    expect(page.headers['x-content-type-options']).toBe('nosniff')

    const asset = /src="\.?(\/assets\/[^"]+\.js)"/.exec(page.body)![1]!
    expect((await get(ui.port, asset)).status).toBe(401)
    const js = await get(ui.port, asset, { Cookie: cookie })
    expect(js.status).toBe(200)
    expect(js.headers['content-type']).toMatch(/^text\/javascript/)
    // a route of the one-page app is the page; nothing outside the renderer's folder is served
    expect((await get(ui.port, '/jobs', { Cookie: cookie })).body).toMatch(/<div id="root">/)
    expect((await get(ui.port, '/../../package.json', { Cookie: cookie })).status).toBe(404)
    expect((await get(ui.port, '/%2e%2e/%2e%2e/package.json', { Cookie: cookie })).status).toBe(404)
  })

  it('refuses a request that names another host (DNS rebinding)', async () => {
    expect((await get(ui.port, `/?token=${ui.token}`, { Host: `attacker.example:${ui.port}` })).status).toBe(403)
  })
})

describe('flashline ui: the socket', () => {
  it('refuses a missing token, a wrong token, a foreign Origin and another Host', async () => {
    const noToken = new WebSocket(`ws://127.0.0.1:${ui.port}/api`, { origin })
    noToken.on('open', () => noToken.send(JSON.stringify({ id: 1, method: 'listPorts' })))
    expect(await closeOf(noToken)).toMatchObject({ code: 4401 })

    const silent = new WebSocket(`ws://127.0.0.1:${ui.port}/api`, { origin })
    expect(await closeOf(silent)).toMatchObject({ code: 4401 })

    const wrong = new WebSocket(`ws://127.0.0.1:${ui.port}/api`, { origin })
    wrong.on('open', () => wrong.send(JSON.stringify({ auth: 'x'.repeat(32) })))
    expect(await closeOf(wrong)).toMatchObject({ code: 4401 })

    // a page of another site, even one that knows the token
    const foreign = new WebSocket(`ws://127.0.0.1:${ui.port}/api`, { origin: 'http://attacker.example', headers: { Cookie: cookie } })
    foreign.on('open', () => foreign.send(JSON.stringify({ auth: ui.token })))
    expect(await closeOf(foreign)).toMatchObject({ code: 4403 })
    const noOrigin = new WebSocket(`ws://127.0.0.1:${ui.port}/api`, { headers: { Cookie: cookie } })
    expect(await closeOf(noOrigin)).toMatchObject({ code: 4403 })

    const rebound = new WebSocket(`ws://127.0.0.1:${ui.port}/api`, { origin, headers: { Host: `attacker.example:${ui.port}`, Cookie: cookie } })
    const status = await new Promise<number>((resolve) => rebound.on('unexpected-response', (_req, res) => resolve(res.statusCode!)))
    expect(status).toBe(403)
  })

  it('takes the page cookie as the token', async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${ui.port}/api`, { origin, headers: { Cookie: cookie } })
    const reply = await new Promise<{ id: number; result: { ok: boolean; value?: unknown } }>((resolve, reject) => {
      ws.on('open', () => ws.send(JSON.stringify({ id: 7, method: 'getSettings' })))
      ws.on('message', (d) => {
        const m = JSON.parse(d.toString())
        if (m.id === 7) resolve(m)
      })
      ws.on('close', (code) => reject(new Error(`closed ${code}`)))
    })
    expect(reply.result).toMatchObject({ ok: true, value: { operatorMode: false, serialPattern: '' } })
    ws.close()
  })

  describe('through the bridge client', () => {
    let api: FlashlineApi
    const events: AppEvent[] = []

    beforeAll(() => {
      // the page's WebSocket sends its Origin; Node's needs it given
      class PageSocket extends WebSocket {
        constructor(url: string) {
          super(url, { origin })
        }
      }
      api = connectBridge(`ws://127.0.0.1:${ui.port}/api`, ui.token, { WebSocket: PageSocket as unknown as new (url: string) => BridgeSocket })
      api.onEvent((e) => events.push(e))
    })

    it('round-trips calls: listPorts, appInfo, and a bad field named in the usage error', async () => {
      const ports = await api.listPorts()
      expect(ports.ok).toBe(true)
      expect(await api.appInfo()).toMatchObject({ ok: true, value: { host: 'browser', demo: false } })
      const bad = await api.saveSlot({ settings: { port: 'sim:ymodem', protocol: 'ymodem', baud: -5 } })
      expect(bad).toMatchObject({ ok: false, error: { kind: 'usage', code: 'bad-argument', field: 'settings.baud' } })
      expect(await (api as unknown as Record<string, () => Promise<unknown>>)['noSuchMethod']!()).toMatchObject({ ok: false, error: { code: 'unknown-method' } })
      // the browser has no path import and no dialog
      expect(await api.pickPackageFile()).toMatchObject({ ok: false, error: { code: 'unsupported' } })
    })

    it('flashes a simulated board: the upload, then job events with progress until the job succeeds', async () => {
      const size = 24 * 1024
      const up = await api.uploadPackage({ name: 'bridge-1.4.0.bin', dataBase64: makeFirmwareImage({ version: '1.4.0', size, seed: 9 }).toString('base64') })
      if (!up.ok) throw new Error(up.error.message)
      const slot = await api.saveSlot({ id: 'bridge', label: 'Bridge test', settings: { port: 'sim:ymodem:bridge', protocol: 'ymodem', probe: { timeoutSeconds: 5 } } })
      expect(slot).toMatchObject({ ok: true, value: { id: 'bridge' } })
      const started = await api.flash({ slotId: 'bridge', sha256: up.value.sha256 })
      if (!started.ok) throw new Error(started.error.message)
      const jobId = started.value.jobId
      const deadline = Date.now() + 30_000
      const finished = () => events.find((e): e is Extract<AppEvent, { type: 'job' }> => e.type === 'job' && e.job.id === jobId && e.job.result !== undefined)
      while (!finished() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50))
      const final = finished()?.job as JobView
      expect(final).toMatchObject({ result: 'succeeded', slotId: 'bridge', package: { name: 'bridge-1.4.0.bin' } })
      const phases = events.filter((e) => e.type === 'job' && e.job.id === jobId).map((e) => (e as Extract<AppEvent, { type: 'job' }>).job.phase)
      expect(phases).toEqual(expect.arrayContaining(['received', 'flashing', 'succeeded']))
      const writes = events.filter((e) => e.type === 'progress' && e.jobId === jobId && e.progress.stage === 'write')
      expect(writes.length).toBeGreaterThan(0)
      expect(writes.every((e) => e.type === 'progress' && e.progress.total === size)).toBe(true)
      expect(events.some((e) => e.type === 'slots')).toBe(true)
    })
  })
})

describe('flashline ui: the command', () => {
  it('refuses to listen beyond loopback unless told, and every interface at all', async () => {
    const remote = await runCli(['ui', '--host', '192.0.2.10', '--data-dir', join(tmp.dir, 'd2')])
    expect(remote.code).toBe(2)
    expect(remote.stderr).toMatch(/not a loopback address.*--allow-remote/)
    expect(remote.stdout).toBe('')
    const all = await runCli(['ui', '--host', '0.0.0.0', '--allow-remote', '--data-dir', join(tmp.dir, 'd2')])
    expect(all.code).toBe(2)
    expect(all.stderr).toMatch(/every network/)
  })

  it('prints exactly one line and ends with 130 on Ctrl-C', async () => {
    ui.child.kill('SIGINT')
    const { code } = await ui.closed
    expect(code).toBe(130)
    expect(ui.stdout().split('\n')).toEqual([`Flashline UI: ${ui.url}`, ''])
  })
})
