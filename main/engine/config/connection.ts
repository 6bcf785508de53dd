import { readFileSync } from 'node:fs'
import { isAbsolute, resolve } from 'node:path'
import type { SlotConfig } from '../jobs/slot'
import { validateBrokerUrl } from '../link/mqtt-link'
import type { PlatformName } from '../model'
import { describe, type FieldProblem } from './fields'
import { pemCertificateProblem, secretFileWarning } from './files'
import { check, connectionSchema, type RawConnection } from './schema'

/** A platform connection, checked and resolved: secrets and certificates read, defaults applied. */
export interface ConnectionConfig {
  platform: PlatformName
  broker: string
  /** PEM trust root added to the system roots for the broker and for package downloads. */
  ca?: string
  allowHttp: boolean
  allowUnverified: boolean
  username?: string
  password?: string
  connectTimeoutMs: number
  iotda?: { deviceId: string; secret?: string; cert?: string; key?: string; checkTimestamp: boolean }
  fogcloud?: { productKey: string; deviceName: string; deviceSecret?: string; module?: string }
  wudun?: { deviceUid: string; topicPrefix: string; source?: string }
  /** The connection's own device first, then its gateway children. */
  devices: SlotConfig[]
  /** `${platform}-${own device id}`: names its journal and outbox, unique per station. */
  identity: string
  /** The platform's own id of this device (the gateway when there are children). */
  self: string
}

/** A problem at a field of the configuration; readers name the field (station file, app) or the flag (CLI). */
export class ConfigProblem extends Error {
  constructor(
    readonly path: Array<string | number>,
    message: string
  ) {
    super(message)
    this.name = 'ConfigProblem'
  }

  static from(p: FieldProblem): ConfigProblem {
    return new ConfigProblem(p.path, p.message)
  }
}

export interface ResolveContext {
  /** Relative file references (ca, …File) are read from here. */
  baseDir: string
  env: Record<string, string | undefined>
  /** Inline secrets (CLI flags, the app's secure store) are allowed; the station file never has them. */
  inlineSecrets: boolean
  warn?: (path: Array<string | number>, message: string) => void
}

/** Checks a connection (as the station file writes it) and resolves it; throws ConfigProblem. */
export function readConnection(raw: unknown, ctx: ResolveContext): ConnectionConfig {
  const parsed = check(connectionSchema(ctx.inlineSecrets), raw)
  if (!parsed.ok) throw ConfigProblem.from(parsed.problem)
  return resolveConnection(parsed.value, ctx)
}

function fail(path: Array<string | number>, message: string): never {
  throw new ConfigProblem(path, message)
}

function readFile(ctx: ResolveContext, file: string, path: Array<string | number>): string {
  const full = isAbsolute(file) ? file : resolve(ctx.baseDir, file)
  try {
    return readFileSync(full, 'utf8')
  } catch (e) {
    return fail(path, `cannot read ${full}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`)
  }
}

/** A secret given inline (where allowed), as `<key>File` or as `<key>Env`: exactly one way. */
function secret(ctx: ResolveContext, o: Record<string, unknown>, key: string, path: Array<string | number>): string | undefined {
  const inline = o[key] as string | undefined
  const file = o[`${key}File`] as string | undefined
  const env = o[`${key}Env`] as string | undefined
  const given = [inline !== undefined && key, file !== undefined && `${key}File`, env !== undefined && `${key}Env`].filter((x): x is string => Boolean(x))
  if (given.length > 1) fail([...path, given[1]!], `give either ${given.join(' or ')}, not both`)
  if (inline !== undefined) return inline
  if (file !== undefined) {
    const where = [...path, `${key}File`]
    const value = readFile(ctx, file, where).trim()
    const warning = secretFileWarning(isAbsolute(file) ? file : resolve(ctx.baseDir, file))
    if (warning) ctx.warn?.(where, warning)
    if (!value) fail(where, `${file} is empty`)
    return value
  }
  if (env !== undefined) {
    const value = ctx.env[env]
    if (!value) fail([...path, `${key}Env`], `environment variable ${env} is not set`)
    return value
  }
  return undefined
}

/** The broker rule is the MQTT link's own; a problem comes back as the `broker` field's. */
function brokerUrl(raw: string): URL {
  try {
    return validateBrokerUrl(raw)
  } catch (e) {
    return fail(['broker'], (e as Error).message.replace(/^`broker` /, ''))
  }
}

function resolveConnection(c: RawConnection, ctx: ResolveContext): ConnectionConfig {
  const url = brokerUrl(c.broker)
  if (!ctx.inlineSecrets && (url.username || url.password)) {
    fail(['broker'], 'holds a user name or password; secrets are not kept in the station file: use username with passwordFile or passwordEnv')
  }
  for (const other of ['iotda', 'fogcloud', 'wudun'] as const) {
    if (other !== c.platform && c[other] !== undefined) fail([other], `does not belong to a ${c.platform} connection`)
  }
  if (c[c.platform] === undefined) fail([c.platform], `is required for platform ${c.platform}`)
  const password = secret(ctx, c, 'password', [])
  if (password !== undefined && c.username === undefined) fail(['username'], 'is required when a password is given')

  const out: Omit<ConnectionConfig, 'identity' | 'self'> = {
    platform: c.platform,
    broker: c.broker,
    allowHttp: c.allowHttp ?? false,
    allowUnverified: c.allowUnverified ?? false,
    username: c.username,
    password,
    connectTimeoutMs: Math.round((c.connectTimeoutSeconds ?? 30) * 1000),
    devices: c.devices
  }
  if (c.ca !== undefined) {
    const pem = readFile(ctx, c.ca, ['ca'])
    const problem = pemCertificateProblem(pem)
    if (problem) fail(['ca'], `${c.ca} ${problem}`)
    out.ca = pem
  }

  let self: string
  if (c.platform === 'iotda') {
    const s = c.iotda!
    const p = ['iotda']
    if ((s.certFile === undefined) !== (s.keyFile === undefined)) fail([...p, s.certFile ? 'keyFile' : 'certFile'], 'certFile and keyFile go together (X.509 device authentication)')
    const sec = secret(ctx, s, 'secret', p)
    if (sec !== undefined && s.certFile !== undefined) fail([...p, 'certFile'], 'a device logs in with a secret or with an X.509 certificate, not both')
    if (sec === undefined && s.certFile === undefined) fail(p, 'needs secretFile or secretEnv (or certFile and keyFile)')
    out.iotda = {
      deviceId: s.deviceId,
      secret: sec,
      cert: s.certFile !== undefined ? readFile(ctx, s.certFile, [...p, 'certFile']) : undefined,
      key: s.keyFile !== undefined ? readFile(ctx, s.keyFile, [...p, 'keyFile']) : undefined,
      checkTimestamp: s.checkTimestamp ?? false
    }
    self = s.deviceId
  } else if (c.platform === 'fogcloud') {
    const s = c.fogcloud!
    const p = ['fogcloud']
    const deviceSecret = secret(ctx, s, 'deviceSecret', p)
    if (deviceSecret === undefined && c.username === undefined) fail(p, 'needs deviceSecretFile or deviceSecretEnv (or username/password on the connection for a private broker)')
    out.fogcloud = { productKey: s.productKey, deviceName: s.deviceName, deviceSecret, module: s.module }
    self = `${s.productKey}/${s.deviceName}`
  } else {
    const s = c.wudun!
    out.wudun = { deviceUid: s.deviceUid, topicPrefix: s.topicPrefix ?? 'v1', source: s.source }
    self = s.deviceUid
  }

  // ports are checked by whoever holds several connections (the station file, the bench)
  const ids = new Set<string>()
  c.devices.forEach((d, i) => {
    if (ids.has(d.deviceId)) fail(['devices', i, 'id'], `device ${describe(d.deviceId)} is listed twice`)
    ids.add(d.deviceId)
    if (c.platform === 'fogcloud' && d.deviceId !== self && !/^[^/]+\/[^/]+$/.test(d.deviceId)) {
      fail(['devices', i, 'id'], `FogCloud children are named PRODUCT_KEY/DEVICE_NAME, got ${describe(d.deviceId)}`)
    }
  })
  return { ...out, identity: `${c.platform}-${self}`, self }
}
