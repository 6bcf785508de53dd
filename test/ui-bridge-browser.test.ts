import { spawn, type ChildProcess } from 'node:child_process'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { build } from 'esbuild'
import { chromium, type Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { tempDir } from './harness/tmp'

// `flashline ui` in Debian's Chromium: the page and its assets load with the token from the address
// (then the cookie), the CSP lets the page reach its own socket and nothing else, and the bridge
// client (preload/bridge-client.ts, as the renderer bundles it) works with the browser's WebSocket.

const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium'
const BIN = join(__dirname, '..', 'bin', 'flashline.js')

let child: ChildProcess
let closed: Promise<number | null>
let url = ''
let browser: Browser
let tmp: ReturnType<typeof tempDir>
let bridgeScript = ''

beforeAll(async () => {
  tmp = tempDir('flashline-ui-browser-')
  child = spawn(process.execPath, [BIN, 'ui', '--demo', '--port', '0', '--data-dir', join(tmp.dir, 'data')], { stdio: ['ignore', 'pipe', 'pipe'] })
  closed = new Promise((r) => child.on('close', (code) => r(code)))
  url = await new Promise<string>((resolve, reject) => {
    let out = ''
    const timer = setTimeout(() => reject(new Error(`no address in 60 s: ${out}`)), 60_000)
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString()
      const m = /^Flashline UI: (\S+)\n/.exec(out)
      if (m) {
        clearTimeout(timer)
        resolve(m[1]!)
      }
    })
  })
  // the bridge client as a browser script: window.FlashlineBridge.connectBridge
  const bundled = await build({ entryPoints: [join(__dirname, '..', 'preload', 'bridge-client.ts')], bundle: true, format: 'iife', globalName: 'FlashlineBridge', write: false, platform: 'browser', target: 'chrome120' })
  bridgeScript = `${bundled.outputFiles[0]!.text};window.FlashlineBridge = FlashlineBridge;`
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'] })
}, 120_000)

afterAll(async () => {
  await browser?.close()
  if (child && child.exitCode === null) {
    child.kill('SIGINT')
    await closed
  }
  tmp?.cleanup()
})

describe('flashline ui in Chromium', () => {
  it('loads the page and its assets with the token, and the bridge client calls the host and gets its events over the page socket', async () => {
    const page = await browser.newPage()
    const failed: string[] = []
    page.on('response', (r) => {
      if (r.status() >= 400) failed.push(`${r.status()} ${r.url()}`)
    })
    await page.goto(url)
    await page.waitForLoadState('networkidle')
    expect(failed).toEqual([])
    expect(await page.locator('#root').count()).toBe(1)

    // run in the page's context (the page's CSP governs its connections); the cookie authenticates
    await page.evaluate(bridgeScript)
    const result = await page.evaluate(async () => {
      const { connectBridge } = (window as unknown as { FlashlineBridge: typeof import('../preload/bridge-client') }).FlashlineBridge
      const api = connectBridge(`ws://${location.host}/api`, '')
      const types: string[] = []
      api.onEvent((e) => types.push(e.type))
      const info = await api.appInfo()
      const ports = await api.listPorts()
      // the demo's platforms connect and order upgrades: their events come back over the socket
      const demo = await api.runDemo()
      const deadline = Date.now() + 20_000
      while (!types.includes('job') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50))
      return { info, ports, demo, types }
    })
    expect(result.info).toMatchObject({ ok: true, value: { host: 'browser', demo: true } })
    expect(result.demo).toEqual({ ok: true })
    expect(result.types).toEqual(expect.arrayContaining(['connection', 'job']))
    expect(result.ports.ok && result.ports.value.filter((p) => p.simulated).map((p) => p.path)).toEqual(expect.arrayContaining(['sim:ymodem', 'sim:demo-iotda']))
    await page.close()
  })

  it('keeps the page from reaching anything but its own socket (CSP connect-src)', async () => {
    const page = await browser.newPage()
    const violations: string[] = []
    page.on('console', (m) => {
      if (/Content Security Policy/.test(m.text())) violations.push(m.text())
    })
    await page.goto(url)
    const outcome = await page.evaluate(async () => {
      try {
        const ws = new WebSocket('ws://127.0.0.1:9/elsewhere')
        return await new Promise<string>((resolve) => {
          ws.onerror = () => resolve('error')
          ws.onopen = () => resolve('open')
        })
      } catch (e) {
        return `threw ${(e as Error).name}`
      }
    })
    expect(outcome).not.toBe('open')
    expect(violations.join('\n')).toMatch(/connect-src/)
    await page.close()
  })

  it('refuses the socket to a page of another origin, even one on this machine that the cookie reaches (4403)', async () => {
    // another local web server's page: same host, so the browser sends the ui's cookie (same site);
    // only the Origin check stands between it and the API
    const other = createServer((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/html' })
      res.end('<!doctype html><title>elsewhere</title>')
    })
    await new Promise<void>((r) => other.listen(0, '127.0.0.1', () => r()))
    const page = await browser.newPage()
    try {
      await page.goto(url) // the cookie is set
      await page.goto(`http://127.0.0.1:${(other.address() as AddressInfo).port}/`)
      const code = await page.evaluate(async (u) => {
        const ws = new WebSocket(u.replace(/^http/, 'ws').replace(/\/\?token=.*$/, '/api'))
        return await new Promise<number>((resolve) => {
          ws.onclose = (e) => resolve(e.code)
        })
      }, url)
      expect(code).toBe(4403)
    } finally {
      await page.close()
      other.close()
    }
  })
})
