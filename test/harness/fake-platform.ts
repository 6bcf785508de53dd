import { EventEmitter } from 'node:events'
import { FlashlineError } from '../../main/engine/errors'
import type { Station, StationEvent, StationWork } from '../../main/engine/jobs/station'
import type { JobReport, OutboundMessage, UpgradeOrder } from '../../main/engine/model'
import type { PlatformAdapter } from '../../main/engine/platforms/adapter'

/** A minimal platform: orders come as JSON {orderId, deviceId, version}; reports go out as JSON. */
export const fakeAdapter: PlatformAdapter = {
  platform: 'iotda',
  login: () => ({ clientId: 'x' }),
  subscriptions: () => ['down'],
  onConnected: () => [],
  decode(_topic, payload, ctx) {
    let o: { orderId: string; deviceId: string; version: string; unsigned?: boolean; refuse?: string; crash?: boolean; url?: string }
    try {
      o = JSON.parse(payload.toString())
    } catch {
      return [{ type: 'ignored', reason: 'not JSON' }]
    }
    if (o.crash) return [{ type: 'decode-error', error: 'TypeError: boom' }]
    if (ctx.currentVersion(o.deviceId) === undefined) return [{ type: 'ignored', reason: 'not served' }]
    const expect = o.unsigned ? {} : { sha256: 'a'.repeat(64) }
    const order: UpgradeOrder = { platform: 'iotda', orderId: o.orderId, deviceId: o.deviceId, kind: 'firmware', targetVersion: o.version, source: { url: o.url ?? 'https://x/p.bin' }, expect, wire: {}, receivedAt: Date.now() }
    if (o.refuse) return [{ type: 'refuse', order, reason: 'verification-failed', message: o.refuse }]
    return [{ type: 'order', order }]
  },
  encodeReport(report: JobReport): OutboundMessage[] {
    const body =
      report.type === 'progress'
        ? { t: 'progress', p: report.progress, v: report.currentVersion }
        : report.type === 'succeeded'
          ? { t: 'ok', v: report.version }
          : { t: 'fail', r: report.reason, v: report.currentVersion }
    return [{ topic: `up/${report.order.deviceId}`, payload: JSON.stringify(body), qos: 1 }]
  }
}

export class FakePublisher extends EventEmitter {
  sent: OutboundMessage[] = []
  online = true
  get connected(): boolean {
    return this.online
  }
  async publish(m: OutboundMessage): Promise<void> {
    if (!this.online) throw new FlashlineError('platform', 'offline', 'offline')
    this.sent.push(m)
  }
}

export const pkg = { path: __filename, size: 1, sha256: 'a', md5: 'b', sum32: 'c' }

export function work(overrides: Partial<StationWork> = {}): StationWork & { flashed: string[] } {
  const flashed: string[] = []
  return {
    flashed,
    download: async () => pkg,
    flash: async (job, _slot, _pkg, _signal, _p, onPhase) => {
      flashed.push(job.order.deviceId)
      onPhase('proving')
      return { result: { bytesWritten: 1, verified: 'device' }, probedVersion: job.order.targetVersion }
    },
    ...overrides
  }
}

export function order(deviceId: string, orderId: string, version: string, extra: Record<string, unknown> = {}): Buffer {
  return Buffer.from(JSON.stringify({ deviceId, orderId, version, ...extra }))
}

export function waitFor(station: Station, pred: (e: StationEvent) => boolean, timeoutMs = 10_000): Promise<StationEvent> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no matching station event within ${timeoutMs} ms`)), timeoutMs)
    station.on('event', (e: StationEvent) => {
      if (!pred(e)) return
      clearTimeout(timer)
      resolve(e)
    })
  })
}

export async function until(what: string, ok: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

