import { z } from 'zod'
import type { SlotConfig, SlotSettings } from '../jobs/slot'
import { PROTOCOL_NAMES, PROTOCOLS } from '../protocols'
import { baud, choice, firstProblem, flag, regex, requiredChoice, requiredText, strictObject, text, wholeNumber, type FieldProblem } from './fields'

/**
 * The one configuration schema. The station file, the CLI's flags and the app all describe bench
 * slots and platform connections as the same objects (the station file's shape), checked here. The
 * station file alone forbids inline secrets; its readers turn a problem's path into a field path
 * (station file, app) or a flag (CLI).
 */

export const PLATFORMS = ['iotda', 'fogcloud', 'wudun'] as const
export type PlatformChoice = (typeof PLATFORMS)[number]

const SECRET_KEY = /^(secret|deviceSecret|password)$/

/** What the station file says instead of "unknown field" when a secret is written into it. */
function noInlineSecrets(key: string): string | undefined {
  if (!SECRET_KEY.test(key)) return undefined
  return `secrets are not kept in the station file; use ${key}File (a file only the station user can read) or ${key}Env (the name of an environment variable)`
}

/** Seconds, fractions allowed (a probe may wait 0.5 s), within [min, max]. */
const seconds = (min: number, max: number) =>
  z
    .unknown()
    .transform((v, ctx): number => {
      if (typeof v === 'number' && Number.isFinite(v) && v >= min && v <= max) return v
      ctx.addIssue({ code: 'custom', message: `expected a number of seconds from ${min} to ${max}, got ${typeof v === 'string' ? JSON.stringify(v) : `${typeof v} ${String(v)}`}` })
      return z.NEVER
    })
    .optional()

const probeSchema = strictObject({ pattern: regex(), baud: baud(), timeoutSeconds: seconds(0.1, 3600) })

/** Every protocol's option fields, for a strict device object that still lets each protocol check its own. */
const OPTION_FIELDS = [...new Set(Object.values(PROTOCOLS).flatMap((d) => d.optionFields))]

const slotShape = {
  port: requiredText(),
  protocol: requiredChoice(PROTOCOL_NAMES),
  baud: baud(),
  parity: choice(['none', 'even', 'odd'] as const),
  probe: probeSchema.optional(),
  ...Object.fromEntries(OPTION_FIELDS.map((k) => [k, z.unknown().optional()]))
}

type RawSlot = { port: string; protocol: SlotSettings['protocol']; baud?: number; parity?: 'none' | 'even' | 'odd'; probe?: z.output<typeof probeSchema> } & Record<string, unknown>

/** Runs the protocol's own options schema over the option fields; a field another protocol owns is an error. */
function toSlotSettings(raw: RawSlot, ctx: z.RefinementCtx): SlotSettings {
  const descriptor = PROTOCOLS[raw.protocol]
  const picked: Record<string, unknown> = {}
  for (const key of OPTION_FIELDS) {
    if (raw[key] === undefined) continue
    if (!descriptor.optionFields.includes(key)) {
      const owners = Object.values(PROTOCOLS)
        .filter((d) => d.optionFields.includes(key))
        .map((d) => d.name)
      ctx.addIssue({ code: 'custom', path: [key], message: `applies to ${owners.join(' and ')} devices only, not to protocol ${raw.protocol}` })
      continue
    }
    picked[key] = raw[key]
  }
  const parsed = (descriptor.options as z.ZodType).safeParse(picked)
  if (!parsed.success) for (const issue of parsed.error.issues) ctx.addIssue({ code: 'custom', path: issue.path as PropertyKey[], message: issue.message })
  const probe = raw.probe && { pattern: raw.probe.pattern, baud: raw.probe.baud, timeoutMs: raw.probe.timeoutSeconds !== undefined ? Math.round(raw.probe.timeoutSeconds * 1000) : undefined }
  const options = parsed.success ? (parsed.data as Record<string, unknown>) : {}
  // an option switched off is the same as one not given
  for (const k of Object.keys(options)) if (options[k] === undefined || options[k] === false) delete options[k]
  return { port: raw.port, protocol: raw.protocol, baud: raw.baud, parity: raw.parity, probe, options } as SlotSettings
}

/** A bench slot: port, protocol, line settings, the protocol's options, probe. */
export const slotSchema = strictObject(slotShape).transform((raw, ctx) => toSlotSettings(raw as RawSlot, ctx))

/** A platform device on the bench: a slot plus the platform's device id and the version it runs. */
export function deviceSchema(inlineSecrets: boolean) {
  return strictObject({ id: requiredText(), currentVersion: requiredText(), ...slotShape }, inlineSecrets ? undefined : noInlineSecrets).transform((raw, ctx): SlotConfig => {
    const { id, currentVersion, ...slot } = raw as RawSlot & { id: string; currentVersion: string }
    return { deviceId: id, currentVersion, ...toSlotSettings(slot as RawSlot, ctx) } as SlotConfig
  })
}

function sections(inlineSecrets: boolean) {
  const extra = inlineSecrets ? undefined : noInlineSecrets
  return {
    iotda: strictObject({ deviceId: requiredText(), ...(inlineSecrets ? { secret: text() } : {}), secretFile: text(), secretEnv: text(), certFile: text(), keyFile: text(), checkTimestamp: flag() }, extra),
    fogcloud: strictObject({ productKey: requiredText(), deviceName: requiredText(), ...(inlineSecrets ? { deviceSecret: text() } : {}), deviceSecretFile: text(), deviceSecretEnv: text(), module: text() }, extra),
    wudun: strictObject({ deviceUid: requiredText(), topicPrefix: text(), source: text() }, extra)
  }
}

const nonEmptyArray = <T extends z.ZodType>(item: T, what: string) =>
  z.array(item, { error: (iss) => `expected a non-empty array of ${what}, got ${iss.input === undefined ? 'nothing' : describeInput(iss.input)}` }).min(1, { error: () => `expected a non-empty array of ${what}, got an empty array` })

function describeInput(v: unknown): string {
  if (v === null) return 'null'
  if (Array.isArray(v)) return 'an array'
  if (typeof v === 'string') return JSON.stringify(v)
  if (typeof v === 'object') return 'an object'
  return `${typeof v} ${String(v)}`
}

/** A platform connection and the devices it serves, as written (secrets still references). */
export function connectionSchema(inlineSecrets: boolean) {
  const s = sections(inlineSecrets)
  return strictObject(
    {
      platform: requiredChoice(PLATFORMS),
      broker: requiredText(),
      ca: text(),
      allowHttp: flag(),
      allowUnverified: flag(),
      username: text(),
      ...(inlineSecrets ? { password: text() } : {}),
      passwordFile: text(),
      passwordEnv: text(),
      connectTimeoutSeconds: seconds(1, 3600),
      iotda: s.iotda.optional(),
      fogcloud: s.fogcloud.optional(),
      wudun: s.wudun.optional(),
      devices: nonEmptyArray(deviceSchema(inlineSecrets), 'bench devices')
    },
    inlineSecrets ? undefined : noInlineSecrets
  )
}

export type RawConnection = z.output<ReturnType<typeof connectionSchema>>

export const stationFileSchema = strictObject(
  {
    version: z
      .unknown()
      .refine((v) => v === 1, { error: (iss) => (iss.input === undefined ? 'is required: 1' : `expected 1, got ${describeInput(iss.input)}`) }),
    dataDir: text(),
    recordsDb: text(),
    connections: nonEmptyArray(z.unknown(), 'connections')
  },
  noInlineSecrets
)

/** Parses with a schema; the first problem as a FieldProblem, or the data. */
export function check<T>(schema: z.ZodType<T>, value: unknown): { ok: true; value: T } | { ok: false; problem: FieldProblem } {
  const r = schema.safeParse(value)
  if (r.success) return { ok: true, value: r.data }
  return { ok: false, problem: firstProblem(r.error) }
}
