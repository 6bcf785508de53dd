import type { BatchView, ConnectionView, JobView, LogLineView, PortInfo, ProgressView, UnitView } from '../../preload/contract'
import type { ConnectionInfo, JobInfo, LogLine, PortListing, ProgressInfo, UnitInfo } from '../engine'

/** The engine's job as the renderer sees it: the unit (chip, its id or the adapter's serial), the scanned serial, the last progress. */
export function jobView(j: JobInfo, progress?: ProgressView): JobView {
  return {
    id: j.id,
    origin: j.origin,
    phase: j.phase,
    result: j.result,
    slotId: j.slotId,
    connectionId: j.connectionId,
    deviceId: j.deviceId,
    port: j.port,
    protocol: j.protocol,
    orderId: j.orderId,
    targetVersion: j.targetVersion,
    startVersion: j.startVersion,
    version: j.version,
    probedVersion: j.probedVersion,
    package: j.package,
    chip: j.identity?.chip,
    chipId: j.identity?.id ?? j.context?.usbSerial,
    serialNumber: j.context?.serialNumber,
    duplicate: j.context?.duplicate,
    reason: j.reason,
    message: j.message,
    error: j.error,
    verified: j.verified,
    unverified: j.unverified,
    retries: j.retries,
    createdAt: j.createdAt,
    updatedAt: j.updatedAt,
    history: j.history,
    progress: j.result ? undefined : progress
  }
}

export function progressView(p: ProgressInfo): ProgressView {
  return { stage: p.stage, done: p.done, total: p.total, bytesPerSec: p.bytesPerSec }
}

export function connectionView(c: ConnectionInfo, profileId?: string): ConnectionView {
  return { id: c.id, profileId, platform: c.platform, identity: c.identity, broker: c.broker, status: c.status, error: c.error, outbox: c.outbox, activeJobs: c.activeJobs, devices: c.devices }
}

export function portView(p: PortListing, simulated = false): PortInfo {
  return { path: p.path, manufacturer: p.manufacturer, serialNumber: p.serialNumber, vendorId: p.vendorId, productId: p.productId, bridge: p.bridge, location: p.location, simulated: simulated || undefined }
}

export function logView(l: LogLine, message = l.message): LogLineView {
  return { time: l.time, level: l.level, source: l.source, jobId: l.jobId, slotId: l.slotId, connectionId: l.connectionId, message }
}

export function unitView(u: UnitInfo, slotId?: string): UnitView {
  return { port: u.port, slotId, jobId: u.jobId, attempt: u.attempt, state: u.state, chipId: u.chipId, duplicate: u.duplicate, reason: u.reason, message: u.message }
}

/** Counts as the engine's batch summary counts them: ended units only; yield 1 while none has ended. */
export function batchView(id: string, state: BatchView['state'], startedAt: number, units: UnitView[]): BatchView {
  const passed = units.filter((u) => u.state === 'succeeded').length
  const failed = units.filter((u) => u.state === 'failed').length
  const cancelled = units.filter((u) => u.state === 'cancelled').length
  const hours = Math.max(1e-9, (Date.now() - startedAt) / 3_600_000)
  return {
    id,
    state,
    passed,
    failed,
    cancelled,
    yield: passed + failed === 0 ? 1 : passed / (passed + failed),
    unitsPerHour: (passed + failed + cancelled) / hours,
    startedAt: new Date(startedAt).toISOString(),
    units: units.map((u) => ({ ...u }))
  }
}
