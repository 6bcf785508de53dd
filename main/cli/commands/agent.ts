import { resolve } from 'node:path'
import { Bench, ConfigProblem, redactUrl, useSimulators, EXIT_CODES, FlashlineError, defaultDataDir, readConnection, readStationFile, type ConnectionConfig, type JobInfo } from '../../engine'
import { exclusive, given, oneOf, parseFlags, seconds, str, type Flags } from '../args'
import { flagError, flagFor, numberish, recordsDbFrom, SLOT_OPTIONS, slotFields } from '../config-flags'
import type { Output } from '../output'
import { renderEvents } from '../render'

export const AGENT_HELP = `flashline agent   act as the device on a platform and carry out the upgrades it orders
  --platform iotda|fogcloud|wudun   --broker mqtt(s)://host:port   [--ca FILE] [--allow-http]
  [--allow-unverified]   carry out orders that name no checksum (refused by default; recorded with the job)
  iotda:    --device-id ID (--secret SECRET | --secret-file FILE | env FLASHLINE_SECRET | --cert FILE --key FILE) [--check-timestamp]
  fogcloud: --product-key PK --device-name DN [--device-secret S] [--module NAME]   (children: --child PK/DN,PORT,VERSION)
  wudun:    --device-uid UID [--topic-prefix PREFIX (default v1)] [--source NAME]   (children: --child SUB_UID,PORT,VERSION)
  all:      [--username U --password P]   (private brokers; the password may also come from env FLASHLINE_MQTT_PASSWORD)
  --port PATH --protocol ymodem|stm32|esp|mcuboot [--baud N] [--parity P] [--probe REGEX ...]   the device on the bench
  --current-version V   version the device runs now (answered to version queries)
  [--child ID,PORT,VERSION ...]   a gateway child on its own bench port (same protocol options);
                                  orders for it arrive and are reported on the gateway's topics
  --config station.json   many devices/children and connections in one process (replaces the flags above;
                          see "Station file" in README.md)
  [--once]   exit when the first upgrade job has ended and its final report is acknowledged
  [--report-timeout S]   with --once: exit 6 if the final report is not acknowledged within S seconds (default 300)
  [--json]   newline-delimited JSON events on stdout   [--data-dir DIR]
  [--records-db postgresql://…]   also replicate every job's record to PostgreSQL (or env FLASHLINE_RECORDS_DB)
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
  'report-timeout': { type: 'string' },
  'records-db': { type: 'string' }
} as const

/** Flags that belong to one platform only; given with another platform they are a mistake, not a no-op. */
const PLATFORM_FLAGS: Record<'iotda' | 'fogcloud' | 'wudun', readonly string[]> = {
  iotda: ['device-id', 'secret', 'secret-file', 'cert', 'key', 'check-timestamp'],
  fogcloud: ['product-key', 'device-name', 'device-secret', 'module'],
  wudun: ['device-uid', 'topic-prefix', 'source']
}
const PLATFORM_TITLE = { iotda: 'IoTDA', fogcloud: 'FogCloud', wudun: 'Wudun' } as const

function checkFlagCombinations(flags: Flags, platform: 'iotda' | 'fogcloud' | 'wudun'): void {
  for (const other of ['iotda', 'fogcloud', 'wudun'] as const) {
    if (other === platform) continue
    const foreign = given(flags, PLATFORM_FLAGS[other]).filter((f) => !PLATFORM_FLAGS[platform].includes(f))
    if (foreign.length) throw new FlashlineError('usage', 'conflicting-flags', `--${foreign[0]} is a ${PLATFORM_TITLE[other]} flag; it does not apply to --platform ${platform}`)
  }
  exclusive(flags, 'secret', 'secret-file', 'give the device secret one way')
  for (const x509 of ['cert', 'key']) for (const s of ['secret', 'secret-file']) exclusive(flags, s, x509, 'a device logs in with a secret or with an X.509 certificate, not both')
  if ((str(flags, 'cert') === undefined) !== (str(flags, 'key') === undefined)) throw new FlashlineError('usage', 'missing-flag', '--cert and --key go together (X.509 device authentication)')
  const password = str(flags, 'password') ?? (process.env['FLASHLINE_MQTT_PASSWORD'] || undefined)
  if (password !== undefined && str(flags, 'username') === undefined) {
    throw new FlashlineError('usage', 'missing-flag', `--password needs --username${str(flags, 'password') === undefined ? ' (the password came from FLASHLINE_MQTT_PASSWORD)' : ''}`)
  }
}

function required(flags: Flags, name: string, what: string): string {
  const v = str(flags, name)
  if (v === undefined || v === '') throw new FlashlineError('usage', 'missing-flag', `--${name} is required: ${what}`)
  return v
}

/** The broker's scheme, checked before anything else about the connection (the schema says the same later). */
function checkBrokerFlag(broker: string): void {
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(broker)?.[1]?.toLowerCase()
  if (scheme === undefined) throw new FlashlineError('usage', 'bad-flag', `--broker "${redactUrl(broker)}" is not a URL; expected mqtt://host:port or mqtts://host:port`)
  if (scheme !== 'mqtt' && scheme !== 'mqtts') throw new FlashlineError('usage', 'bad-flag', `--broker: must start with mqtt:// or mqtts://, got "${scheme}://"`)
}

/** `--child ID,PORT,VERSION` (repeatable): children share the gateway's protocol and probe settings. */
function childSpecs(flags: Flags, platform: 'iotda' | 'fogcloud' | 'wudun'): Array<{ id: string; port: string; currentVersion: string }> {
  const raw = flags['child']
  const seen = new Set<string>()
  return (Array.isArray(raw) ? raw : []).map((spec) => {
    const [id, port, version, ...rest] = spec.split(',').map((x) => x.trim())
    if (!id || !port || !version || rest.length) throw new FlashlineError('usage', 'bad-child', `--child "${spec}" must be CHILD_ID,PORT,CURRENT_VERSION (e.g. --child sensor_07,/dev/ttyUSB1,1.0.3)`)
    if (platform === 'fogcloud' && !/^[^/]+\/[^/]+$/.test(id)) throw new FlashlineError('usage', 'bad-child', `--child id "${id}" must be PRODUCT_KEY/DEVICE_NAME for FogCloud`)
    if (seen.has(id)) throw new FlashlineError('usage', 'bad-child', `--child ${id} is given twice`)
    seen.add(id)
    return { id, port, currentVersion: version }
  })
}

/** The flags as the connection object a station file would hold (inline secrets allowed here). */
function connectionFromFlags(flags: Flags): Record<string, unknown> {
  const platform = oneOf(flags, 'platform', ['iotda', 'fogcloud', 'wudun'] as const)
  checkFlagCombinations(flags, platform)
  const broker = required(flags, 'broker', 'the platform broker, e.g. mqtts://xxxx.st1.iotda-device.cn-north-4.myhuaweicloud.com:8883')
  checkBrokerFlag(broker)
  let section: Record<string, unknown>
  let self: string
  if (platform === 'iotda') {
    self = required(flags, 'device-id', 'the IoTDA device id (as shown in the console)')
    const inline = str(flags, 'secret') ?? (str(flags, 'secret-file') === undefined && str(flags, 'cert') === undefined ? process.env['FLASHLINE_SECRET'] || undefined : undefined)
    if (inline === undefined && str(flags, 'secret-file') === undefined && str(flags, 'cert') === undefined && str(flags, 'key') === undefined) {
      throw new FlashlineError('usage', 'missing-flag', '--secret is required for IoTDA (or --secret-file, FLASHLINE_SECRET, or --cert/--key)')
    }
    section = { deviceId: self, secret: inline, secretFile: str(flags, 'secret-file'), certFile: str(flags, 'cert'), keyFile: str(flags, 'key'), checkTimestamp: flags['check-timestamp'] === true ? true : undefined }
  } else if (platform === 'fogcloud') {
    const productKey = required(flags, 'product-key', 'the FogCloud product key')
    const deviceName = required(flags, 'device-name', 'the FogCloud device name')
    const deviceSecret = str(flags, 'device-secret') ?? (process.env['FLASHLINE_SECRET'] || undefined)
    if (deviceSecret === undefined && str(flags, 'username') === undefined) throw new FlashlineError('usage', 'missing-flag', '--device-secret is required for FogCloud (or --username/--password for a private broker)')
    section = { productKey, deviceName, deviceSecret, module: str(flags, 'module') }
    self = `${productKey}/${deviceName}`
  } else {
    self = required(flags, 'device-uid', 'the EMS device UID')
    section = { deviceUid: self, topicPrefix: str(flags, 'topic-prefix'), source: str(flags, 'source') }
  }
  const specs = childSpecs(flags, platform)
  const currentVersion = required(flags, 'current-version', 'the version the device runs now, answered to the platform’s version queries')
  const slot = slotFields(flags)
  const children = specs.map((c) => ({ ...slot, ...c }))
  for (const c of children) if (c['id'] === self) throw new FlashlineError('usage', 'bad-child', `--child ${self} is the gateway itself`)
  const devices: Array<Record<string, unknown>> = [{ ...slot, id: self, currentVersion }, ...children]
  const ports = new Map<string, string>()
  for (const d of devices) {
    const owner = ports.get(String(d['port']))
    if (owner) throw new FlashlineError('usage', 'conflicting-flags', `${String(d['id'])} and ${owner} are both on port ${String(d['port'])}; every device needs its own bench port`)
    ports.set(String(d['port']), String(d['id']))
  }
  const raw: Record<string, unknown> = {
    platform,
    broker,
    ca: str(flags, 'ca'),
    allowHttp: flags['allow-http'] === true ? true : undefined,
    allowUnverified: flags['allow-unverified'] === true ? true : undefined,
    username: str(flags, 'username'),
    password: str(flags, 'password') ?? (process.env['FLASHLINE_MQTT_PASSWORD'] || undefined),
    connectTimeoutSeconds: numberish(str(flags, 'connect-timeout')),
    [platform]: dropUndefined(section),
    devices
  }
  return dropUndefined(raw)
}

function dropUndefined(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined))
}

/** The exit code of a job that has ended, by what it ended on. */
export function exitCodeForJob(job: JobInfo): number {
  if (job.result === 'succeeded') return 0
  if (job.result === 'cancelled') return EXIT_CODES.interrupted
  if (job.error && job.error.kind in EXIT_CODES) return EXIT_CODES[job.error.kind as keyof typeof EXIT_CODES]
  switch (job.reason) {
    case 'download-refused':
    case 'download-timeout':
      return EXIT_CODES.download
    case 'verification-failed':
      return EXIT_CODES.integrity
    case 'install-failed':
    case 'version-mismatch':
    case 'busy':
      return EXIT_CODES.device
    default:
      return EXIT_CODES.internal
  }
}

/** Flags that describe the connection or the device; --config replaces all of them. */
const CONNECTION_FLAGS = Object.keys(AGENT_OPTIONS).filter((k) => !['once', 'json', 'data-dir', 'report-timeout', 'config', 'records-db'].includes(k))

export async function agentCommand(argv: string[], makeOutput: (json: boolean) => Output, signal: AbortSignal): Promise<number> {
  const flags = parseFlags(argv, AGENT_OPTIONS, 'agent')
  const out = makeOutput(Boolean(flags['json']))
  const warn = (line: string) => out.error(line)
  let connections: ConnectionConfig[]
  let dataDir = str(flags, 'data-dir') ?? defaultDataDir()
  let records = recordsDbFrom(flags)
  const stationFile = str(flags, 'config')
  if (stationFile !== undefined) {
    const mixed = CONNECTION_FLAGS.find((k) => flags[k] !== undefined)
    if (mixed) throw new FlashlineError('usage', 'bad-flag', `--${mixed} cannot be combined with --config: the station file describes the connections and devices`)
    const file = readStationFile(stationFile, { warn })
    if (file.dataDir !== undefined) {
      const given = str(flags, 'data-dir')
      if (given !== undefined && resolve(given) !== resolve(file.dataDir)) {
        throw new FlashlineError('usage', 'bad-config', `${stationFile}: dataDir: is ${resolve(file.dataDir)}, but --data-dir gives ${resolve(given)}; give it in one place`)
      }
      dataDir = file.dataDir
    }
    if (file.recordsDb !== undefined) {
      if (str(flags, 'records-db') !== undefined && str(flags, 'records-db') !== file.recordsDb) {
        throw new FlashlineError('usage', 'bad-config', `${stationFile}: recordsDb: the station file names a records database and so does --records-db; give it in one place`)
      }
      records = { recordsDb: file.recordsDb, recordsDbSource: `${stationFile}: recordsDb` }
    }
    connections = file.connections
  } else {
    try {
      connections = [readConnection(connectionFromFlags(flags), { baseDir: process.cwd(), env: process.env, inlineSecrets: true, warn: (path, m) => warn(`warning: ${flagFor(path)} ${m}`) })]
    } catch (e) {
      throw flagError(e)
    }
  }
  return runAgent({ dataDir, connections, ...records }, out, signal, { once: Boolean(flags['once']), reportTimeoutMs: seconds(flags, 'report-timeout') ?? 300_000 })
}

/**
 * Serves the connections until interrupted (or, with --once, until the first job has ended and its
 * final report is acknowledged).
 */
export async function runAgent(setup: { dataDir: string; connections: ConnectionConfig[]; recordsDb?: string; recordsDbSource?: string }, out: Output, signal: AbortSignal, opts: { once: boolean; reportTimeoutMs?: number }): Promise<number> {
  useSimulators()
  const bench = new Bench({ dataDir: setup.dataDir, recordsDb: setup.recordsDb, recordsDbSource: setup.recordsDbSource })
  renderEvents(bench, out)
  let resolveFinished: (code: number) => void = () => undefined
  const finished = new Promise<number>((resolve) => (resolveFinished = resolve))
  if (opts.once) {
    bench.on('job', (j) => {
      if (j.origin !== 'platform') return
      if (j.result) resolveFinished(exitCodeForJob(j))
      if (j.phase === 'reporting' && opts.reportTimeoutMs) setTimeout(() => resolveFinished(EXIT_CODES.platform), opts.reportTimeoutMs).unref()
    })
  }
  signal.addEventListener('abort', () => resolveFinished(EXIT_CODES.interrupted), { once: true })
  try {
    const connecting = (async () => {
      for (const c of setup.connections) await bench.addConnection(c)
    })()
    // Ctrl-C while still connecting ends the run at once
    const early = await Promise.race([connecting.then(() => undefined), finished])
    const code = early ?? (await finished)
    if (code === EXIT_CODES.platform) out.error('the final report was not acknowledged by the broker in time; it stays queued and is sent on the next start')
    return code
  } catch (e) {
    throw e instanceof ConfigProblem ? flagError(e) : e
  } finally {
    await bench.close()
  }
}
