import { contextBridge, ipcRenderer } from 'electron'
import { API_METHODS, channelOf, EVENT_CHANNEL, type AppEvent, type FlashlineApi } from './contract'

// One named method per contract entry, each an invoke on its own channel; one event subscription.
const api = Object.fromEntries(API_METHODS.map((m) => [m, (args?: unknown) => ipcRenderer.invoke(channelOf(m), args)])) as unknown as FlashlineApi
api.onEvent = (listener: (event: AppEvent) => void) => {
  const handler = (_e: unknown, event: AppEvent) => listener(event)
  ipcRenderer.on(EVENT_CHANNEL, handler)
  return () => ipcRenderer.off(EVENT_CHANNEL, handler)
}

contextBridge.exposeInMainWorld('api', api)
