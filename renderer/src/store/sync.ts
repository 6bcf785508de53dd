import type { ApiError, FlashlineApi, Result } from '../../../preload/contract'
import type { AppStore } from './store'

/**
 * Connects the store to the engine: the event stream first (so nothing that happens while the
 * first answers are on their way is lost), then one query per view. Returns the unsubscribe and the
 * first error met, if any.
 */
export async function startSync(api: FlashlineApi, store: AppStore): Promise<{ stop: () => void; error?: ApiError }> {
  const stop = api.onEvent((event) => store.apply(event))
  return { stop, error: await loadAll(api, store) }
}

/** One query per view into the store; the first error met, if any. */
export async function loadAll(api: FlashlineApi, store: AppStore): Promise<ApiError | undefined> {
  const errors: ApiError[] = []
  const take = <T>(r: Result<T>, use: (v: T) => void): void => {
    if (r.ok) use(r.value)
    // operator mode keeps profiles and connections from the page; they load when it is left
    else if (r.error.code !== 'operator-mode') errors.push(r.error)
  }
  const [info, settings, slots, ports, connections, jobs, batch] = await Promise.all([
    api.appInfo(),
    api.getSettings(),
    api.listSlots(),
    api.listPorts(),
    api.listConnections(),
    api.listJobs({ limit: 200 }),
    api.currentBatch()
  ])
  take(info, (v) => store.setInfo(v))
  take(settings, (v) => store.setSettings(v))
  take(slots, (v) => store.setSlots(v))
  take(ports, (v) => store.setPorts(v))
  take(connections, (v) => store.setConnections(v))
  take(jobs, (v) => v.forEach((j) => store.putJob(j)))
  take(batch, (v) => store.setBatch(v))
  const more = await Promise.all([refreshProfiles(api, store), refreshPackages(api, store)])
  return errors[0] ?? more.find((e) => e !== undefined && e.code !== 'operator-mode')
}

export async function refreshProfiles(api: FlashlineApi, store: AppStore): Promise<ApiError | undefined> {
  const r = await api.listProfiles()
  if (!r.ok) return r.error
  store.setProfiles(r.value)
}

export async function refreshPackages(api: FlashlineApi, store: AppStore): Promise<ApiError | undefined> {
  const r = await api.listPackages()
  if (!r.ok) return r.error
  store.setPackages(r.value)
}

export async function refreshPorts(api: FlashlineApi, store: AppStore): Promise<ApiError | undefined> {
  const r = await api.listPorts()
  if (!r.ok) return r.error
  store.setPorts(r.value)
}
