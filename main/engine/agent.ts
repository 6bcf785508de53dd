import { EventEmitter } from 'node:events'
import { join } from 'node:path'
import { fetchPackage } from './download/fetch-package'
import { FlashlineError } from './errors'
import { probeVersion } from './flash/probe'
import { createFlasher, DEFAULT_ADDRESS } from './flash/registry'
import type { JobRecord, PackageOnDisk } from './jobs/job-record'
import type { DownloadProgress, FlashOutcome } from './jobs/job-runner'
import { DEFAULT_PROBE_PATTERN, type SlotConfig } from './jobs/slot'
import { Station, type StationEvent, type StationWork } from './jobs/station'
import { MqttLink } from './link/mqtt-link'
import type { FlashManifest, FlashProgress } from './model'
import type { PlatformAdapter } from './platforms/adapter'
import { openTransport, PROTOCOL_LINE_DEFAULTS } from './transport/open'
import type { Transport } from './transport/transport'

export interface AgentConfig {
  adapter: PlatformAdapter
  brokerUrl: string
  /** PEM trust root added for the broker and for package downloads. */
  ca?: string
  allowHttp?: boolean
  /** Carry out orders that name no checksum (refused by default); such jobs are recorded as unverified. */
  allowUnverified?: boolean
  /** Root data directory; the package cache is shared, journal and outbox are per platform identity. */
  dataDir: string
  /** Identity used to separate journals of different devices/platforms in one data dir. */
  identity: string
  slots: SlotConfig[]
  connectTimeoutMs?: number
  downloadRetries?: number
  downloadIdleTimeoutMs?: number
}

/** Flashes one package onto one slot and probes the version if configured. Shared by agent and `flashline flash`. */
export async function flashSlot(
  slot: SlotConfig,
  pkg: { path: string; size: number; name: string; manifest?: FlashManifest },
  options: { signal?: AbortSignal; onProgress?: (p: FlashProgress) => void; onProving?: () => void; log?: (message: string) => void }
): Promise<FlashOutcome> {
  const line = PROTOCOL_LINE_DEFAULTS[slot.protocol]
  const address = (slot.protocolOptions?.['address'] as number | undefined) ?? DEFAULT_ADDRESS[slot.protocol]
  const flasher = await createFlasher(slot.protocol, { ...slot.protocolOptions, baud: slot.baud, ...(options.log ? { log: options.log } : {}) })
  const openBaud = line.slotBaudIsFlashRate ? line.baudRate : slot.baud ?? line.baudRate
  let transport: Transport | null = await openTransport(slot.port, { baudRate: openBaud, parity: slot.parity ?? line.parity })
  try {
    const result = await flasher.flash(transport, { path: pkg.path, size: pkg.size, name: pkg.name, address, manifest: pkg.manifest }, { signal: options.signal, onProgress: options.onProgress })
    if (!slot.probe) return { result }
    options.onProving?.()
    const probeBaud = slot.probe.baud ?? openBaud
    const reopened = !transport.isOpen
    const changed = !reopened && probeBaud !== transport.baudRate
    if (reopened) transport = await openTransport(slot.port, { baudRate: probeBaud, parity: 'none' })
    else if (changed) await transport.setBaudRate(probeBaud)
    let pattern: RegExp
    try {
      pattern = new RegExp(slot.probe.pattern ?? DEFAULT_PROBE_PATTERN, 'i')
    } catch (e) {
      throw new FlashlineError('usage', 'bad-probe', `--probe is not a valid regular expression: ${(e as Error).message}`)
    }
    const probedVersion = await probeVersion(transport, {
      pattern,
      timeoutMs: slot.probe.timeoutMs ?? 15_000,
      // Bytes caught behind the last protocol answer were sent at the flash baud rate.
      alreadyReceived: reopened || changed ? undefined : result.bootLog
    })
    return { result, probedVersion }
  } finally {
    await transport?.close()
  }
}

/**
 * Acts as the device on a platform: keeps the MQTT session, turns orders into jobs on the
 * station, and carries reports back. Emits the station's events ('event') plus 'log'.
 */
export class Agent extends EventEmitter {
  readonly station: Station
  readonly link: MqttLink
  private readonly cacheDir: string

  constructor(private readonly config: AgentConfig) {
    super()
    this.cacheDir = join(config.dataDir, 'cache')
    const work: StationWork = {
      download: (job, signal, onProgress) => this.download(job, signal, onProgress),
      flash: (job, slot, pkg, signal, onProgress, onPhase) =>
        flashSlot(slot, { path: pkg.path, size: pkg.size, name: job.order.source.fileName ?? `${job.order.targetVersion ?? 'firmware'}.bin` }, {
          signal,
          onProgress,
          onProving: () => onPhase('proving'),
          log: (message) => this.emit('log', `${slot.deviceId}: ${message}`)
        })
    }
    this.station = new Station({ dataDir: join(config.dataDir, 'stations', safeName(config.identity)), adapter: config.adapter, slots: config.slots, work, allowUnverified: config.allowUnverified })
    this.station.on('event', (e: StationEvent) => this.emit('event', e))
    this.link = new MqttLink({
      brokerUrl: config.brokerUrl,
      ca: config.ca,
      login: (now) => config.adapter.login(now),
      subscriptions: config.adapter.subscriptions(),
      connectTimeoutMs: config.connectTimeoutMs
    })
    this.link.on('message', (topic: string, payload: Buffer) => this.station.handleDownlink(topic, payload))
    this.link.on('log', (m: string) => this.emit('log', m))
    this.link.on('offline', () => this.emit('log', 'broker connection lost; reconnecting (reports stay queued on disk)'))
  }

  /** Connects (rejecting with a platform error if the broker is unreachable) and starts serving. */
  async start(): Promise<void> {
    this.station.attach(this.link)
    await this.link.start()
    this.emit('log', `connected to ${this.link.displayUrl} as ${this.config.identity}`)
  }

  private inflight = new Map<string, Promise<PackageOnDisk>>()

  /** One download serves every job that ordered the same package (gateway children). */
  private download(job: JobRecord, signal: AbortSignal, onProgress: (p: DownloadProgress) => void): Promise<PackageOnDisk> {
    const { source, expect } = job.order
    const key = expect.sha256 ?? expect.md5 ?? source.url.split('?')[0]!
    const running = this.inflight.get(key)
    if (running) return running
    {
      const p = fetchPackage(source, expect, {
        cacheDir: this.cacheDir,
        ca: this.config.ca,
        allowHttp: this.config.allowHttp,
        signal,
        onProgress,
        retries: this.config.downloadRetries,
        idleTimeoutMs: this.config.downloadIdleTimeoutMs,
        partKey: key.replace(/[^A-Za-z0-9]/g, '').slice(0, 64) || undefined
      }).finally(() => this.inflight.delete(key))
      this.inflight.set(key, p)
      return p
    }
  }

  async stop(): Promise<void> {
    await this.station.stop()
    await this.link.close()
  }
}

function safeName(s: string): string {
  return s.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 100)
}
