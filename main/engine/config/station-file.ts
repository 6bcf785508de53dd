import { readFileSync } from 'node:fs'
import { dirname, isAbsolute, resolve } from 'node:path'
import type { AgentConfig } from '../agent'
import { FlashlineError } from '../errors'
import { pemCertificateProblem, secretFileWarning } from './files'
import { PROTOCOLS } from '../flash/registry'
import { parseSignalSequence } from '../flash/signal-sequence'
import type { SlotConfig } from '../jobs/slot'
import { validateBrokerUrl } from '../link/mqtt-link'
import type { ProtocolName } from '../model'
import type { PlatformAdapter } from '../platforms/adapter'
import { createFogcloudAdapter, fogcloudDeviceId } from '../platforms/fogcloud'
import { createIotdaAdapter } from '../platforms/iotda'
import { createWudunAdapter } from '../platforms/wudun'

/**
 * The station file (`flashline agent --config station.json`): one process, one or more platform
 * connections, and per device or gateway child its bench port, protocol, line settings and current
 * version. Secrets are never written in it: they are referenced by file (`…File`) or environment
 * variable (`…Env`). Every error names the JSON path of the bad field and what was expected.
 * Documented in README.md ("Station file"); version 1.
 */
type Json = unknown
type Obj = Record<string, Json>

class Reader {
  warn?: (message: string) => void
  private readonly warned = new Set<string>()

  constructor(
    private readonly file: string,
    private readonly baseDir: string
  ) {}

  fail(path: string, message: string): never {
    throw new FlashlineError('usage', 'bad-config', `${this.file}: ${path}: ${message}`)
  }

  obj(v: Json, path: string, allowed: string[]): Obj {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) this.fail(path, `expected an object, got ${describe(v)}`)
    for (const k of Object.keys(v as Obj)) {
      if (/^(secret|deviceSecret|password)$/.test(k)) {
        this.fail(`${path}.${k}`, `secrets are not kept in the station file; use ${k}File (a file only the station user can read) or ${k}Env (the name of an environment variable)`)
      }
      if (!allowed.includes(k)) this.fail(`${path}.${k}`, `unknown field (expected one of: ${allowed.join(', ')})`)
    }
    return v as Obj
  }

  str(o: Obj, key: string, path: string, required: true): string
  str(o: Obj, key: string, path: string, required?: false): string | undefined
  str(o: Obj, key: string, path: string, required = false): string | undefined {
    const v = o[key]
    if (v === undefined) return required ? this.fail(`${path}.${key}`, 'is required (a non-empty string)') : undefined
    if (typeof v !== 'string' || !v) this.fail(`${path}.${key}`, `expected a non-empty string, got ${describe(v)}`)
    return v
  }

  bool(o: Obj, key: string, path: string): boolean | undefined {
    const v = o[key]
    if (v === undefined) return undefined
    if (typeof v !== 'boolean') this.fail(`${path}.${key}`, `expected true or false, got ${describe(v)}`)
    return v
  }

  int(o: Obj, key: string, path: string, min: number, max: number): number | undefined {
    let v = o[key]
    if (v === undefined) return undefined
    if (typeof v === 'string' && /^0x[0-9a-f]+$/i.test(v)) v = Number.parseInt(v, 16)
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) this.fail(`${path}.${key}`, `expected a whole number from ${min} to ${max}, got ${describe(o[key])}`)
    return v
  }

  oneOf<T extends string>(o: Obj, key: string, path: string, choices: readonly T[], required: boolean): T | undefined {
    const v = o[key]
    if (v === undefined) return required ? this.fail(`${path}.${key}`, `is required: one of ${choices.join(', ')}`) : undefined
    if (typeof v !== 'string' || !(choices as readonly string[]).includes(v)) this.fail(`${path}.${key}`, `expected one of ${choices.join(', ')}, got ${describe(v)}`)
    return v as T
  }

  /** A secret given as `<key>File` or `<key>Env`. */
  secret(o: Obj, key: string, path: string): string | undefined {
    const file = this.str(o, `${key}File`, path)
    const env = this.str(o, `${key}Env`, path)
    if (file && env) this.fail(`${path}.${key}File`, `give either ${key}File or ${key}Env, not both`)
    if (file) {
      const text = this.readFile(file, `${path}.${key}File`).trim()
      const warning = secretFileWarning(isAbsolute(file) ? file : resolve(this.baseDir, file))
      const where = `${path}.${key}File`
      if (warning && !this.warned.has(where)) this.warn?.(`warning: ${this.file}: ${where}: ${warning}`)
      this.warned.add(where)
      return text
    }
    if (env) {
      const v = process.env[env]
      if (!v) this.fail(`${path}.${key}Env`, `environment variable ${env} is not set`)
      return v
    }
    return undefined
  }

  readFile(file: string, path: string): string {
    const full = isAbsolute(file) ? file : resolve(this.baseDir, file)
    try {
      return readFileSync(full, 'utf8')
    } catch (e) {
      return this.fail(path, `cannot read ${full}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`)
    }
  }
}

function describe(v: Json): string {
  if (v === null) return 'null'
  if (Array.isArray(v)) return 'an array'
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v)
  if (typeof v === 'object') return 'an object'
  return `${typeof v} ${String(v)}`
}

const DEVICE_FIELDS = ['id', 'port', 'protocol', 'baud', 'parity', 'currentVersion', 'menuCommand', 'address', 'entry', 'verify', 'unprotect', 'protect', 'image', 'mtu', 'probe']
const CONNECTION_FIELDS = ['platform', 'broker', 'ca', 'allowHttp', 'allowUnverified', 'username', 'passwordFile', 'passwordEnv', 'connectTimeoutSeconds', 'iotda', 'fogcloud', 'wudun', 'devices']

function readDevice(r: Reader, v: Json, path: string): SlotConfig {
  const d = r.obj(v, path, DEVICE_FIELDS)
  const protocolOptions: Record<string, unknown> = {}
  const address = r.int(d, 'address', path, 0, 0xffffffff)
  if (address !== undefined) protocolOptions['address'] = address
  for (const k of ['unprotect', 'protect'] as const) {
    if (d[k] === undefined) continue
    if (typeof d[k] !== 'boolean') r.fail(`${path}.${k}`, `expected true or false, got ${JSON.stringify(d[k])}`)
    if (d[k]) protocolOptions[k] = true
  }
  const imageNo = r.int(d, 'image', path, 0, 15)
  if (imageNo !== undefined) protocolOptions['image'] = imageNo
  const mtu = r.int(d, 'mtu', path, 128, 65535)
  if (mtu !== undefined) protocolOptions['mtu'] = mtu
  const menu = r.str(d, 'menuCommand', path)
  if (menu !== undefined) protocolOptions['menuCommand'] = menu
  const entry = r.str(d, 'entry', path)
  if (entry !== undefined) {
    try {
      parseSignalSequence(entry)
    } catch (e) {
      r.fail(`${path}.entry`, (e as Error).message.replace(/^--entry /, ''))
    }
    protocolOptions['entry'] = entry
  }
  const verify = r.oneOf(d, 'verify', path, ['auto', 'readback', 'crc', 'none'] as const, false)
  if (verify !== undefined) protocolOptions['verify'] = verify
  let probe: SlotConfig['probe']
  if (d['probe'] !== undefined) {
    const p = r.obj(d['probe'], `${path}.probe`, ['pattern', 'baud', 'timeoutSeconds'])
    const pattern = r.str(p, 'pattern', `${path}.probe`)
    if (pattern !== undefined) {
      try {
        new RegExp(pattern)
      } catch (e) {
        r.fail(`${path}.probe.pattern`, `not a valid regular expression: ${(e as Error).message}`)
      }
    }
    const timeout = r.int(p, 'timeoutSeconds', `${path}.probe`, 1, 3600)
    probe = { pattern, baud: r.int(p, 'baud', `${path}.probe`, 300, 16_000_000), timeoutMs: timeout !== undefined ? timeout * 1000 : undefined }
  }
  return {
    deviceId: r.str(d, 'id', path, true),
    port: r.str(d, 'port', path, true),
    protocol: r.oneOf(d, 'protocol', path, PROTOCOLS as readonly ProtocolName[], true)!,
    baud: r.int(d, 'baud', path, 300, 16_000_000),
    parity: r.oneOf(d, 'parity', path, ['none', 'even', 'odd'] as const, false),
    currentVersion: r.str(d, 'currentVersion', path, true),
    probe,
    protocolOptions
  }
}

function readAdapter(r: Reader, c: Obj, path: string, platform: 'iotda' | 'fogcloud' | 'wudun', children: string[], login: { username?: string; password?: string }): { adapter: PlatformAdapter; self: string } {
  const section = c[platform]
  if (section === undefined) r.fail(`${path}.${platform}`, `is required for platform ${platform}`)
  const p = `${path}.${platform}`
  if (platform === 'iotda') {
    const o = r.obj(section, p, ['deviceId', 'secretFile', 'secretEnv', 'certFile', 'keyFile', 'checkTimestamp'])
    const deviceId = r.str(o, 'deviceId', p, true)
    const secret = r.secret(o, 'secret', p)
    const certFile = r.str(o, 'certFile', p)
    const keyFile = r.str(o, 'keyFile', p)
    if (Boolean(certFile) !== Boolean(keyFile)) r.fail(`${p}.${certFile ? 'keyFile' : 'certFile'}`, 'certFile and keyFile go together (X.509 device authentication)')
    if (!secret && !certFile) r.fail(p, 'needs secretFile or secretEnv (or certFile and keyFile)')
    const cert = certFile ? r.readFile(certFile, `${p}.certFile`) : undefined
    const key = keyFile ? r.readFile(keyFile, `${p}.keyFile`) : undefined
    return { adapter: createIotdaAdapter({ deviceId, secret, cert, key, checkTimestamp: r.bool(o, 'checkTimestamp', p) }), self: deviceId }
  }
  if (platform === 'fogcloud') {
    const o = r.obj(section, p, ['productKey', 'deviceName', 'deviceSecretFile', 'deviceSecretEnv', 'module'])
    const productKey = r.str(o, 'productKey', p, true)
    const deviceName = r.str(o, 'deviceName', p, true)
    const deviceSecret = r.secret(o, 'deviceSecret', p)
    if (!deviceSecret && login.username === undefined) r.fail(p, 'needs deviceSecretFile or deviceSecretEnv (or username/password on the connection for a private broker)')
    children.forEach((id, i) => {
      if (!/^[^/]+\/[^/]+$/.test(id)) r.fail(`${path}.devices[${i}].id`, `FogCloud children are named PRODUCT_KEY/DEVICE_NAME, got ${describe(id)}`)
    })
    return {
      adapter: createFogcloudAdapter({ productKey, deviceName, deviceSecret, module: r.str(o, 'module', p), children, ...login }),
      self: fogcloudDeviceId(productKey, deviceName)
    }
  }
  const o = r.obj(section, p, ['deviceUid', 'topicPrefix', 'source'])
  const deviceUid = r.str(o, 'deviceUid', p, true)
  return { adapter: createWudunAdapter({ deviceUid, topicPrefix: r.str(o, 'topicPrefix', p) ?? 'v1', source: r.str(o, 'source', p), children, ...login }), self: deviceUid }
}

/** Reads and validates a station file into one agent configuration per connection. */
export function loadStationFile(file: string, defaults: { dataDir: string; dataDirGiven?: boolean; warn?: (message: string) => void }): AgentConfig[] {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (e) {
    throw new FlashlineError('usage', 'bad-config', `--config ${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`)
  }
  let json: Json
  try {
    json = JSON.parse(text)
  } catch (e) {
    throw new FlashlineError('usage', 'bad-config', `${file}: not valid JSON (${(e as Error).message})`)
  }
  const r = new Reader(file, dirname(resolve(file)))
  const root = r.obj(json, '(top level)', ['version', 'dataDir', 'connections'])
  const version = r.int(root, 'version', '(top level)', 1, 1)
  if (version === undefined) r.fail('version', 'is required: 1')
  const fileDataDir = r.str(root, 'dataDir', '(top level)')
  const dataDir = fileDataDir === undefined ? defaults.dataDir : resolve(fileDataDir)
  if (fileDataDir !== undefined && defaults.dataDirGiven && resolve(defaults.dataDir) !== dataDir) {
    r.fail('dataDir', `is ${dataDir}, but the data directory was also given as ${resolve(defaults.dataDir)}; give it in one place`)
  }
  r.warn = defaults.warn
  const list = root['connections']
  if (!Array.isArray(list) || list.length === 0) r.fail('connections', `expected a non-empty array of connections, got ${describe(list)}`)
  const seenPorts = new Map<string, string>()
  const connections: Array<{ path: string; identity: string; broker: string; clientId: string }> = []
  return (list as Json[]).map((cv, ci) => {
    const path = `connections[${ci}]`
    const c = r.obj(cv, path, CONNECTION_FIELDS)
    const platform = r.oneOf(c, 'platform', path, ['iotda', 'fogcloud', 'wudun'] as const, true)!
    const broker = r.str(c, 'broker', path, true)
    try {
      const url = validateBrokerUrl(broker)
      if (url.username || url.password) r.fail(`${path}.broker`, 'holds a user name or password; secrets are not kept in the station file: use username with passwordFile or passwordEnv')
    } catch (e) {
      if (e instanceof FlashlineError && e.code === 'bad-config') throw e
      r.fail(`${path}.broker`, (e as Error).message.replace(/^--broker /, ''))
    }
    for (const other of ['iotda', 'fogcloud', 'wudun'] as const) {
      if (other !== platform && c[other] !== undefined) r.fail(`${path}.${other}`, `does not belong to a ${platform} connection`)
    }
    const username = r.str(c, 'username', path)
    const password = r.secret(c, 'password', path)
    if (password !== undefined && username === undefined) r.fail(`${path}.username`, 'is required when a password is given')
    const devicesJson = c['devices']
    if (!Array.isArray(devicesJson) || devicesJson.length === 0) r.fail(`${path}.devices`, `expected a non-empty array of bench devices, got ${describe(devicesJson)}`)
    const slots = (devicesJson as Json[]).map((d, di) => readDevice(r, d, `${path}.devices[${di}]`))
    const ids = new Set<string>()
    slots.forEach((s, di) => {
      if (ids.has(s.deviceId)) r.fail(`${path}.devices[${di}].id`, `device ${describe(s.deviceId)} is listed twice`)
      ids.add(s.deviceId)
      if (!s.port.startsWith('sim:')) {
        const owner = seenPorts.get(s.port)
        if (owner) r.fail(`${path}.devices[${di}].port`, `${s.port} is already used by ${owner}`)
        seenPorts.set(s.port, `${path}.devices[${di}]`)
      }
    })
    // Children are every listed device except the connection's own identity (known once its section is read).
    const own = readAdapter(r, c, path, platform, [], { username, password }).self
    const children = slots.filter((s) => s.deviceId !== own).map((s) => s.deviceId)
    const { adapter, self } = readAdapter(r, c, path, platform, children, { username, password })
    const caFile = r.str(c, 'ca', path)
    const ca = caFile ? r.readFile(caFile, `${path}.ca`) : undefined
    const caProblem = ca === undefined ? undefined : pemCertificateProblem(ca)
    if (caProblem) r.fail(`${path}.ca`, `${caFile} ${caProblem}`)
    const identity = `${platform}-${self}`
    const client = adapter.login(new Date()).clientId
    const clash = connections.find((o) => o.identity === identity || (o.broker === broker && o.clientId === client))
    if (clash) {
      r.fail(path, `connects as the same device as ${clash.path} (${identity}); two connections with one identity would share a client id, a journal and an outbox and keep logging each other out — list its devices under one connection`)
    }
    connections.push({ path, identity, broker, clientId: client })
    return {
      adapter,
      brokerUrl: broker,
      ca,
      allowHttp: r.bool(c, 'allowHttp', path) ?? false,
      allowUnverified: r.bool(c, 'allowUnverified', path) ?? false,
      dataDir,
      identity,
      slots,
      connectTimeoutMs: (r.int(c, 'connectTimeoutSeconds', path, 1, 3600) ?? 30) * 1000
    }
  })
}
