import { readFileSync } from 'node:fs'
import { parseArgs, type ParseArgsConfig } from 'node:util'
import { FlashlineError } from '../engine/errors'

export type OptionSpec = NonNullable<ParseArgsConfig['options']>
export type Flags = Record<string, string | boolean | string[] | undefined>

/**
 * Parses flags strictly: an unknown flag, a missing value or a flag given twice (unless it is meant to
 * repeat) is a one-line usage error naming the flag.
 */
export function parseFlags(argv: string[], options: OptionSpec, command: string): Flags {
  let parsed
  try {
    parsed = parseArgs({ args: joinDashValues(argv, options), options, strict: true, allowPositionals: true, tokens: true })
  } catch (e) {
    const msg = (e as Error).message
      .replace(/^Unknown option '([^']+)'.*$/s, `unknown flag $1 for "flashline ${command}"; see "flashline ${command} --help"`)
      .replace(/^Option '([^']+?)(?: <value>)?' argument missing.*$/s, `flag $1 needs a value`)
      .replace(/^Option '([^']+?)' argument is ambiguous.*$/s, `flag $1 needs a value; a value starting with "-" is written $1=VALUE`)
    throw new FlashlineError('usage', 'bad-flag', msg.split('\n')[0]!)
  }
  const { values, positionals, tokens } = parsed
  if (positionals.length) throw new FlashlineError('usage', 'unexpected-argument', `unexpected argument "${positionals[0]}" for "flashline ${command}" (flags start with --)`)
  const seen = new Set<string>()
  for (const t of tokens) {
    if (t.kind !== 'option' || options[t.name]?.multiple) continue
    if (seen.has(t.name)) throw new FlashlineError('usage', 'repeated-flag', `--${t.name} is given twice; give it once`)
    seen.add(t.name)
  }
  return values as Flags
}

/**
 * A value that starts with "-" (an --entry sequence "-rts&dtr,…", a negative number) belongs to the
 * flag before it unless it is itself one of the command's flags: node's parser would call it ambiguous.
 */
function joinDashValues(argv: string[], options: OptionSpec): string[] {
  const out: string[] = []
  for (let i = 0; i < argv.length; i++) {
    const name = /^--([^=]+)$/.exec(argv[i]!)?.[1]
    const next = argv[i + 1]
    if (name && options[name]?.type === 'string' && next?.startsWith('-') && !(/^--?([^=]+)/.exec(next)?.[1]! in options) && next !== '-h') {
      out.push(`${argv[i]}=${next}`)
      i++
    } else out.push(argv[i]!)
  }
  return out
}

/** The flags among `names` that were given. */
export function given(flags: Flags, names: readonly string[]): string[] {
  return names.filter((n) => flags[n] !== undefined && flags[n] !== false)
}

/** A usage error when two flags that exclude each other are both given. */
export function exclusive(flags: Flags, a: string, b: string, why: string): void {
  if (flags[a] !== undefined && flags[b] !== undefined) throw new FlashlineError('usage', 'conflicting-flags', `--${a} and --${b} cannot be combined: ${why}`)
}

export function str(flags: Flags, name: string): string | undefined {
  const v = flags[name]
  return typeof v === 'string' ? v : undefined
}

export function required(flags: Flags, name: string, what: string): string {
  const v = str(flags, name)
  if (v === undefined || v === '') throw new FlashlineError('usage', 'missing-flag', `--${name} is required: ${what}`)
  return v
}

export function int(flags: Flags, name: string, opts: { min?: number; max?: number } = {}): number | undefined {
  const v = str(flags, name)
  if (v === undefined) return undefined
  const n = /^0x[0-9a-f]+$/i.test(v) ? Number.parseInt(v, 16) : /^\d+$/.test(v) ? Number.parseInt(v, 10) : Number.NaN
  if (!Number.isSafeInteger(n)) throw new FlashlineError('usage', 'bad-number', `--${name} must be a whole number, got "${v}"`)
  if (opts.min !== undefined && n < opts.min) throw new FlashlineError('usage', 'bad-number', `--${name} must be at least ${opts.min}, got ${n}`)
  if (opts.max !== undefined && n > opts.max) throw new FlashlineError('usage', 'bad-number', `--${name} must be at most ${opts.max}, got ${n}`)
  return n
}

export function seconds(flags: Flags, name: string): number | undefined {
  const v = str(flags, name)
  if (v === undefined) return undefined
  const n = Number(v)
  if (!Number.isFinite(n) || n <= 0) throw new FlashlineError('usage', 'bad-number', `--${name} must be a positive number of seconds, got "${v}"`)
  return n * 1000
}

export function hexDigest(flags: Flags, name: string, length: number): string | undefined {
  const v = str(flags, name)
  if (v === undefined) return undefined
  if (!new RegExp(`^[0-9a-fA-F]{${length}}$`).test(v)) throw new FlashlineError('usage', 'bad-hash', `--${name} must be ${length} hex digits, got "${v}"`)
  return v.toLowerCase()
}

export function readTextFile(flags: Flags, name: string): string | undefined {
  const path = str(flags, name)
  if (path === undefined) return undefined
  try {
    return readFileSync(path, 'utf8')
  } catch (e) {
    throw new FlashlineError('usage', 'unreadable-file', `--${name} ${path}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`)
  }
}

export function oneOf<T extends string>(flags: Flags, name: string, allowed: readonly T[], fallback?: T): T {
  const v = str(flags, name) ?? fallback
  if (v === undefined) throw new FlashlineError('usage', 'missing-flag', `--${name} is required: one of ${allowed.join(', ')}`)
  if (!(allowed as readonly string[]).includes(v)) throw new FlashlineError('usage', 'bad-choice', `--${name} must be one of ${allowed.join(', ')}, got "${v}"`)
  return v as T
}
