import type { FlashlineApi } from '../../preload/contract'

declare global {
  interface Window {
    /** Set by the desktop app's preload; absent in a browser page served by `flashline ui`. */
    api?: FlashlineApi
  }
}

export type BridgeLoader = () => Promise<{ connectBridge(url: string, token: string): FlashlineApi }>

const loadBridge: BridgeLoader = () => import('../../preload/bridge-client')

/**
 * The engine's API: the preload's window.api in the desktop app; in a browser page served by
 * `flashline ui`, the loopback WebSocket bridge at /api with the page's ?token=. Null when neither.
 */
export async function resolveApi(win: Pick<Window, 'api' | 'location'> = window, load: BridgeLoader = loadBridge): Promise<FlashlineApi | null> {
  if (win.api) return win.api
  const token = new URLSearchParams(win.location.search).get('token')
  if (!token) return null
  const { connectBridge } = await load()
  const scheme = win.location.protocol === 'https:' ? 'wss' : 'ws'
  return connectBridge(`${scheme}://${win.location.host}/api`, token)
}
