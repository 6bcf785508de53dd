import { readFileSync } from 'node:fs'
import { parseArgs, type ParseArgsConfig } from 'node:util'
import { FlashlineError } from '../engine/errors'

export type OptionSpec = NonNullable<ParseArgsConfig['options']>
export type Flags = Record<string, string | boolean | string[] | undefined>

/** Parses flags strictly: an unknown flag or a missing value is a usage error naming the flag. */
export function parseFlags(argv: string[], options: OptionSpec, command: string): Flags {
  try {
    const { values, positionals } = parseArgs({ args: argv, options, strict: true, allowPositionals: true })
    if (positionals.length) throw new FlashlineError('usage', 'unexpected-argument', `unexpected argument "${positionals[0]}" for "flashline ${command}" (flags start with --)`)
    return values as Flags
  } catch (e) {
    if (e instanceof FlashlineError) throw e
    const msg = (e as Error).message
      .replace(/^Unknown option '([^']+)'.*$/s, `unknown flag $1 for "flashline ${command}"; see "flashline ${command} --help"`)
      .replace(/^Option '([^']+?)(?: <value>)?' argument missing.*$/s, `flag $1 needs a value`)
    throw new FlashlineError('usage', 'bad-flag', msg)
  }
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
