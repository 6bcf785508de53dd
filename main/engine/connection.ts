import { join } from 'node:path'
import type { ConnectionConfig } from './config/connection'
import { TypedEmitter } from './events'
import { flashSlot } from './jobs/flash-slot'
import { describeUsbUnit } from './jobs/unit'
import type { PlatformJob } from './jobs/job-record'
import { Station, type StationEvent, type StationWork } from './jobs/station'
import { MqttLink } from './link/mqtt-link'
import type { PackageCache } from './package-cache'
import { createAdapter } from './platforms'
import type { PlatformAdapter } from './platforms/adapter'
import { redactUrl } from './util/redact'

export type ConnectionStatus = 'connecting' | 'online' | 'offline' | 'stopped' | 'failed'

export interface ConnectionEvents {
  status: [ConnectionStatus, string | undefined]
  station: [StationEvent]
  log: [level: 'info' | 'warn' | 'error', message: string]
}

export interface ConnectionOptions {
  id: string
  config: ConnectionConfig
  /** The bench's data directory: journal and outbox go to `stations/<identity>`. */
  dataDir: string
  cache: PackageCache
  downloadRetries?: number
  downloadIdleTimeoutMs?: number
  /** Replaces the adapter made from the configuration (tests with a hand-made platform). */
  adapter?: PlatformAdapter
  /** A job of the bench outside this connection using the port (see StationOptions.portBusy). */
  portBusy?(port: string): string | undefined
}

/**
 * One platform connection: the device's MQTT session, the station that turns its orders into jobs
 * on the bench slots, and the outbox that carries every report back until acknowledged.
 */
export class Connection extends TypedEmitter<ConnectionEvents> {
  readonly id: string
  readonly config: ConnectionConfig
  readonly station: Station
  readonly link: MqttLink
  status: ConnectionStatus = 'connecting'
  lastError?: string

  constructor(private readonly options: ConnectionOptions) {
    super()
    this.id = options.id
    this.config = options.config
    const config = options.config
    const adapter = options.adapter ?? createAdapter(config)
    const work: StationWork = {
      describeUnit: describeUsbUnit,
      download: (job, signal, onProgress) =>
        options.cache.fetch(job.order.source, job.order.expect, {
          ca: config.ca,
          allowHttp: config.allowHttp,
          signal,
          onProgress,
          retries: options.downloadRetries,
          idleTimeoutMs: options.downloadIdleTimeoutMs,
          onWait: (w) =>
            this.emit('station', { type: 'log', job, message: `waiting for another Flashline process${w.owner ? ` (pid ${w.owner.pid})` : ''} that is downloading this package into the same cache (${w.partialBytes} bytes so far)` })
        }),
      flash: (job, slot, pkg, signal, onProgress, onPhase) =>
        flashSlot(slot, { path: pkg.path, size: pkg.size, name: fileNameOf(job) }, {
          signal,
          onProgress,
          onProving: () => onPhase('proving'),
          log: (message) => this.emit('station', { type: 'log', job, message })
        })
    }
    this.station = new Station({
      dataDir: join(options.dataDir, 'stations', safeName(config.identity)),
      name: config.identity,
      adapter,
      slots: config.devices,
      work,
      allowUnverified: config.allowUnverified,
      portBusy: options.portBusy
    })
    this.station.on('event', (e: StationEvent) => this.emit('station', e))
    this.link = new MqttLink({
      brokerUrl: config.broker,
      ca: config.ca,
      login: (now) => {
        const login = adapter.login(now)
        // a private broker's own account replaces the platform's derived credentials
        return config.username !== undefined ? { ...login, username: config.username, password: config.password } : login
      },
      subscriptions: adapter.subscriptions(),
      connectTimeoutMs: config.connectTimeoutMs
    })
    this.link.on('message', (topic: string, payload: Buffer) => this.station.handleDownlink(topic, payload))
    this.link.on('log', (m: string) => this.emit('log', 'info', m))
    this.link.on('connect', () => this.setStatus('online'))
    this.link.on('offline', () => {
      this.setStatus('offline')
      this.emit('log', 'warn', 'broker connection lost; reconnecting (reports stay queued on disk)')
    })
  }

  /** Connects (rejecting with a platform error if the broker is unreachable or refuses) and starts serving. */
  async start(): Promise<void> {
    this.station.attach(this.link)
    try {
      await this.link.start()
    } catch (e) {
      this.lastError = (e as Error).message
      this.setStatus('failed', this.lastError)
      throw e
    }
    this.setStatus('online')
    this.emit('log', 'info', `connected to ${redactUrl(this.config.broker)} as ${this.config.identity}`)
  }

  cancel(jobId: string): boolean {
    return this.station.cancel(jobId)
  }

  async stop(): Promise<void> {
    await this.station.stop()
    await this.link.close()
    this.setStatus('stopped')
  }

  private setStatus(status: ConnectionStatus, detail?: string): void {
    if (this.status === status && detail === undefined) return
    this.status = status
    this.emit('status', status, detail)
  }
}

function fileNameOf(job: PlatformJob): string {
  return job.order.source.fileName ?? `${job.order.targetVersion ?? 'firmware'}.bin`
}

export function safeName(s: string): string {
  return s.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 100)
}
