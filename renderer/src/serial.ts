export type SerialCheck = { ok: true; value: string } | { ok: false; problem: 'empty' | 'mismatch' | 'bad-pattern' }

/**
 * A scanned serial number against the settings' pattern: the whole value must match (a scanner that
 * appends a stray character must not pass); an empty pattern accepts anything non-empty.
 */
export function checkSerial(raw: string, pattern: string | undefined): SerialCheck {
  const value = raw.trim()
  if (value === '') return { ok: false, problem: 'empty' }
  if (!pattern) return { ok: true, value }
  let re: RegExp
  try {
    re = new RegExp(`^(?:${pattern})$`)
  } catch {
    return { ok: false, problem: 'bad-pattern' }
  }
  return re.test(value) ? { ok: true, value } : { ok: false, problem: 'mismatch' }
}

/** Whether a pattern compiles (the settings form checks before saving). */
export function patternCompiles(pattern: string): boolean {
  try {
    new RegExp(`^(?:${pattern})$`)
    return true
  } catch {
    return false
  }
}
