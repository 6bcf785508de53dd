import { Agent, type AgentConfig } from '../../engine/agent'
import { loadStationFile } from '../../engine/config/station-file'
import { EXIT_CODES, FlashlineError } from '../../engine/errors'
import type { JobRecord } from '../../engine/jobs/job-record'
import type { StationEvent } from '../../engine/jobs/station'
import { validateBrokerUrl } from '../../engine/link/mqtt-link'
import type { PlatformAdapter } from '../../engine/platforms/adapter'
import { createFogcloudAdapter, fogcloudDeviceId } from '../../engine/platforms/fogcloud'
import { createIotdaAdapter } from '../../engine/platforms/iotda'
import { createWudunAdapter } from '../../engine/platforms/wudun'
import { defaultDataDir } from '../../engine/util/data-dir'
import { exclusive, given, oneOf, parseFlags, readCaFile, readSecretFile, readTextFile, required, seconds, str, type Flags } from '../args'
import { RateMeter, type Output } from '../output'
import { SLOT_OPTIONS, slotFrom } from './slot-flags'
import type { SlotConfig } from '../../engine/jobs/slot'

export const AGENT_HELP = `flashline agent   act as the device on a platform and carry out the upgrades it orders
  --platform iotda|fogcloud|wudun   --broker mqtt(s)://host:port   [--ca FILE] [--allow-http]
  [--allow-unverified]   carry out orders that name no checksum (refused by default; recorded with the job)
  iotda:    --device-id ID (--secret SECRET | --secret-file FILE | env FLASHLINE_SECRET | --cert FILE --key FILE) [--check-timestamp]
  fogcloud: --product-key PK --device-name DN [--device-secret S] [--module NAME]   (children: --child PK/DN,PORT,VERSION)
  wudun:    --device-uid UID --topic-prefix PREFIX [--source NAME]                  (children: --child SUB_UID,PORT,VERSION)
  all:      [--username U --password P]   (private brokers; the password may also come from env FLASHLINE_MQTT_PASSWORD)
  --port PATH --protocol ymodem|stm32|esp|mcuboot [--baud N] [--parity P] [--probe REGEX ...]   the device on the bench
  --current-version V   version the device runs now (answered to version queries)
  [--child ID,PORT,VERSION ...]   a gateway child on its own bench port (same protocol options);
                                  orders for it arrive and are reported on the gateway's topics
  --config station.json   many devices/children and connections in one process (replaces the flags above;
                          see "Station file" in README.md)
  [--once]   exit when the first upgrade job has ended and its final report is acknowledged
  [--json]   newline-delimited JSON events on stdout   [--data-dir DIR]
exit codes: 0 success · 2 usage/config · 3 download · 4 integrity · 5 device · 6 platform · 130 interrupted`

const AGENT_OPTIONS = {
  ...SLOT_OPTIONS,
  platform: { type: 'string' },
  broker: { type: 'string' },
  ca: { type: 'string' },
  'allow-http': { type: 'boolean' },
  'allow-unverified': { type: 'boolean' },
  'device-id': { type: 'string' },
  secret: { type: 'string' },
  'secret-file': { type: 'string' },
  cert: { type: 'string' },
  key: { type: 'string' },
  'check-timestamp': { type: 'boolean' },
  'product-key': { type: 'string' },
  'device-name': { type: 'string' },
  'device-secret': { type: 'string' },
  module: { type: 'string' },
  'device-uid': { type: 'string' },
  'topic-prefix': { type: 'string' },
  source: { type: 'string' },
  username: { type: 'string' },
  password: { type: 'string' },
  'current-version': { type: 'string' },
  child: { type: 'string', multiple: true },
  config: { type: 'string' },
  once: { type: 'boolean' },
  json: { type: 'boolean' },
  'data-dir': { type: 'string' },
  'connect-timeout': { type: 'string' },
  'report-timeout': { type: 'string' }
} as const

/** Flags that belong to one platform only; given with another platform they are a mistake, not a no-op. */
const PLATFORM_FLAGS: Record<'iotda' | 'fogcloud' | 'wudun', readonly string[]> = {
  iotda: ['device-id', 'secret', 'secret-file', 'cert', 'key', 'check-timestamp'],
  fogcloud: ['product-key', 'device-name', 'device-secret', 'module'],
  wudun: ['device-uid', 'topic-prefix', 'source']
}
const PLATFORM_TITLE = { iotda: 'IoTDA', fogcloud: 'FogCloud', wudun: 'Wudun' } as const

function checkPlatformFlags(flags: Flags, platform: 'iotda' | 'fogcloud' | 'wudun'): void {
  for (const other of ['iotda', 'fogcloud', 'wudun'] as const) {
    if (other === platform) continue
    const foreign = given(flags, PLATFORM_FLAGS[other]).filter((f) => !PLATFORM_FLAGS[platform].includes(f))
    if (foreign.length) throw new FlashlineError('usage', 'conflicting-flags', `--${foreign[0]} is a ${PLATFORM_TITLE[other]} flag; it does not apply to --platform ${platform}`)
  }
}

function secretFrom(flags: Flags, warn: (line: string) => void): string | undefined {
  exclusive(flags, 'secret', 'secret-file', 'give the device secret one way')
  for (const x509 of ['cert', 'key']) {
    for (const s of ['secret', 'secret-file']) exclusive(flags, s, x509, 'a device logs in with a secret or with an X.509 certificate, not both')
  }
  const inline = str(flags, 'secret')
  if (inline !== undefined) return inline
  const file = readSecretFile(flags, 'secret-file', warn)
  if (file !== undefined) return file
  return process.env['FLASHLINE_SECRET'] || undefined
}

function credentials(flags: Flags): { username?: string; password?: string } {
  const username = str(flags, 'username')
  const password = str(flags, 'password') ?? (process.env['FLASHLINE_MQTT_PASSWORD'] || undefined)
  if (password !== undefined && username === undefined) throw new FlashlineError('usage', 'missing-flag', '--password needs --username')
  return { username, password }
}

function fogcloudAdapter(flags: Flags, children: string[]): { adapter: PlatformAdapter; deviceId: string } {
  const productKey = required(flags, 'product-key', 'the FogCloud product key')
  const deviceName = required(flags, 'device-name', 'the FogCloud device name')
  const deviceSecret = str(flags, 'device-secret') ?? (process.env['FLASHLINE_SECRET'] || undefined)
  const { username, password } = credentials(flags)
  if (!deviceSecret && username === undefined) throw new FlashlineError('usage', 'missing-flag', '--device-secret is required for FogCloud (or --username/--password for a private broker)')
  for (const c of children) {
    if (!/^[^/]+\/[^/]+$/.test(c)) throw new FlashlineError('usage', 'bad-child', `--child id "${c}" must be PRODUCT_KEY/DEVICE_NAME for FogCloud`)
  }
  const adapter = createFogcloudAdapter({ productKey, deviceName, deviceSecret, module: str(flags, 'module'), username, password, children })
  return { adapter, deviceId: fogcloudDeviceId(productKey, deviceName) }
}

function wudunAdapter(flags: Flags, children: string[]): { adapter: PlatformAdapter; deviceId: string } {
  const deviceUid = required(flags, 'device-uid', 'the EMS device UID')
  const topicPrefix = required(flags, 'topic-prefix', 'the topic prefix before /{device}/ota/…, e.g. v1, v1/wudun/PRODUCT_KEY or v1/user/TENANT')
  const { username, password } = credentials(flags)
  return { adapter: createWudunAdapter({ deviceUid, topicPrefix, source: str(flags, 'source'), username, password, children }), deviceId: deviceUid }
}

function iotdaAdapter(flags: Flags, warn: (line: string) => void): { adapter: PlatformAdapter; deviceId: string } {
  const deviceId = required(flags, 'device-id', 'the IoTDA device id (as shown in the console)')
  const secret = secretFrom(flags, warn)
  const cert = readTextFile(flags, 'cert')
  const key = readTextFile(flags, 'key')
  if ((cert === undefined) !== (key === undefined)) throw new FlashlineError('usage', 'missing-flag', '--cert and --key go together (X.509 device authentication)')
  if (!secret && !cert) throw new FlashlineError('usage', 'missing-flag', '--secret is required for IoTDA (or --secret-file, FLASHLINE_SECRET, or --cert/--key)')
  return { adapter: createIotdaAdapter({ deviceId, secret, cert, key, checkTimestamp: Boolean(flags['check-timestamp']) }), deviceId }
}

export function buildAgentConfig(flags: Flags, warn: (line: string) => void = () => undefined): AgentConfig {
  const platform = oneOf(flags, 'platform', ['iotda', 'fogcloud', 'wudun'] as const)
  checkPlatformFlags(flags, platform)
  const brokerUrl = required(flags, 'broker', 'the platform broker, e.g. mqtts://xxxx.st1.iotda-device.cn-north-4.myhuaweicloud.com:8883')
  validateBrokerUrl(brokerUrl)
  const childIds = childSpecs(flags).map((c) => c.id)
  const { adapter, deviceId } = platform === 'iotda' ? iotdaAdapter(flags, warn) : platform === 'fogcloud' ? fogcloudAdapter(flags, childIds) : wudunAdapter(flags, childIds)
  const currentVersion = required(flags, 'current-version', 'the version the device runs now, answered to the platform’s version queries')
  const slots = [slotFrom(flags, deviceId, currentVersion), ...childSlots(flags, deviceId)]
  const ports = new Map<string, string>()
  for (const slot of slots) {
    const owner = ports.get(slot.port)
    if (owner) throw new FlashlineError('usage', 'conflicting-flags', `${slot.deviceId} and ${owner} are both on port ${slot.port}; every device needs its own bench port`)
    ports.set(slot.port, slot.deviceId)
  }
  return {
    adapter,
    brokerUrl,
    ca: readCaFile(flags),
    allowHttp: Boolean(flags['allow-http']),
    allowUnverified: Boolean(flags['allow-unverified']),
    dataDir: str(flags, 'data-dir') ?? defaultDataDir(),
    identity: `${platform}-${deviceId}`,
    slots,
    connectTimeoutMs: seconds(flags, 'connect-timeout')
  }
}

/** `--child ID,PORT,VERSION` (repeatable): children share the gateway's protocol and probe settings. */
function childSpecs(flags: Flags): Array<{ id: string; port: string; version: string }> {
  const raw = flags['child']
  const list = Array.isArray(raw) ? raw : []
  const seen = new Set<string>()
  return list.map((spec) => {
    const [id, port, version, ...rest] = spec.split(',').map((x) => x.trim())
    if (!id || !port || !version || rest.length) {
      throw new FlashlineError('usage', 'bad-child', `--child "${spec}" must be CHILD_ID,PORT,CURRENT_VERSION (e.g. --child sensor_07,/dev/ttyUSB1,1.0.3)`)
    }
    if (seen.has(id)) throw new FlashlineError('usage', 'bad-child', `--child ${id} is given twice`)
    seen.add(id)
    return { id, port, version }
  })
}

function childSlots(flags: Flags, gatewayId: string): SlotConfig[] {
  return childSpecs(flags).map(({ id, port, version }) => {
    if (id === gatewayId) throw new FlashlineError('usage', 'bad-child', `--child ${id} is the gateway itself`)
    return slotFrom({ ...flags, port }, id, version)
  })
}

function exitCodeForJob(job: JobRecord): number {
  if (job.phase === 'succeeded') return 0
  switch (job.outcome?.reason) {
    case 'download-refused':
    case 'download-timeout':
      return EXIT_CODES.download
    case 'verification-failed':
      return EXIT_CODES.integrity
    case 'install-failed':
    case 'version-mismatch':
      return EXIT_CODES.device
    case 'busy':
      return EXIT_CODES.device
    default:
      return EXIT_CODES.internal
  }
}

function describe(event: StationEvent, out: Output, meter: RateMeter): void {
  switch (event.type) {
    case 'phase': {
      const j = event.job
      out.event('job-phase', { job: j.id, device: j.order.deviceId, phase: j.phase, targetVersion: j.order.targetVersion, orderId: j.order.orderId })
      if (j.phase === 'received') out.info(`order ${j.order.orderId}: ${j.order.kind} ${j.order.targetVersion ?? '(target version not stated)'} for ${j.order.deviceId}`)
      else if (j.phase === 'reporting') {
        const o = j.outcome
        out.info(o?.result === 'succeeded' ? `${j.order.deviceId}: flashed, now ${o.version}; reporting success` : `${j.order.deviceId}: FAILED (${o?.reason}): ${o?.message}; reporting failure`)
      } else out.info(`${j.order.deviceId}: ${j.phase}`)
      return
    }
    case 'download-progress':
      if (!meter.due(200, event.progress.total !== undefined && event.progress.done === event.progress.total)) return
      out.event('download-progress', { job: event.job.id, done: event.progress.done, total: event.progress.total })
      out.progress('download', event.progress.done, event.progress.total, event.progress.bytesPerSec)
      return
    case 'flash-progress':
      if (!meter.due(200, event.progress.done === event.progress.total)) return
      out.event('flash-progress', { job: event.job.id, stage: event.progress.stage, done: event.progress.done, total: event.progress.total })
      out.progress(event.progress.stage, event.progress.done, event.progress.total, meter.rate(event.progress.done))
      return
    case 'job-closed':
      out.event('job-closed', { job: event.job.id, device: event.job.order.deviceId, result: event.job.phase, outcome: event.job.outcome, error: event.job.error })
      out.info(`${event.job.order.deviceId}: platform acknowledged the final report; job ${event.job.phase}`)
      return
    case 'report-acked':
      out.event('report-acked', { topic: event.entry.message.topic, job: event.entry.jobId })
      return
    case 'report-queued':
      out.event('report-queued', { topic: event.entry.message.topic, job: event.entry.jobId, payload: event.entry.message.payload })
      return
    case 'reply-queued':
      out.info(`answered a version query`)
      return
    case 'downlink-ignored':
      out.event('downlink-ignored', { topic: event.topic, reason: event.reason })
      out.info(`ignored a message${event.topic ? ` on ${event.topic}` : ''}: ${event.reason}`)
      return
    case 'log':
      out.event('log', { job: event.job.id, message: event.message })
      out.info(`${event.job.order.deviceId}: ${event.message}`)
      return
    case 'station-log':
      out.event('log', { message: event.message })
      out.info(event.message)
      return
  }
}

/**
 * Runs one agent per connection until interrupted (or, with --once, until the first job has ended
 * and its final report is acknowledged).
 */
export async function runAgent(configs: AgentConfig | AgentConfig[], out: Output, signal: AbortSignal, opts: { once: boolean; reportTimeoutMs?: number }): Promise<number> {
  const agents = (Array.isArray(configs) ? configs : [configs]).map((c) => new Agent(c))
  const meter = new RateMeter()
  let resolveFinished: (code: number) => void = () => undefined
  const finished = new Promise<number>((resolve) => (resolveFinished = resolve))
  for (const agent of agents) {
    agent.on('event', (e: StationEvent) => describe(e, out, meter))
    agent.on('log', (m: string) => {
      out.event('log', { message: m })
      out.info(m)
    })
    if (opts.once) {
      agent.on('event', (e: StationEvent) => {
        if (e.type === 'job-closed') resolveFinished(exitCodeForJob(e.job))
        if (e.type === 'phase' && e.job.phase === 'reporting' && opts.reportTimeoutMs) {
          setTimeout(() => resolveFinished(EXIT_CODES.platform), opts.reportTimeoutMs).unref()
        }
      })
    }
  }
  signal.addEventListener('abort', () => resolveFinished(EXIT_CODES.interrupted), { once: true })
  try {
    await Promise.all(agents.map((a) => a.start()))
    const code = await finished
    if (code === EXIT_CODES.platform) out.error('the final report was not acknowledged by the broker in time; it stays queued and is sent on the next start')
    return code
  } finally {
    await Promise.all(agents.map((a) => a.stop()))
  }
}

/** Flags that describe the connection or the device; --config replaces all of them. */
const CONNECTION_FLAGS = Object.keys(AGENT_OPTIONS).filter((k) => !['once', 'json', 'data-dir', 'report-timeout', 'config'].includes(k))

export async function agentCommand(argv: string[], makeOutput: (json: boolean) => Output, signal: AbortSignal): Promise<number> {
  const flags = parseFlags(argv, AGENT_OPTIONS, 'agent')
  const out = makeOutput(Boolean(flags['json']))
  let configs: AgentConfig[]
  const stationFile = str(flags, 'config')
  if (stationFile !== undefined) {
    const mixed = CONNECTION_FLAGS.find((k) => flags[k] !== undefined)
    if (mixed) throw new FlashlineError('usage', 'bad-flag', `--${mixed} cannot be combined with --config: the station file describes the connections and devices`)
    configs = loadStationFile(stationFile, { dataDir: str(flags, 'data-dir') ?? defaultDataDir(), dataDirGiven: flags['data-dir'] !== undefined, warn: (line) => out.error(line) })
  } else configs = [buildAgentConfig(flags, (line) => out.error(line))]
  return runAgent(configs, out, signal, { once: Boolean(flags['once']), reportTimeoutMs: seconds(flags, 'report-timeout') ?? 300_000 })
}
