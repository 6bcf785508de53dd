import type { ApiError, FlashlineApi } from '../../preload/contract'
import { topic, type AppStore } from './store/store'
import { loadAll } from './store/sync'

export interface LinkOptions {
  /** How often to ask the engine whether the line is still there (0: never; IPC cannot drop). */
  heartbeatMs?: number
  /** Wait between attempts to load everything again after the line dropped. */
  retryMs?: number
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

/**
 * Feeds the store from the engine and keeps it true across a dropped `flashline ui` socket: a call
 * answered 'bridge-closed' (or a failed heartbeat) marks the link lost and everything is loaded
 * again once the bridge has reconnected, since the events sent meanwhile are gone. 'unauthorized'
 * (no or wrong token) is final. Returns the api to use (the same calls, watched) and the unsubscribe.
 */
export function keepInSync(api: FlashlineApi, store: AppStore, options: LinkOptions = {}): { api: FlashlineApi; stop: () => void } {
  const { heartbeatMs = 0, retryMs = 2000 } = options
  let stopped = false
  let syncing = false
  const unsubscribe = api.onEvent((event) => store.apply(event))

  const lost = (error: ApiError): boolean => {
    if (error.code === 'unauthorized') store.setLink('refused', error.message)
    else if (error.code === 'bridge-closed') store.setLink('lost', error.message)
    else return false
    return true
  }
  const resync = async (): Promise<void> => {
    if (syncing) return
    syncing = true
    try {
      while (!stopped) {
        const error = await loadAll(api, store)
        if (!error || !lost(error)) {
          if (error) console.error('flashline: a first query failed:', error.code, error.message)
          store.setLink('ok')
          return
        }
        if (store.link === 'refused') return
        await sleep(retryMs)
      }
    } finally {
      syncing = false
    }
  }
  const watch = (error: ApiError): void => {
    if (store.link === 'ok' && lost(error)) void resync()
  }

  const watched = new Proxy(api, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown
      if (prop === 'onEvent' || typeof value !== 'function') return value
      return async (args?: unknown) => {
        const r = await (value as (a?: unknown) => Promise<{ ok: boolean; error?: ApiError }>)(args)
        if (!r.ok && r.error) watch(r.error)
        return r
      }
    }
  })
  // what operator mode kept from the page (profiles, connections) loads when it is left
  let operator = store.settings?.operatorMode ?? false
  const unwatchSettings = store.subscribe(topic.settings, () => {
    const now = store.settings?.operatorMode ?? false
    if (operator && !now && store.link === 'ok') void loadAll(api, store)
    operator = now
  })
  const beat =
    heartbeatMs > 0
      ? setInterval(() => {
          if (store.link !== 'ok') return
          void api.appInfo().then((r) => !r.ok && watch(r.error))
        }, heartbeatMs)
      : undefined
  void resync()
  return {
    api: watched,
    stop: () => {
      stopped = true
      if (beat) clearInterval(beat)
      unwatchSettings()
      unsubscribe()
    }
  }
}
