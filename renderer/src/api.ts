import type { FlashlineApi } from '../../preload/contract'

declare global {
  interface Window {
    /** Set by the desktop app's preload; absent in a browser page served by `flashline ui`. */
    api?: FlashlineApi
  }
}

export type BridgeLoader = () => Promise<{ connectBridge(url: string, token: string): FlashlineApi }>

const loadBridge: BridgeLoader = () => import('../../preload/bridge-client')

export interface ResolvedApi {
  api: FlashlineApi
  /** Over `flashline ui`'s WebSocket (which can drop), not the desktop app's IPC. */
  bridge: boolean
}

/**
 * The engine's API: the preload's window.api in the desktop app; in a browser page served by
 * `flashline ui`, the loopback WebSocket bridge at /api with the page's ?token= (after a reload
 * without it, the cookie the first load set stands in). Null when the page is no served page at all.
 */
export async function resolveApi(win: Pick<Window, 'api' | 'location'> = window, load: BridgeLoader = loadBridge): Promise<ResolvedApi | null> {
  if (win.api) return { api: win.api, bridge: false }
  const { protocol, host, search } = win.location
  if (protocol !== 'http:' && protocol !== 'https:') return null
  const token = new URLSearchParams(search).get('token') ?? ''
  const { connectBridge } = await load()
  return { api: connectBridge(`${protocol === 'https:' ? 'wss' : 'ws'}://${host}/api`, token), bridge: true }
}
