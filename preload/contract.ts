/**
 * The IPC contract between renderer and main: channel names and types only, importing nothing,
 * so both sides (and tests) share one definition.
 */
export const CHANNELS = {
  listPorts: 'ports:list',
  appInfo: 'app:info',
  event: 'app:event'
} as const

export interface PortInfo {
  path: string
  manufacturer?: string
  serialNumber?: string
  vendorId?: string
  productId?: string
  bridge?: string
}

export interface AppInfo {
  version: string
  platform: string
}

/** Every call across IPC answers with a typed result instead of throwing strings. */
export type Result<T> = { ok: true; value: T } | { ok: false; error: { kind: string; code: string; message: string } }

export interface FlashlineApi {
  appInfo(): Promise<Result<AppInfo>>
  listPorts(): Promise<Result<PortInfo[]>>
  onEvent(listener: (event: unknown) => void): () => void
}
