import { contextBridge, ipcRenderer } from 'electron'
import { CHANNELS, type FlashlineApi } from './contract'

const api: FlashlineApi = {
  appInfo: () => ipcRenderer.invoke(CHANNELS.appInfo),
  listPorts: () => ipcRenderer.invoke(CHANNELS.listPorts),
  onEvent: (listener) => {
    const handler = (_e: unknown, event: unknown) => listener(event)
    ipcRenderer.on(CHANNELS.event, handler)
    return () => ipcRenderer.off(CHANNELS.event, handler)
  }
}

contextBridge.exposeInMainWorld('api', api)
