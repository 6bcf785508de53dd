// Serial writes wait for tcdrain on libuv's thread pool (4 threads by default): 16 USB adapters would
// queue behind four. Set before anything uses the pool.
process.env['UV_THREADPOOL_SIZE'] ??= '64'
import { readFile } from 'node:fs/promises'
import { extname, join, normalize, resolve, sep } from 'node:path'
import { app, BrowserWindow, crashReporter, dialog, ipcMain, Notification, powerSaveBlocker, protocol, safeStorage, session, shell, type IpcMainInvokeEvent } from 'electron'
import { API_METHODS, channelOf, EVENT_CHANNEL, type AppEvent, type Result } from '../preload/contract'
import { Bench, useSimulators } from './engine'
import { CONTENT_TYPES, createHost, DemoController, logFileSink, nothingConfigured, RECORDS_DB_KEY, rendererCsp, SafeStorageSecretStore, SECURITY_HEADERS, type Host } from './host'

/**
 * The Electron shell, kept thin: it creates the engine (Bench) and the host, wires the host's API to
 * IPC (one handler per contract method, answering only the app's own page) and its events to the
 * window, and applies the desktop's duties: security settings, single instance, keeping the machine
 * awake while jobs run, taskbar progress, a notification when a batch ends, a log file.
 *
 * Where things are kept (userData is ~/.config/Flashline, %APPDATA%\Flashline, ~/Library/Application
 * Support/Flashline):
 *   <userData>/data            the engine's data dir: jobs, package cache, records, slots, profiles
 *   <userData>/settings.json   settings; the admin PIN as a scrypt hash only
 *   <userData>/secrets.json    secrets, each encrypted with safeStorage (the OS keychain)
 *   app.getPath('logs')        flashline.log (secrets masked) and Electron's crash dumps (never uploaded)
 */

/** The page is served from this origin by our own protocol handler, with the app's CSP as a header. */
const APP_ORIGIN = 'app://flashline'
const DEV_URL = process.env['ELECTRON_RENDERER_URL']
const RENDERER_DIR = resolve(join(__dirname, '../renderer'))

// FLASHLINE_USER_DATA: another profile folder (tests, a second station account on one machine)
if (process.env['FLASHLINE_USER_DATA']) app.setPath('userData', resolve(process.env['FLASHLINE_USER_DATA']))
crashReporter.start({ uploadToServer: false })
protocol.registerSchemesAsPrivileged([{ scheme: 'app', privileges: { standard: true, secure: true, supportFetchAPI: true, corsEnabled: true } }])

if (!app.requestSingleInstanceLock()) {
  // another Flashline owns the serial ports and the data dir: it comes to the front instead
  app.quit()
} else {
  app.on('second-instance', () => {
    const win = BrowserWindow.getAllWindows()[0]
    if (win) {
      if (win.isMinimized()) win.restore()
      win.focus()
    }
  })
  void app.whenReady().then(start)
}

let host: Host | undefined
let demo: DemoController | undefined
let mainWindow: BrowserWindow | null = null

/** Only our own page, in the top frame, may call the API. */
function fromOurPage(e: IpcMainInvokeEvent): boolean {
  const frame = e.senderFrame
  if (!frame || !mainWindow || e.sender !== mainWindow.webContents || frame !== mainWindow.webContents.mainFrame) return false
  const url = frame.url
  return DEV_URL ? url.startsWith(new URL(DEV_URL).origin + '/') : url.startsWith(APP_ORIGIN + '/')
}

async function start(): Promise<void> {
  const userData = app.getPath('userData')
  const dataDir = join(userData, 'data')
  const log = logFileSink(app.getPath('logs'))
  const secrets = new SafeStorageSecretStore(join(userData, 'secrets.json'), safeStorage)
  if (process.platform === 'linux' && safeStorage.getSelectedStorageBackend?.() === 'basic_text') {
    log({ time: new Date().toISOString(), level: 'warn', source: 'app', message: 'no keyring (Secret Service or KWallet) was found: saved secrets are only obscured, not encrypted with a key of yours' })
  }
  useSimulators()
  const newBench = (recordsDb: string | undefined) => new Bench({ dataDir, recordsDb, recordsDbSource: 'the app settings' })
  let bench: Bench
  try {
    bench = newBench(secrets.get(RECORDS_DB_KEY))
  } catch (e) {
    log({ time: new Date().toISOString(), level: 'error', source: 'app', message: `the records database setting cannot be used: ${(e as Error).message}` })
    bench = newBench(undefined)
  }
  // first launch, nothing configured: the app shows itself working on simulated platforms and boards
  if (nothingConfigured(dataDir)) {
    demo = new DemoController()
    await demo.start().catch((e) => {
      log({ time: new Date().toISOString(), level: 'warn', source: 'app', message: `demo mode could not start: ${(e as Error).message}` })
      demo = undefined
    })
  }
  host = createHost({
    bench,
    secrets,
    settingsFile: join(userData, 'settings.json'),
    demo,
    recreateBench: newBench,
    logSink: log,
    info: { version: app.getVersion(), host: 'electron', systemLocale: app.getLocale() },
    pickFile: async () => {
      const options: Electron.OpenDialogOptions = {
        title: 'Choose a firmware package',
        properties: ['openFile'],
        filters: [
          { name: 'Firmware', extensions: ['bin', 'hex', 'img', 'elf', 'json'] },
          { name: 'All files', extensions: ['*'] }
        ]
      }
      const r = mainWindow ? await dialog.showOpenDialog(mainWindow, options) : await dialog.showOpenDialog(options)
      return r.canceled ? null : (r.filePaths[0] ?? null)
    },
    notify: (e) => {
      if (e.kind === 'batch-ended' || !mainWindow?.isFocused()) {
        if (Notification.isSupported()) new Notification({ title: 'Flashline', body: e.text }).show()
      }
    }
  })

  secureSession()
  serveRenderer()
  for (const method of API_METHODS) {
    ipcMain.handle(channelOf(method), (e, args: unknown): Promise<Result<unknown>> | Result<unknown> => {
      if (!fromOurPage(e)) return { ok: false, error: { kind: 'forbidden', code: 'bad-sender', message: 'only the Flashline page may call the app' } }
      return host!.call(method, args)
    })
  }
  host.onEvent(onEvent)
  createWindow()
  app.on('activate', () => {
    if (BrowserWindow.getAllWindows().length === 0) createWindow()
  })
}

/** The renderer's files under app://flashline/, each with the CSP and security headers. */
function serveRenderer(): void {
  protocol.handle('app', async (req) => {
    const url = new URL(req.url)
    const path = decodeURIComponent(url.pathname === '/' ? '/index.html' : url.pathname)
    const file = resolve(join(RENDERER_DIR, normalize(path)))
    if (url.host !== 'flashline' || !file.startsWith(RENDERER_DIR + sep)) return new Response('not found', { status: 404 })
    try {
      const body = await readFile(file)
      return new Response(body, { headers: { ...SECURITY_HEADERS, 'Content-Security-Policy': rendererCsp(), 'Content-Type': CONTENT_TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream' } })
    } catch {
      return new Response('not found', { status: 404 })
    }
  })
}

function secureSession(): void {
  const s = session.defaultSession
  // no camera, microphone, notifications-from-the-page, geolocation, serial or USB for the page
  s.setPermissionRequestHandler((_wc, _permission, callback) => callback(false))
  s.setPermissionCheckHandler(() => false)
  s.setDevicePermissionHandler(() => false)
  if (DEV_URL) {
    // the dev server (electron-vite dev): its HMR needs its own inline preamble and socket
    const dev = new URL(DEV_URL)
    s.webRequest.onHeadersReceived({ urls: [`${dev.origin}/*`] }, (details, callback) => {
      callback({ responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [rendererCsp({ script: ["'unsafe-inline'"], connect: [`ws://${dev.host}`] })] } })
    })
  }
  app.on('web-contents-created', (_e, contents) => {
    contents.on('will-attach-webview', (ev) => ev.preventDefault())
    contents.on('will-navigate', (ev) => ev.preventDefault())
    contents.on('will-redirect', (ev) => ev.preventDefault())
    contents.setWindowOpenHandler(({ url }) => {
      // links leave the app for the system browser, and only to https sites
      if (url.startsWith('https://')) void shell.openExternal(url)
      return { action: 'deny' }
    })
  })
}

function createWindow(): void {
  const win = new BrowserWindow({
    width: 1280,
    height: 820,
    minWidth: 900,
    minHeight: 600,
    show: false,
    title: 'Flashline',
    webPreferences: {
      preload: join(__dirname, '../preload/index.js'),
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      spellcheck: false
    }
  })
  mainWindow = win
  win.once('ready-to-show', () => win.show())
  win.on('closed', () => {
    if (mainWindow === win) mainWindow = null
  })
  void win.loadURL(DEV_URL ?? `${APP_ORIGIN}/index.html`)
}

// ---- events to the window, and the desktop's duties while jobs run ----------------------------

const running = new Map<string, { done: number; total?: number }>()
let blocker: number | undefined

function onEvent(e: AppEvent): void {
  mainWindow?.webContents.send(EVENT_CHANNEL, e)
  if (e.type === 'job') {
    if (e.job.result) running.delete(e.job.id)
    else if (!running.has(e.job.id)) running.set(e.job.id, { done: 0 })
    keepAwake()
  } else if (e.type === 'progress' && running.has(e.jobId)) {
    running.set(e.jobId, { done: e.progress.done, total: e.progress.total })
  } else return
  showProgress()
}

/** No sleep while a board is being flashed: a suspended USB port ruins the job. */
function keepAwake(): void {
  if (running.size > 0 && blocker === undefined) blocker = powerSaveBlocker.start('prevent-app-suspension')
  if (running.size === 0 && blocker !== undefined) {
    powerSaveBlocker.stop(blocker)
    blocker = undefined
  }
}

/** Taskbar / dock progress: the bytes of every running job together; none when idle. */
function showProgress(): void {
  if (!mainWindow) return
  let done = 0
  let total = 0
  for (const j of running.values()) {
    if (!j.total) continue
    done += j.done
    total += j.total
  }
  if (running.size === 0) mainWindow.setProgressBar(-1)
  else if (total === 0) mainWindow.setProgressBar(2) // indeterminate
  else mainWindow.setProgressBar(Math.min(1, done / total))
}

let quitting = false
app.on('before-quit', (e) => {
  if (quitting || !host) return
  e.preventDefault()
  quitting = true
  // local jobs end as cancelled, connections stop (their jobs resume next start)
  void Promise.allSettled([host.close(), demo?.close()]).finally(() => app.quit())
})

app.on('window-all-closed', () => {
  if (process.platform !== 'darwin') app.quit()
})
