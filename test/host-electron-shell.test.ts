import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { API_METHODS, channelOf, EVENT_CHANNEL, type AppEvent, type Result } from '../preload/contract'
import { makeFirmwareImage } from '../main/engine/sim/firmware-image'

/**
 * The Electron shell (main/index.ts) with Electron's modules replaced by recording stand-ins: the
 * Electron binary cannot be installed here, so this checks what the shell asks of Electron (window
 * security settings, CSP, permission, navigation and new-window policies, the single-instance lock,
 * IPC answering only its own page, events to the window, power-save blocking, progress) and that every
 * contract method is registered and answers. test/e2e/electron-shell.spec.ts checks the same in real
 * Electron where its binary exists.
 */

const userData = mkdtempSync(join(tmpdir(), 'flashline-shell-'))

const rec = vi.hoisted(() => ({
  handlers: new Map<string, (e: unknown, args: unknown) => unknown>(),
  appHandlers: new Map<string, Array<(...a: unknown[]) => void>>(),
  windows: [] as Array<Record<string, unknown> & { options: { webPreferences: Record<string, unknown> }; sent: Array<[string, unknown]>; progress: number[]; loaded: string[]; contentsHandlers: Map<string, (...a: unknown[]) => void>; openHandler?: (d: { url: string }) => { action: string } }>,
  protocolHandler: undefined as undefined | ((req: Request) => Promise<Response>),
  privileged: [] as unknown[],
  permissionRequest: undefined as undefined | ((wc: unknown, p: string, cb: (ok: boolean) => void) => void),
  permissionCheck: undefined as undefined | (() => boolean),
  opened: [] as string[],
  blockers: { started: 0, stopped: 0 },
  crash: [] as unknown[],
  singleInstance: 0,
  notifications: [] as string[],
  ready: undefined as undefined | (() => void)
}))

vi.mock('electron', () => {
  class WebContents {
    mainFrame = { url: 'app://flashline/index.html' }
    constructor(private readonly win: (typeof rec.windows)[number]) {}
    send(channel: string, data: unknown) {
      this.win.sent.push([channel, data])
    }
    on(event: string, fn: (...a: unknown[]) => void) {
      this.win.contentsHandlers.set(event, fn)
    }
    setWindowOpenHandler(fn: (d: { url: string }) => { action: string }) {
      this.win.openHandler = fn
    }
  }
  class BrowserWindow {
    static all: BrowserWindow[] = []
    webContents: WebContents
    rec: (typeof rec.windows)[number]
    constructor(options: { webPreferences: Record<string, unknown> }) {
      this.rec = { options, sent: [], progress: [], loaded: [], contentsHandlers: new Map() }
      rec.windows.push(this.rec)
      this.webContents = new WebContents(this.rec)
      BrowserWindow.all.push(this)
      // every web contents the app creates goes through 'web-contents-created'
      for (const fn of rec.appHandlers.get('web-contents-created') ?? []) fn({}, this.webContents)
    }
    static getAllWindows() {
      return BrowserWindow.all
    }
    once() {}
    on() {}
    isFocused() {
      return false
    }
    isMinimized() {
      return false
    }
    loadURL(url: string) {
      this.rec.loaded.push(url)
      return Promise.resolve()
    }
    setProgressBar(p: number) {
      this.rec.progress.push(p)
    }
  }
  const app = {
    getPath: (name: string) => join(userData, name),
    setPath: () => undefined,
    getVersion: () => '9.9.9',
    getLocale: () => 'en-US',
    requestSingleInstanceLock: () => (rec.singleInstance++, true),
    on: (event: string, fn: (...a: unknown[]) => void) => rec.appHandlers.set(event, [...(rec.appHandlers.get(event) ?? []), fn]),
    whenReady: () => new Promise<void>((r) => (rec.ready = r)),
    quit: () => undefined
  }
  return {
    app,
    BrowserWindow,
    crashReporter: { start: (o: unknown) => rec.crash.push(o) },
    dialog: { showOpenDialog: async () => ({ canceled: true, filePaths: [] }) },
    ipcMain: { handle: (channel: string, fn: (e: unknown, args: unknown) => unknown) => rec.handlers.set(channel, fn) },
    Notification: class {
      static isSupported = () => true
      constructor(private readonly o: { body: string }) {}
      show() {
        rec.notifications.push(this.o.body)
      }
    },
    powerSaveBlocker: { start: () => ++rec.blockers.started, stop: () => rec.blockers.stopped++ },
    protocol: {
      registerSchemesAsPrivileged: (s: unknown[]) => rec.privileged.push(...s),
      handle: (_scheme: string, fn: (req: Request) => Promise<Response>) => (rec.protocolHandler = fn)
    },
    safeStorage: {
      isEncryptionAvailable: () => true,
      getSelectedStorageBackend: () => 'gnome_libsecret',
      encryptString: (s: string) => Buffer.from(s).reverse(),
      decryptString: (b: Buffer) => Buffer.from(b).reverse().toString()
    },
    session: {
      defaultSession: {
        setPermissionRequestHandler: (fn: typeof rec.permissionRequest) => (rec.permissionRequest = fn),
        setPermissionCheckHandler: (fn: typeof rec.permissionCheck) => (rec.permissionCheck = fn),
        setDevicePermissionHandler: () => undefined,
        webRequest: { onHeadersReceived: () => undefined }
      }
    },
    shell: { openExternal: async (url: string) => void rec.opened.push(url) }
  }
})

type Win = (typeof rec.windows)[number] & { webContents?: unknown }
let win: Win
let contents: { mainFrame: { url: string } }

const fromPage = () => ({ sender: contents, senderFrame: contents.mainFrame })
async function call<T = unknown>(method: string, args?: unknown, event: unknown = fromPage()): Promise<Result<T>> {
  return (await rec.handlers.get(channelOf(method as never))!(event, args)) as Result<T>
}

beforeAll(async () => {
  await import('../main/index')
  rec.ready!()
  // start() runs after whenReady: wait for the window
  const deadline = Date.now() + 30_000
  while (rec.windows.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20))
  win = rec.windows[0]!
  const { BrowserWindow } = (await import('electron')) as unknown as { BrowserWindow: { getAllWindows(): Array<{ webContents: { mainFrame: { url: string } } }> } }
  contents = BrowserWindow.getAllWindows()[0]!.webContents
}, 60_000)

afterAll(async () => {
  // quitting closes the host (and the demo's simulated platforms)
  const ev = { preventDefault: () => undefined }
  for (const fn of rec.appHandlers.get('before-quit') ?? []) fn(ev)
  await new Promise((r) => setTimeout(r, 500))
  rmSync(userData, { recursive: true, force: true })
})

describe('the Electron shell', () => {
  it('asks for the single-instance lock, starts the crash reporter without upload, and registers the app:// scheme', () => {
    expect(rec.singleInstance).toBe(1)
    expect(rec.crash).toEqual([{ uploadToServer: false }])
    expect(rec.privileged).toEqual([{ scheme: 'app', privileges: expect.objectContaining({ standard: true, secure: true }) }])
  })

  it('opens one window with the secure web preferences, on the app:// page', () => {
    expect(win.options.webPreferences).toMatchObject({ contextIsolation: true, sandbox: true, nodeIntegration: false, webSecurity: true, webviewTag: false, allowRunningInsecureContent: false })
    expect(String(win.options.webPreferences['preload'])).toMatch(/preload[/\\]index\.js$/)
    expect(win.loaded).toEqual(['app://flashline/index.html'])
  })

  it('serves the page with the strict CSP and nothing outside the renderer folder', async () => {
    const page = await rec.protocolHandler!(new Request('app://flashline/index.html'))
    expect(page.status).toBe(200)
    expect(page.headers.get('content-security-policy')).toMatch(/default-src 'none'; script-src 'self';.*connect-src 'self';.*frame-ancestors 'none'/)
    expect(page.headers.get('x-content-type-options')).toBe('nosniff')
    expect(await page.text()).toMatch(/<div id="root">/)
    expect((await rec.protocolHandler!(new Request('app://flashline/%2e%2e/package.json'))).status).toBe(404)
    expect((await rec.protocolHandler!(new Request('app://elsewhere/index.html'))).status).toBe(404)
  })

  it('denies permissions, blocks navigation and new windows, and opens only https links outside', () => {
    let granted: boolean | undefined
    rec.permissionRequest!({}, 'media', (ok) => (granted = ok))
    expect(granted).toBe(false)
    expect(rec.permissionCheck!()).toBe(false)
    let prevented = 0
    win.contentsHandlers.get('will-navigate')!({ preventDefault: () => prevented++ }, 'https://example.com')
    win.contentsHandlers.get('will-attach-webview')!({ preventDefault: () => prevented++ })
    expect(prevented).toBe(2)
    expect(win.openHandler!({ url: 'https://example.com/docs' })).toEqual({ action: 'deny' })
    expect(win.openHandler!({ url: 'http://example.com/' })).toEqual({ action: 'deny' })
    expect(win.openHandler!({ url: 'file:///etc/passwd' })).toEqual({ action: 'deny' })
    expect(rec.opened).toEqual(['https://example.com/docs'])
  })

  it('registers every contract method, each answering our page and refusing any other sender', async () => {
    expect([...rec.handlers.keys()].sort()).toEqual(API_METHODS.map((m) => channelOf(m)).sort())
    for (const m of API_METHODS) {
      const r = await call(m, { bogusField: 1 })
      expect(r, m).toMatchObject({ ok: false, error: { kind: 'usage', code: 'bad-argument' } })
      const other = await call(m, undefined, { sender: contents, senderFrame: { url: 'https://attacker.example/' } })
      expect(other, m).toMatchObject({ ok: false, error: { kind: 'forbidden', code: 'bad-sender' } })
    }
    // a frame of our page that is not its top frame
    expect(await call('listPorts', undefined, { sender: contents, senderFrame: { url: 'app://flashline/index.html' } })).toMatchObject({ ok: false, error: { code: 'bad-sender' } })
    expect(await call('appInfo')).toMatchObject({ ok: true, value: { version: '9.9.9', host: 'electron', systemLocale: 'en-US', dataDir: join(userData, 'userData', 'data') } })
  })

  it('starts in demo mode on the first launch, with simulated ports', async () => {
    expect(await call('appInfo')).toMatchObject({ ok: true, value: { demo: true } })
    const ports = await call<Array<{ path: string; simulated?: boolean }>>('listPorts')
    expect(ports.ok && ports.value.some((p) => p.simulated && p.path === 'sim:demo-iotda')).toBe(true)
  })

  it('sends events to the window, keeps the machine awake while a job runs and shows its progress', async () => {
    const size = 16 * 1024
    const up = await call<{ sha256: string }>('uploadPackage', { name: 'shell.bin', dataBase64: makeFirmwareImage({ version: '2.2.0', size, seed: 5 }).toString('base64') })
    if (!up.ok) throw new Error(up.error.message)
    expect(await call('saveSlot', { id: 'shell', settings: { port: 'sim:ymodem:shell', protocol: 'ymodem' } })).toMatchObject({ ok: true })
    const started = await call<{ jobId: string }>('flash', { slotId: 'shell', sha256: up.value.sha256 })
    if (!started.ok) throw new Error(started.error.message)
    const events = () => win.sent.filter(([c]) => c === EVENT_CHANNEL).map(([, e]) => e as AppEvent)
    const deadline = Date.now() + 30_000
    while (!events().some((e) => e.type === 'job' && e.job.id === started.value.jobId && e.job.result) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50))
    expect(events().find((e) => e.type === 'job' && e.job.id === started.value.jobId && e.job.result)).toMatchObject({ job: { result: 'succeeded' } })
    expect(events().some((e) => e.type === 'progress' && e.jobId === started.value.jobId)).toBe(true)
    expect(rec.blockers.started).toBeGreaterThan(0)
    expect(rec.blockers.stopped).toBe(rec.blockers.started)
    expect(win.progress.some((p) => p > 0 && p <= 1)).toBe(true)
    expect(win.progress.at(-1)).toBe(-1)
  })
})
