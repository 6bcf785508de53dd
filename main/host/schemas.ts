import { z } from 'zod'
import type { ApiError, ApiMethod, Result } from '../../preload/contract'

/**
 * One zod schema per API method: every argument the renderer sends is checked here before the host
 * touches it (shape, types, lengths). What only the engine can judge (a slot's protocol options, a
 * broker URL) is checked again by the engine's configuration schema, whose field paths the host
 * reports the same way.
 */

const MAX_TEXT = 4096
/** Base64 of the largest package the browser may upload (64 MiB). */
export const MAX_UPLOAD_BYTES = 64 * 1024 * 1024
const MAX_UPLOAD_BASE64 = Math.ceil(MAX_UPLOAD_BYTES / 3) * 4

const text = (max = MAX_TEXT) => z.string().min(1, { error: 'must not be empty' }).max(max, { error: `must be at most ${max} characters` })
const optionalText = (max = MAX_TEXT) => z.string().max(max, { error: `must be at most ${max} characters` }).optional()
const id = () => z.string().regex(/^[A-Za-z0-9][\w.-]{0,63}$/, { error: 'expected an id of letters, digits, ".", "_" or "-" (at most 64)' })
const jobId = () => text(128)
const sha256 = () => z.string().regex(/^[0-9a-fA-F]{64}$/, { error: 'expected a SHA-256 (64 hex digits)' })
const md5 = () => z.string().regex(/^[0-9a-fA-F]{32}$/, { error: 'expected an MD5 (32 hex digits)' })
const int = (min: number, max: number) =>
  z
    .number({ error: 'expected a number' })
    .int({ error: 'expected a whole number' })
    .min(min, { error: `expected at least ${min}` })
    .max(max, { error: `expected at most ${max}` })
const pem = () => z.string().max(64 * 1024, { error: 'must be at most 64 KiB of PEM text' })
const none = z.union([z.undefined(), z.null()], { error: 'takes no argument' })

export const slotSettingsSchema = z.strictObject({
  port: text(512),
  protocol: z.enum(['ymodem', 'stm32', 'esp', 'mcuboot']),
  baud: int(300, 16_000_000).optional(),
  parity: z.enum(['none', 'even', 'odd']).optional(),
  menuCommand: optionalText(64),
  address: z.union([int(0, 0xffff_ffff), text(32)]).optional(),
  entry: optionalText(256),
  verify: z.enum(['auto', 'readback', 'crc', 'none']).optional(),
  unprotect: z.boolean().optional(),
  protect: z.boolean().optional(),
  image: int(0, 255).optional(),
  mtu: int(64, 65_535).optional(),
  probe: z
    .strictObject({
      pattern: optionalText(512),
      baud: int(300, 16_000_000).optional(),
      timeoutSeconds: z.number().min(0.1).max(3600).optional()
    })
    .optional()
})

const profileSchema = z.strictObject({
  id: id().optional(),
  name: text(200),
  platform: z.enum(['iotda', 'fogcloud', 'wudun']),
  broker: text(2048),
  ca: pem().optional(),
  allowHttp: z.boolean().optional(),
  allowUnverified: z.boolean().optional(),
  username: optionalText(512),
  iotda: z.strictObject({ deviceId: text(256), checkTimestamp: z.boolean().optional() }).optional(),
  fogcloud: z.strictObject({ productKey: text(256), deviceName: text(256), module: optionalText(128) }).optional(),
  wudun: z.strictObject({ deviceUid: text(256), topicPrefix: optionalText(256), source: optionalText(128) }).optional(),
  devices: z.array(z.strictObject({ id: text(512), slotId: id(), currentVersion: text(128) }), { error: 'expected a list of devices' }).max(256, { error: 'at most 256 devices' })
})

const secretsSchema = z.strictObject({
  secret: optionalText(1024),
  deviceSecret: optionalText(1024),
  password: optionalText(1024),
  cert: pem().optional(),
  key: pem().optional()
})

const recordFilterSchema = z.strictObject({
  since: z.iso.datetime({ offset: true, error: 'expected an ISO 8601 date and time' }).optional(),
  until: z.iso.datetime({ offset: true, error: 'expected an ISO 8601 date and time' }).optional(),
  result: z.enum(['succeeded', 'failed', 'cancelled']).optional(),
  origin: z.enum(['platform', 'local', 'batch']).optional(),
  chipId: optionalText(256),
  serialNumber: optionalText(256)
})

const usbId = () => z.string().regex(/^[0-9a-fA-F]{4}$/, { error: 'expected 4 hex digits' })

export const SCHEMAS = {
  appInfo: none,
  listPorts: none,
  getSettings: none,
  updateSettings: z.strictObject({
    language: z.enum(['en', 'zh-CN', 'system']).optional(),
    serialPattern: z.string().max(512, { error: 'must be at most 512 characters' }).optional(),
    station: optionalText(200),
    operator: optionalText(200),
    operatorMode: z.literal(true, { error: 'can only be turned on here (true); turn it off with the admin PIN' }).optional(),
    recordsDb: z.union([text(2048), z.null()]).optional()
  }),
  setAdminPin: z.strictObject({ pin: z.string().min(4, { error: 'must have at least 4 characters' }).max(64, { error: 'must be at most 64 characters' }), currentPin: z.string().max(64).optional() }),
  unlockOperatorMode: z.strictObject({ pin: z.string().max(64, { error: 'must be at most 64 characters' }) }),
  listSlots: none,
  saveSlot: z.strictObject({ id: id().optional(), label: optionalText(200), settings: slotSettingsSchema }),
  removeSlot: z.strictObject({ id: id() }),
  listProfiles: none,
  saveProfile: z.strictObject({ profile: profileSchema, secrets: secretsSchema.optional() }),
  removeProfile: z.strictObject({ id: id() }),
  connect: z.strictObject({ profileId: id() }),
  disconnect: z.strictObject({ connectionId: text(512) }),
  listConnections: none,
  listPackages: none,
  importPackage: z.strictObject({ path: text(), sha256: sha256().optional(), md5: md5().optional() }),
  uploadPackage: z.strictObject({
    name: text(255),
    dataBase64: z
      .string()
      .min(1, { error: 'is empty: there is nothing to flash' })
      .max(MAX_UPLOAD_BASE64, { error: `is larger than ${MAX_UPLOAD_BYTES / 1024 / 1024} MiB; copy the file to the station and import it there` }),
    sha256: sha256().optional(),
    md5: md5().optional()
  }),
  pickPackageFile: none,
  removePackage: z.strictObject({ sha256: sha256() }),
  flash: z
    .strictObject({ slotId: id().optional(), slot: slotSettingsSchema.optional(), sha256: sha256(), serialNumber: optionalText(256) })
    .refine((a) => (a.slotId === undefined) !== (a.slot === undefined), { path: ['slotId'], error: 'give either slotId (a saved slot) or slot (one-off settings), one of them' }),
  detect: z.strictObject({ slot: slotSettingsSchema }),
  listJobs: z.union([z.undefined(), z.strictObject({ limit: int(1, 10_000).optional() })]),
  cancelJob: z.strictObject({ jobId: jobId() }),
  jobLog: z.strictObject({ jobId: jobId() }),
  startBatch: z
    .strictObject({
      slotIds: z.array(id()).min(1, { error: 'expected at least one slot' }).max(256, { error: 'at most 256 slots' }).optional(),
      watch: z
        .strictObject({
          match: z.array(z.strictObject({ vendorId: usbId(), productId: usbId() })).min(1, { error: 'needs at least one USB VID:PID: a port outside the allow-list is never touched' }).max(64),
          count: int(1, 1_000_000).optional(),
          slot: slotSettingsSchema
        })
        .optional(),
      sha256: sha256(),
      retries: int(0, 100).optional(),
      concurrency: int(1, 256).optional(),
      serialNumber: optionalText(256)
    })
    .refine((a) => (a.slotIds === undefined) !== (a.watch === undefined), { path: ['slotIds'], error: 'give either slotIds (fixed slots) or watch (station mode), one of them' }),
  stopBatch: z.strictObject({ batchId: text(128) }),
  cancelBatch: z.strictObject({ batchId: text(128) }),
  retryFailed: z.strictObject({ batchId: text(128) }),
  currentBatch: none,
  queryRecords: z.union([z.undefined(), recordFilterSchema]),
  exportRecords: z.strictObject({ filter: recordFilterSchema, format: z.enum(['csv', 'jsonl']) }),
  runDemo: none
} satisfies Record<ApiMethod, z.ZodType>

export type ParsedArgs<M extends ApiMethod> = z.output<(typeof SCHEMAS)[M]>

/** `settings.probe.baud`, `slotIds[2]` */
export function fieldPath(path: ReadonlyArray<PropertyKey>): string {
  let out = ''
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out ? `.${String(p)}` : String(p)
  return out
}

export function badArgument(field: string, message: string): ApiError {
  return { kind: 'usage', code: 'bad-argument', message: field ? `${field}: ${message}` : message, field: field || undefined }
}

/** Checks a method's argument; a usage error names the first bad field. */
export function parseArgs<M extends ApiMethod>(method: M, args: unknown): Result<ParsedArgs<M>> {
  const schema = SCHEMAS[method] as z.ZodType
  if (!schema) return { ok: false, error: { kind: 'usage', code: 'unknown-method', message: `there is no method "${String(method)}"` } }
  const r = schema.safeParse(args)
  if (r.success) return { ok: true, value: r.data as ParsedArgs<M> }
  const issue = r.error.issues[0]!
  const path = [...issue.path]
  let message = issue.message
  if (issue.code === 'unrecognized_keys') {
    path.push(issue.keys[0]!)
    message = 'unknown field'
  }
  const field = fieldPath(path)
  return { ok: false, error: badArgument(field, field ? message : `${method}: ${message}`) }
}
