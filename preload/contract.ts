/**
 * The contract between the renderer and the engine's host (the Electron main process, or `flashline
 * ui`'s loopback bridge): method names, channel names and the types that cross, importing nothing,
 * so the renderer, the preload, main, the bridge and the tests share one definition.
 *
 * Every call answers with a Result (never a thrown string); every event arrives on one stream.
 */

// ---- results -------------------------------------------------------------------------------

export interface ApiError {
  /** usage | download | integrity | device | platform | interrupted | internal | forbidden */
  kind: string
  /** A stable machine-readable reason (the UI translates it into a hint). */
  code: string
  /** What went wrong, in English, naming the field when an argument was bad. */
  message: string
  /** The argument field a usage error is about (e.g. "settings.baud"). */
  field?: string
}

export type Result<T> = { ok: true; value: T } | { ok: false; error: ApiError }

// ---- views ---------------------------------------------------------------------------------

export type ProtocolName = 'ymodem' | 'stm32' | 'esp' | 'mcuboot'
export type PlatformName = 'iotda' | 'fogcloud' | 'wudun'
export type JobPhase = 'received' | 'downloading' | 'checking' | 'verified' | 'flashing' | 'proving' | 'reporting' | 'succeeded' | 'failed' | 'cancelled'
export type JobResult = 'succeeded' | 'failed' | 'cancelled'
export type Language = 'en' | 'zh-CN'

export interface AppInfo {
  version: string
  platform: string
  /** Where jobs, the cache and records are kept. */
  dataDir: string
  /** The host runs the embedded simulated platforms and boards (first launch, `flashline ui --demo`). */
  demo: boolean
  /** The OS locale, for the language setting "system". */
  systemLocale: string
  /** 'electron' (files can be picked by dialog) or 'browser' (`flashline ui`: files are uploaded). */
  host: 'electron' | 'browser'
}

export interface PortInfo {
  path: string
  manufacturer?: string
  serialNumber?: string
  vendorId?: string
  productId?: string
  /** Friendly name of a known USB-serial bridge (CH340, CP210x, FTDI, CDC-ACM …). */
  bridge?: string
  location?: string
  /** A built-in simulated board (demo mode). */
  simulated?: boolean
}

/** How a slot reaches and flashes its board: the station file's device fields without id and currentVersion. */
export interface SlotSettings {
  port: string
  protocol: ProtocolName
  baud?: number
  parity?: 'none' | 'even' | 'odd'
  menuCommand?: string
  address?: number | string
  entry?: string
  verify?: 'auto' | 'readback' | 'crc' | 'none'
  unprotect?: boolean
  protect?: boolean
  image?: number
  mtu?: number
  probe?: { pattern?: string; baud?: number; timeoutSeconds?: number }
}

export interface SlotView {
  id: string
  label: string
  settings: SlotSettings
  /** The job on the slot now, if any. */
  jobId?: string
}

export interface ProgressView {
  stage: 'download' | 'connect' | 'erase' | 'write' | 'verify' | 'reset'
  done: number
  total?: number
  bytesPerSec: number
}

export interface JobView {
  id: string
  origin: 'platform' | 'local' | 'batch'
  phase: JobPhase
  result?: JobResult
  slotId?: string
  connectionId?: string
  deviceId?: string
  port?: string
  protocol?: ProtocolName
  orderId?: string
  targetVersion?: string
  startVersion: string
  version?: string
  probedVersion?: string
  package?: { name?: string; sha256?: string; size?: number }
  /** The unit: chip and its own id (STM32 UID, ESP MAC), or the USB adapter's serial. */
  chip?: string
  chipId?: string
  serialNumber?: string
  duplicate?: boolean
  reason?: string
  message?: string
  error?: { kind: string; code: string }
  verified?: 'device' | 'none'
  unverified?: boolean
  retries?: number
  createdAt: number
  updatedAt: number
  history: Array<{ phase: JobPhase; at: number }>
  progress?: ProgressView
}

/** A saved platform profile: everything but secrets, which main keeps (safeStorage) and reports as set / not set. */
export interface ProfileInput {
  id?: string
  name: string
  platform: PlatformName
  broker: string
  /** PEM text of an extra trusted CA. */
  ca?: string
  allowHttp?: boolean
  allowUnverified?: boolean
  username?: string
  iotda?: { deviceId: string; checkTimestamp?: boolean }
  fogcloud?: { productKey: string; deviceName: string; module?: string }
  wudun?: { deviceUid: string; topicPrefix?: string; source?: string }
  /** The platform's devices on the bench: the profile's own device first, then gateway children. */
  devices: Array<{ id: string; slotId: string; currentVersion: string }>
}

export interface ProfileSecrets {
  /** IoTDA device secret. */
  secret?: string
  /** FogCloud device secret. */
  deviceSecret?: string
  /** Broker password (private brokers). */
  password?: string
  /** IoTDA X.509 client certificate and key (PEM). */
  cert?: string
  key?: string
}

export interface ProfileView extends ProfileInput {
  id: string
  /** Which secrets are stored (never their values). */
  secretsSet: { secret: boolean; deviceSecret: boolean; password: boolean; cert: boolean; key: boolean }
  /** The connection made from this profile, if connected. */
  connectionId?: string
}

export interface ConnectionView {
  id: string
  profileId?: string
  platform: PlatformName
  identity: string
  /** Without user info. */
  broker: string
  status: 'connecting' | 'online' | 'offline' | 'stopped' | 'failed'
  error?: string
  outbox: number
  activeJobs: number
  devices: Array<{ deviceId: string; port: string; protocol: ProtocolName; version?: string }>
}

export interface PackageView {
  sha256: string
  size: number
  name?: string
  md5?: string
}

export interface UnitView {
  port: string
  slotId?: string
  jobId: string
  attempt: number
  state: 'running' | 'retrying' | 'succeeded' | 'failed' | 'cancelled'
  chipId?: string
  duplicate?: boolean
  reason?: string
  message?: string
}

export interface BatchView {
  id: string
  state: 'running' | 'stopping' | 'ended'
  passed: number
  failed: number
  cancelled: number
  /** passed / (passed + failed), 0..1. */
  yield: number
  unitsPerHour: number
  startedAt: string
  units: UnitView[]
}

export interface BatchRequest {
  /** Fixed slots (their ports), or station mode with an allow-list. */
  slotIds?: string[]
  watch?: { match: Array<{ vendorId: string; productId: string }>; count?: number; slot: SlotSettings }
  /** A package in the cache. */
  sha256: string
  retries?: number
  concurrency?: number
  /** Scanned before the run: the unit's serial number (validated against the settings' pattern). */
  serialNumber?: string
}

export interface FlashRequestView {
  slotId?: string
  /** One-off settings (the Recover flow) instead of a saved slot. */
  slot?: SlotSettings
  sha256: string
  serialNumber?: string
}

export interface DetectResult {
  protocol: ProtocolName
  /** Which bootloader answered and on which chip, as far as it says. */
  chip?: string
  chipId?: string
  details?: Record<string, unknown>
}

export interface RecordFilter {
  since?: string
  until?: string
  result?: JobResult
  origin?: 'platform' | 'local' | 'batch'
  chipId?: string
  serialNumber?: string
}

/** One flash record (the columns of the CSV export). */
export type RecordView = Record<string, string | number | boolean | null>

export interface Settings {
  /** 'system' follows the OS locale. */
  language: Language | 'system'
  /** Operator mode: only start, scan, retry and cancel; settings hidden until the admin PIN is given. */
  operatorMode: boolean
  adminPinSet: boolean
  /** Regular expression a scanned serial number must match (empty: anything non-empty). */
  serialPattern: string
  station?: string
  operator?: string
  recordsDb?: { set: boolean }
}

export interface SettingsPatch {
  language?: Language | 'system'
  serialPattern?: string
  station?: string
  operator?: string
  /** Turning operator mode on needs no PIN; turning it off goes through unlockOperatorMode. */
  operatorMode?: true
  /** PostgreSQL URL for records (kept like a secret); null removes it. */
  recordsDb?: string | null
}

export interface LogLineView {
  time: string
  level: 'debug' | 'info' | 'warn' | 'error'
  source: string
  jobId?: string
  slotId?: string
  connectionId?: string
  message: string
}

// ---- events --------------------------------------------------------------------------------

export type AppEvent =
  | { type: 'job'; job: JobView }
  | { type: 'progress'; jobId: string; slotId?: string; progress: ProgressView }
  | { type: 'log'; line: LogLineView }
  | { type: 'connection'; connection: ConnectionView }
  | { type: 'batch'; batch: BatchView }
  | { type: 'ports'; ports: PortInfo[] }
  | { type: 'slots'; slots: SlotView[] }
  | { type: 'settings'; settings: Settings }
  /** A job or batch ended while the window was not focused (the shell notifies; the page may show a toast). */
  | { type: 'notice'; kind: 'batch-ended' | 'job-failed'; text: string }

// ---- the API ---------------------------------------------------------------------------------

/** Every method the renderer can call: name → [argument, result]. */
export interface ApiMethods {
  appInfo: [void, AppInfo]
  listPorts: [void, PortInfo[]]

  getSettings: [void, Settings]
  updateSettings: [SettingsPatch, Settings]
  setAdminPin: [{ pin: string; currentPin?: string }, Settings]
  /** Leaves operator mode with the admin PIN. */
  unlockOperatorMode: [{ pin: string }, Settings]

  listSlots: [void, SlotView[]]
  saveSlot: [{ id?: string; label?: string; settings: SlotSettings }, SlotView]
  removeSlot: [{ id: string }, void]

  listProfiles: [void, ProfileView[]]
  saveProfile: [{ profile: ProfileInput; secrets?: ProfileSecrets }, ProfileView]
  removeProfile: [{ id: string }, void]
  connect: [{ profileId: string }, ConnectionView]
  disconnect: [{ connectionId: string }, void]
  listConnections: [void, ConnectionView[]]

  listPackages: [void, PackageView[]]
  /** Electron: a file chosen by dialog or dropped (a path). */
  importPackage: [{ path: string; sha256?: string; md5?: string }, PackageView]
  /** The browser (`flashline ui`): the file's bytes, base64. */
  uploadPackage: [{ name: string; dataBase64: string; sha256?: string; md5?: string }, PackageView]
  /** Electron only: the native open dialog; null when cancelled. */
  pickPackageFile: [void, string | null]
  removePackage: [{ sha256: string }, void]

  flash: [FlashRequestView, { jobId: string }]
  detect: [{ slot: SlotSettings }, DetectResult]
  listJobs: [{ limit?: number }, JobView[]]
  cancelJob: [{ jobId: string }, boolean]
  jobLog: [{ jobId: string }, string]

  startBatch: [BatchRequest, BatchView]
  stopBatch: [{ batchId: string }, void]
  cancelBatch: [{ batchId: string }, void]
  retryFailed: [{ batchId: string }, BatchView]
  currentBatch: [void, BatchView | null]

  queryRecords: [RecordFilter, RecordView[]]
  exportRecords: [{ filter: RecordFilter; format: 'csv' | 'jsonl' }, { fileName: string; content: string }]

  /** Runs the three simulated platform upgrades (demo mode only). */
  runDemo: [void, void]
}

export type ApiMethod = keyof ApiMethods
export type ApiArgs<M extends ApiMethod> = ApiMethods[M][0]
export type ApiValue<M extends ApiMethod> = ApiMethods[M][1]

/** The method names, in one list (the IPC registration and its test walk it). */
export const API_METHODS = [
  'appInfo',
  'listPorts',
  'getSettings',
  'updateSettings',
  'setAdminPin',
  'unlockOperatorMode',
  'listSlots',
  'saveSlot',
  'removeSlot',
  'listProfiles',
  'saveProfile',
  'removeProfile',
  'connect',
  'disconnect',
  'listConnections',
  'listPackages',
  'importPackage',
  'uploadPackage',
  'pickPackageFile',
  'removePackage',
  'flash',
  'detect',
  'listJobs',
  'cancelJob',
  'jobLog',
  'startBatch',
  'stopBatch',
  'cancelBatch',
  'retryFailed',
  'currentBatch',
  'queryRecords',
  'exportRecords',
  'runDemo'
] as const satisfies readonly ApiMethod[]

/** IPC channel of a method (`api:<name>`), and the one event channel. */
export const channelOf = (method: ApiMethod): string => `api:${method}`
export const EVENT_CHANNEL = 'app:event'

/** What the renderer sees as `window.api`: one typed method per entry, plus the event stream. */
export type FlashlineApi = {
  [M in ApiMethod]: ApiArgs<M> extends void ? () => Promise<Result<ApiValue<M>>> : (args: ApiArgs<M>) => Promise<Result<ApiValue<M>>>
} & {
  /** Subscribes to every event; returns the unsubscribe. */
  onEvent(listener: (event: AppEvent) => void): () => void
}
