/**
 * The engine's own vocabulary. Platform wire names (object_device_id, task_id, md5_code …) stay at the
 * adapter edge; inside, an upgrade is an Order executed as a Job on a Slot, producing Reports.
 */
/** The version reported when neither the order nor a probe tells what the device now runs. */
export const UNKNOWN_VERSION = 'unknown'

export type PlatformName = 'iotda' | 'fogcloud' | 'wudun'
export type ProtocolName = 'ymodem' | 'stm32' | 'esp' | 'mcuboot'

/** What the package must hash to. Hex strings are compared case-insensitively. */
export interface PackageExpectation {
  size?: number
  sha256?: string
  md5?: string
  /** FogCloud additive checksum: sum of bytes mod 2^32, 4 bytes little-endian, as hex. */
  sum32?: string
}

export interface PackageSource {
  url: string
  /** Bearer token (IoTDA v1). Presigned URLs carry their auth in the query and get no headers. */
  bearerToken?: string
  /** When the token or URL stops being valid (ms since epoch), if the platform told us. */
  expiresAt?: number
  fileName?: string
}

export interface UpgradeOrder {
  platform: PlatformName
  /** Stable id for journalling and de-duplication (task_id, mid, or a derived hash). */
  orderId: string
  /** The device the order is for: a direct device or a gateway child. */
  deviceId: string
  kind: 'firmware' | 'software'
  /** Target version exactly as ordered; compared byte for byte, never normalised. */
  targetVersion?: string
  source: PackageSource
  expect: PackageExpectation
  /** Wire fields the adapter needs to echo in its reports (task_id, module, trace_id, source, event type …). */
  wire: Record<string, unknown>
  receivedAt: number
}

/** Why a job failed, in platform-neutral terms; each adapter maps these to its own codes. */
export type FailureReason =
  | 'download-timeout' // network, HTTP status other than auth
  | 'download-refused' // 401/403: token or URL expired/refused
  | 'verification-failed' // hash or size mismatch
  | 'install-failed' // bench protocol failed
  | 'version-mismatch' // device booted but probe saw another version
  | 'busy' // slot in use / station locked
  | 'cancelled' // stopped by the operator for this one job
  | 'internal'

/**
 * received → (downloading | checking) → verified → flashing → proving → (reporting) → succeeded | failed | cancelled.
 * Platform jobs download their package and report; local and batch jobs check a local package and end
 * without reporting.
 */
export type JobPhase = 'received' | 'downloading' | 'checking' | 'verified' | 'flashing' | 'proving' | 'reporting' | 'succeeded' | 'failed' | 'cancelled'

export const JOB_PHASES: readonly JobPhase[] = ['received', 'downloading', 'checking', 'verified', 'flashing', 'proving', 'reporting', 'succeeded', 'failed', 'cancelled']

/** Where a job came from: a platform's order, a technician's local flash (recovery), or a unit of a batch run. */
export type JobOrigin = 'platform' | 'local' | 'batch'

/** A report the platform must receive. Adapters turn it into one or more MQTT messages. */
export type JobReport =
  | { type: 'progress'; order: UpgradeOrder; phase: 'downloading' | 'verified' | 'flashing' | 'proving'; progress: number; currentVersion: string; description?: string }
  | { type: 'succeeded'; order: UpgradeOrder; version: string }
  | {
      type: 'failed'
      order: UpgradeOrder
      reason: FailureReason
      message: string
      currentVersion: string
      /** Flashing had begun: the device may hold a partial image (Wudun tells the two cases apart). */
      deviceTouched?: boolean
      /** The recorded result of an order that came again, stated again: it asks the platform for nothing new. */
      replay?: boolean
    }

/** One MQTT publication, as stored in the outbox until the broker acknowledges it. */
export interface OutboundMessage {
  topic: string
  payload: string
  qos: 0 | 1
}

export interface FlashImage {
  path: string
  size: number
  /** Name announced to the device (YMODEM block 0). */
  name: string
  /** Target address where the protocol needs one. */
  address?: number
  /** Several parts at their own offsets, chosen by the detected chip (esp); replaces path/address. */
  manifest?: FlashManifest
}

/** ESP Web Tools style manifest: per chip family, the files and their flash offsets. Paths are relative to `baseDir`. */
export interface FlashManifest {
  name?: string
  baseDir: string
  builds: Array<{ chipFamily: string; parts: Array<{ path: string; offset: number }> }>
}

export interface FlashProgress {
  stage: 'connect' | 'erase' | 'write' | 'verify' | 'reset'
  done: number
  total: number
}

export interface DeviceIdentity {
  protocol: ProtocolName
  chip?: string
  id?: string
  details?: Record<string, unknown>
}

export interface FlashResult {
  bytesWritten: number
  identity?: DeviceIdentity
  verified: 'device' | 'none'
  /** What the device printed after its last protocol answer (often the start of its boot banner); the version probe reads it first. */
  bootLog?: string
}
