import { ConfigProblem, FlashlineError, formatPath } from '../engine'
import { str, type Flags, type OptionSpec } from './args'

/**
 * The CLI's side of the one configuration schema: flags become the same objects a station file
 * holds, the engine checks them, and a problem's field path is told back as the flag to fix.
 */

/** Flags that describe how to reach and flash one bench device; shared by `agent`, `flash` and `batch`. */
export const SLOT_OPTIONS: OptionSpec = {
  port: { type: 'string' },
  protocol: { type: 'string' },
  baud: { type: 'string' },
  parity: { type: 'string' },
  address: { type: 'string' },
  'menu-command': { type: 'string' },
  image: { type: 'string' },
  mtu: { type: 'string' },
  verify: { type: 'string' },
  entry: { type: 'string' },
  unprotect: { type: 'boolean' },
  protect: { type: 'boolean' },
  probe: { type: 'string' },
  'probe-baud': { type: 'string' },
  'probe-timeout': { type: 'string' }
}

/** Field (last path parts) → flag. */
const SLOT_FLAGS: Record<string, string> = {
  port: '--port',
  protocol: '--protocol',
  baud: '--baud',
  parity: '--parity',
  menuCommand: '--menu-command',
  address: '--address',
  entry: '--entry',
  verify: '--verify',
  unprotect: '--unprotect',
  protect: '--protect',
  image: '--image',
  mtu: '--mtu',
  'probe.pattern': '--probe',
  'probe.baud': '--probe-baud',
  'probe.timeoutSeconds': '--probe-timeout',
  currentVersion: '--current-version',
  id: '--child'
}

const CONNECTION_FLAGS: Record<string, string> = {
  platform: '--platform',
  broker: '--broker',
  ca: '--ca',
  allowHttp: '--allow-http',
  allowUnverified: '--allow-unverified',
  username: '--username',
  password: '--password',
  connectTimeoutSeconds: '--connect-timeout',
  'iotda.deviceId': '--device-id',
  'iotda.secret': '--secret',
  'iotda.secretFile': '--secret-file',
  'iotda.certFile': '--cert',
  'iotda.keyFile': '--key',
  'iotda.checkTimestamp': '--check-timestamp',
  iotda: '--secret',
  'fogcloud.productKey': '--product-key',
  'fogcloud.deviceName': '--device-name',
  'fogcloud.deviceSecret': '--device-secret',
  'fogcloud.module': '--module',
  fogcloud: '--device-secret',
  'wudun.deviceUid': '--device-uid',
  'wudun.topicPrefix': '--topic-prefix',
  'wudun.source': '--source',
  devices: '--port'
}

/** The flag a field path came from (devices[0] is the device itself, devices[n>0] its --child). */
export function flagFor(path: ReadonlyArray<string | number>): string {
  if (path[0] === 'devices' && typeof path[1] === 'number') {
    const field = path.slice(2).join('.')
    if (path[1] > 0 && (field === 'port' || field === 'id' || field === 'currentVersion' || field === '')) return '--child'
    return SLOT_FLAGS[field] ?? SLOT_FLAGS[String(path[2])] ?? '--port'
  }
  const joined = path.join('.')
  return CONNECTION_FLAGS[joined] ?? SLOT_FLAGS[joined] ?? CONNECTION_FLAGS[String(path[0])] ?? formatPath(path)
}

/** A configuration problem as a one-line usage error naming the flag. */
export function flagError(e: unknown): unknown {
  if (e instanceof ConfigProblem) return new FlashlineError('usage', 'bad-flag', `${flagFor(e.path)}: ${e.message}`)
  if (e instanceof FlashlineError && e.code === 'bad-config' && typeof e.details?.['path'] === 'string') {
    // the engine named a field of a slot given by flags
    const path = String(e.details['path']).split('.')
    return new FlashlineError('usage', 'bad-flag', `${SLOT_FLAGS[path.join('.')] ?? SLOT_FLAGS[path[0]!] ?? path.join('.')}: ${e.message.replace(/^[^:]+: /, '')}`)
  }
  return e
}

/** A number as typed on the command line, left as text when it is not one (the schema then says what was expected). */
export function numberish(v: string | undefined): number | string | undefined {
  if (v === undefined) return undefined
  if (/^-?\d+(\.\d+)?$/.test(v)) return Number(v)
  return v
}

/** The slot fields of the flags, as a station file's device object holds them. */
export function slotFields(flags: Flags): Record<string, unknown> {
  const probe = str(flags, 'probe')
  const menu = str(flags, 'menu-command')
  const fields: Record<string, unknown> = {
    port: str(flags, 'port'),
    protocol: str(flags, 'protocol'),
    baud: numberish(str(flags, 'baud')),
    parity: str(flags, 'parity'),
    menuCommand: menu?.replace(/\\r/g, '\r').replace(/\\n/g, '\n'),
    address: numberish(str(flags, 'address')),
    entry: str(flags, 'entry'),
    verify: str(flags, 'verify'),
    unprotect: flags['unprotect'] === true ? true : undefined,
    protect: flags['protect'] === true ? true : undefined,
    image: numberish(str(flags, 'image')),
    mtu: numberish(str(flags, 'mtu'))
  }
  if (probe !== undefined) fields['probe'] = { pattern: probe, baud: numberish(str(flags, 'probe-baud')), timeoutSeconds: numberish(str(flags, 'probe-timeout')) }
  else if (str(flags, 'probe-baud') !== undefined || str(flags, 'probe-timeout') !== undefined) throw new FlashlineError('usage', 'missing-flag', '--probe-baud and --probe-timeout need --probe REGEX')
  if (fields['port'] === undefined) throw new FlashlineError('usage', 'missing-flag', '--port is required: the serial port of the device on the bench (see "flashline ports"), or sim:ymodem for the simulator')
  if (fields['protocol'] === undefined) throw new FlashlineError('usage', 'missing-flag', '--protocol is required: one of ymodem, stm32, esp, mcuboot')
  for (const k of Object.keys(fields)) if (fields[k] === undefined) delete fields[k]
  return fields
}

/** `--records-db URL`, or env FLASHLINE_RECORDS_DB: where records are also replicated. */
export function recordsDbFrom(flags: Flags): { recordsDb?: string; recordsDbSource?: string } {
  const flag = str(flags, 'records-db')
  if (flag !== undefined) return { recordsDb: flag, recordsDbSource: '--records-db' }
  const env = process.env['FLASHLINE_RECORDS_DB']
  return env ? { recordsDb: env, recordsDbSource: 'FLASHLINE_RECORDS_DB' } : {}
}

