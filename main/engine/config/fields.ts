import { z } from 'zod'
import { parseSignalSequence } from '../flash/signal-sequence'

/**
 * Field checks shared by every configuration source (station file, CLI flags, the app): one rule,
 * one message, whoever asks. Each message says what was expected and what was given; the reader
 * puts the field's path (or the CLI its flag) in front of it.
 */

export function describe(v: unknown): string {
  if (v === null) return 'null'
  if (Array.isArray(v)) return 'an array'
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v)
  if (typeof v === 'object') return 'an object'
  return `${typeof v} ${String(v)}`
}

type Check<T> = (v: unknown) => { ok: true; value: T } | { ok: false; message: string }

/** A field whose value is checked (and possibly converted) by `check`, with `check`'s own message. */
function field<T>(check: Check<T>, requiredMessage: string) {
  return z.unknown().transform((v, ctx): T => {
    const r = v === undefined ? ({ ok: false, message: requiredMessage } as const) : check(v)
    if (r.ok) return r.value
    ctx.addIssue({ code: 'custom', message: r.message })
    return z.NEVER
  })
}

/** Same as `field`, but absent (undefined) is fine, and the key is optional in the result. */
function optionalField<T>(check: Check<T>) {
  return z
    .unknown()
    .transform((v, ctx): T => {
      const r = check(v)
      if (r.ok) return r.value
      ctx.addIssue({ code: 'custom', message: r.message })
      return z.NEVER
    })
    .optional()
}

const textCheck: Check<string> = (v) => (typeof v === 'string' && v !== '' ? { ok: true, value: v } : { ok: false, message: `expected a non-empty string, got ${describe(v)}` })

export const text = () => optionalField(textCheck)
export const requiredText = () => field(textCheck, 'is required (a non-empty string)')

export const flag = () => optionalField<boolean>((v) => (typeof v === 'boolean' ? { ok: true, value: v } : { ok: false, message: `expected true or false, got ${describe(v)}` }))

/** A whole number in [min, max]; "0x…" hex strings are accepted (addresses are written that way). */
export function wholeNumber(min: number, max: number) {
  return optionalField<number>((raw) => {
    const v = typeof raw === 'string' && /^0x[0-9a-f]+$/i.test(raw) ? Number.parseInt(raw, 16) : raw
    if (typeof v === 'number' && Number.isSafeInteger(v) && v >= min && v <= max) return { ok: true, value: v }
    return { ok: false, message: `expected a whole number from ${min} to ${max}, got ${describe(raw)}` }
  })
}

function choiceCheck<T extends string>(choices: readonly T[]): Check<T> {
  return (v) => (typeof v === 'string' && (choices as readonly string[]).includes(v) ? { ok: true, value: v as T } : { ok: false, message: `expected one of ${choices.join(', ')}, got ${describe(v)}` })
}
export const choice = <T extends string>(choices: readonly T[]) => optionalField(choiceCheck(choices))
export const requiredChoice = <T extends string>(choices: readonly T[]) => field(choiceCheck(choices), `is required: one of ${choices.join(', ')}`)

export const regex = () =>
  optionalField<string>((v) => {
    const t = textCheck(v)
    if (!t.ok) return t
    try {
      new RegExp(t.value)
      return t
    } catch (e) {
      return { ok: false, message: `not a valid regular expression: ${(e as Error).message}` }
    }
  })

/** A DTR/RTS sequence in stm32flash `-i` syntax (entry[:exit]). */
export const signalSequence = () =>
  optionalField<string>((v) => {
    const t = textCheck(v)
    if (!t.ok) return t
    try {
      parseSignalSequence(t.value)
      return t
    } catch (e) {
      return { ok: false, message: (e as Error).message.replace(/^`entry` /, '') }
    }
  })

export const baud = () => wholeNumber(300, 16_000_000)

/** A strict object: an unknown key is an error naming the fields that are allowed. */
export function strictObject<S extends z.ZodRawShape>(shape: S, extra?: (key: string) => string | undefined) {
  const allowed = Object.keys(shape)
  return z.strictObject(shape, {
    error: (iss) => {
      if (iss.code === 'unrecognized_keys') {
        const key = iss.keys[0]!
        return extra?.(key) ?? `unknown field (expected one of: ${allowed.join(', ')})`
      }
      if (iss.code === 'invalid_type') return `expected an object, got ${describe(iss.input)}`
      return undefined
    }
  })
}

/** One problem in a configuration: where (JSON path) and what. */
export interface FieldProblem {
  path: Array<string | number>
  message: string
}

/** The first problem zod found, with the unknown key itself in the path. */
export function firstProblem(error: z.ZodError): FieldProblem {
  const issue = error.issues[0]!
  const path = [...issue.path] as Array<string | number>
  if (issue.code === 'unrecognized_keys') path.push(issue.keys[0]!)
  return { path, message: issue.message }
}

/** `connections[0].devices[1].baud` */
export function formatPath(path: ReadonlyArray<string | number>): string {
  let out = ''
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out ? `.${p}` : p
  return out || '(top level)'
}
