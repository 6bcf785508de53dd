import { join } from 'node:path'
import { app, BrowserWindow, ipcMain, session, shell } from 'electron'
import { channelOf, type AppInfo, type PortInfo, type Result } from '../preload/contract'
import { listPorts } from './engine/ports'
import { asFlashlineError } from './engine/errors'

async function result<T>(fn: () => Promise<T>): Promise<Result<T>> {
  try {
    return { ok: true, value: await fn() }
  } catch (e) {
    const err = asFlashlineError(e)
    return { ok: false, error: { kind: err.kind, code: err.code, message: err.message } }
  }
}

function registerIpc(): void {
  ipcMain.handle(channelOf('appInfo'), (): Promise<Result<AppInfo>> => result(async () => ({ version: app.getVersion(), platform: process.platform, dataDir: '', demo: false, systemLocale: app.getLocale(), host: 'electron' })))
  ipcMain.handle(channelOf('listPorts'), (): Promise<Result<PortInfo[]>> => result(() => listPorts()))
}

function createWindow(): void {
  const win = new BrowserWindow({
    width: 1200,
    height: 800,
    show: false,
    webPreferences: {
      preload: join(__dirname, '../preload/index.js'),
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      webSecurity: true
    }
  })
  win.once('ready-to-show', () => win.show())
  // Never open new windows or navigate away inside the app; links go to the system browser.
  win.webContents.setWindowOpenHandler(({ url }) => {
    if (url.startsWith('https://')) void shell.openExternal(url)
    return { action: 'deny' }
  })
  win.webContents.on('will-navigate', (e) => e.preventDefault())
  if (process.env['ELECTRON_RENDERER_URL']) void win.loadURL(process.env['ELECTRON_RENDERER_URL'])
  else void win.loadFile(join(__dirname, '../renderer/index.html'))
}

void app.whenReady().then(() => {
  session.defaultSession.setPermissionRequestHandler((_wc, _perm, cb) => cb(false))
  registerIpc()
  createWindow()
  app.on('activate', () => {
    if (BrowserWindow.getAllWindows().length === 0) createWindow()
  })
})

app.on('window-all-closed', () => {
  if (process.platform !== 'darwin') app.quit()
})
