import { createContext, useCallback, useContext, useSyncExternalStore } from 'react'
import type { FlashlineApi, JobView } from '../../../preload/contract'
import { topic, type AppStore } from './store'

export interface AppContextValue {
  api: FlashlineApi
  store: AppStore
}

const AppContext = createContext<AppContextValue | null>(null)
export const AppProvider = AppContext.Provider

export function useApp(): AppContextValue {
  const ctx = useContext(AppContext)
  if (!ctx) throw new Error('useApp outside <AppProvider>')
  return ctx
}

export const useApi = (): FlashlineApi => useApp().api
export const useStore = (): AppStore => useApp().store

/** Reads `select(store)` and re-renders only when `key`'s topic is flushed. */
export function useTopic<T>(key: string, select: (store: AppStore) => T): T {
  const store = useStore()
  const subscribe = useCallback((cb: () => void) => store.subscribe(key, cb), [store, key])
  return useSyncExternalStore(subscribe, () => select(store))
}

export const useJob = (id: string | undefined): JobView | undefined => useTopic(id === undefined ? '' : topic.job(id), (s) => s.job(id))
export const useSlotJobId = (slotId: string): string | undefined => useTopic(topic.slotJob(slotId), (s) => s.jobIdOfSlot(slotId))
export const usePortJobId = (port: string): string | undefined => useTopic(topic.portJob(port), (s) => s.jobIdOfPort(port))
export const useJobs = (): JobView[] => useTopic(topic.jobs, (s) => s.jobList)
export const useSlots = () => useTopic(topic.slots, (s) => s.slots)
export const usePorts = () => useTopic(topic.ports, (s) => s.ports)
export const useConnections = () => useTopic(topic.connections, (s) => s.connections)
export const useBatch = () => useTopic(topic.batch, (s) => s.batch)
export const useSettings = () => useTopic(topic.settings, (s) => s.settings)
export const useInfo = () => useTopic(topic.info, (s) => s.info)
export const useProfiles = () => useTopic(topic.profiles, (s) => s.profiles)
export const usePackages = () => useTopic(topic.packages, (s) => s.packages)
export const useNotices = () => useTopic(topic.notices, (s) => s.notices)
export const useLocal = () => useTopic(topic.local, (s) => s.local)
export const useLink = () => useTopic(topic.link, (s) => s.link)
