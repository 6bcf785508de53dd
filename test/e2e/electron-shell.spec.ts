import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { _electron as electron, expect, test, type ElectronApplication, type Page } from '@playwright/test'
import { API_METHODS } from '../../preload/contract'

// The desktop app in real Electron: its security settings and every contract method over IPC.
// Needs the Electron binary (node_modules/electron/dist, downloaded by electron's install script) and
// the built app (npx electron-vite build). test/host-electron-shell.test.ts checks the same shell with
// stand-ins for Electron where the binary cannot be installed.

/** The binary electron's install script put in place, found without require('electron') (which would try to download it). */
function electronBinary(): string | null {
  try {
    const dir = dirname(createRequire(__filename).resolve('electron/package.json'))
    const name = existsSync(join(dir, 'path.txt')) ? readFileSync(join(dir, 'path.txt'), 'utf8').trim() : ''
    const path = process.env['ELECTRON_OVERRIDE_DIST_PATH'] ? join(process.env['ELECTRON_OVERRIDE_DIST_PATH'], name || 'electron') : name ? join(dir, 'dist', name) : ''
    return path && existsSync(path) ? path : null
  } catch {
    return null
  }
}

const binary = electronBinary()
const root = join(__dirname, '..', '..')

test.describe('the Electron shell', () => {
  test.skip(!binary, 'the Electron binary is not installed (node_modules/electron has no dist/): run `node node_modules/electron/install.js` where it can be downloaded')
  test.skip(!existsSync(join(root, 'out', 'main', 'index.js')), 'the app is not built: run `npx electron-vite build`')

  let app: ElectronApplication
  let page: Page
  let userData: string

  test.beforeAll(async () => {
    userData = mkdtempSync(join(tmpdir(), 'flashline-electron-'))
    app = await electron.launch({ executablePath: binary!, args: [join(root, 'out', 'main', 'index.js')], env: { ...process.env, FLASHLINE_USER_DATA: userData } })
    page = await app.firstWindow()
    await page.waitForLoadState('domcontentloaded')
  })

  test.afterAll(async () => {
    await app?.close()
    rmSync(userData, { recursive: true, force: true })
  })

  test('the window runs isolated and sandboxed, without Node, on the app:// page', async () => {
    // sandboxed, isolated and without Node integration: the page sees no Node, only the preload's api
    expect(page.url()).toBe('app://flashline/index.html')
    expect(await page.evaluate(() => typeof (globalThis as { require?: unknown }).require)).toBe('undefined')
    expect(await page.evaluate(() => typeof (globalThis as { process?: unknown }).process)).toBe('undefined')
    expect(await page.evaluate(() => typeof (window as unknown as { api?: { listPorts?: unknown } }).api?.listPorts)).toBe('function')
  })

  test('the CSP refuses inline scripts, and new windows are not opened', async () => {
    const ran = await page.evaluate(() => {
      const s = document.createElement('script')
      s.textContent = 'window.__injected = true'
      document.head.append(s)
      return (window as unknown as { __injected?: boolean }).__injected === true
    })
    expect(ran).toBe(false)
    expect(await page.evaluate(() => window.open('https://example.com/') === null)).toBe(true)
    expect(app.windows()).toHaveLength(1)
  })

  test('every contract method answers through window.api, checking its argument', async () => {
    const results = await page.evaluate(async (methods) => {
      const api = (window as unknown as { api: Record<string, (a: unknown) => Promise<{ ok: boolean; error?: { code: string } }>> }).api
      const out: Record<string, string | undefined> = {}
      for (const m of methods) out[m] = (await api[m]!({ bogusField: 1 })).error?.code
      return out
    }, [...API_METHODS])
    for (const m of API_METHODS) expect(results[m], m).toBe('bad-argument')
    expect(await page.evaluate(() => (window as unknown as { api: { appInfo(): Promise<unknown> } }).api.appInfo())).toMatchObject({ ok: true, value: { host: 'electron', demo: true } })
  })
})
