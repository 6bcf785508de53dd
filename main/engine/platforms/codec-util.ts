import type { DownlinkAction } from './adapter'

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/** A number, also when a hand-made sender wrote it as a string of digits. */
export function num(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) return v
  if (typeof v === 'string' && /^\d+$/.test(v.trim())) return Number(v)
  return undefined
}

/**
 * Bounds on what a downlink may make us keep or echo. The wire is untrusted: anything beyond these
 * is refused (when the order can still be answered) or ignored, never stored or sent back.
 */
export const LIMITS = {
  /** Whole downlink payload; larger messages are not parsed. */
  payloadBytes: 1024 * 1024,
  /** Nesting depth of a JSON value kept in `order.wire` (the journal serialises it). */
  wireDepth: 32,
  /** Serialised size of a structured value kept in `order.wire`. */
  wireJsonChars: 8 * 1024,
  /** Identifiers we echo or journal: task ids, message ids, modules, update targets. */
  idChars: 128,
  /** Version strings (IoTDA "Create an OTA upgrade package" API: version at most 256 characters). */
  versionChars: 256,
  urlChars: 8 * 1024,
  fileNameChars: 255,
  tokenChars: 4 * 1024,
  /** Entries of one batch message (IoTDA services[], FogCloud sub.firmware.post params[]). */
  batchEntries: 64
} as const

/** A value for a log line: strings quoted and cut short, anything else by its kind (never stringified whole). */
export function describeValue(v: unknown, max = 40): string {
  if (typeof v === 'string') return JSON.stringify(v.length > max ? `${v.slice(0, max)}…` : v) + (v.length > max ? ` (${v.length} characters)` : '')
  if (v === null) return 'null'
  if (Array.isArray(v)) return 'an array'
  if (typeof v === 'object') return 'an object'
  if (typeof v === 'number' || typeof v === 'boolean') return String(v)
  return typeof v
}

/**
 * How deep a JSON value nests, counting until `limit + 1` at most (iteratively: a hostile value
 * thousands of levels deep must not exhaust the stack here either).
 */
export function jsonDepth(value: unknown, limit: number): number {
  let max = 0
  const stack: Array<[unknown, number]> = [[value, 1]]
  while (stack.length) {
    const [v, d] = stack.pop()!
    if (typeof v !== 'object' || v === null) continue
    if (d > max) max = d
    if (max > limit) return max
    for (const child of Array.isArray(v) ? v : Object.values(v)) stack.push([child, d + 1])
  }
  return max
}

/** Checks a structured wire value before it is kept: undefined if fine, else what is wrong with it. */
export function wireValueProblem(name: string, value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined
  if (typeof value === 'string') return value.length > LIMITS.wireJsonChars ? `${name} is ${value.length} characters long (at most ${LIMITS.wireJsonChars} are kept)` : undefined
  if (typeof value !== 'object') return undefined
  if (jsonDepth(value, LIMITS.wireDepth) > LIMITS.wireDepth) return `${name} is nested more than ${LIMITS.wireDepth} levels deep`
  const size = JSON.stringify(value).length
  return size > LIMITS.wireJsonChars ? `${name} is ${size} characters of JSON (at most ${LIMITS.wireJsonChars} are kept)` : undefined
}

/** A string field that must be present, non-empty and at most `max` characters. */
export function requiredString(name: string, v: unknown, max: number): { value: string } | { problem: string } {
  if (typeof v !== 'string' || v.length === 0) return { problem: `${name} is missing or not a string (got ${describeValue(v)})` }
  if (v.length > max) return { problem: `${name} is ${v.length} characters long (at most ${max})` }
  return { value: v }
}

/**
 * The package URL as an order may use it: http(s) only, at most LIMITS.urlChars. (Whether plain
 * http is allowed is the download layer's decision.)
 */
export function packageUrlProblem(name: string, v: unknown): { url: string } | { problem: string } {
  const s = requiredString(name, v, LIMITS.urlChars)
  if ('problem' in s) return s
  let parsed: URL
  try {
    parsed = new URL(s.value)
  } catch {
    return { problem: `${name} ${describeValue(s.value)} is not a valid URL` }
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') return { problem: `${name} uses the unsupported scheme "${parsed.protocol.slice(0, 20)}" (only https:// packages are downloaded)` }
  return { url: s.value }
}

/**
 * The package file name from the last path segment of a URL: percent-decoded when the encoding is
 * valid, kept as written when it is not (a malformed escape must not lose the order), and reduced to
 * a plain name (no separators or control characters, at most LIMITS.fileNameChars).
 */
export function fileNameFromUrl(url: string): string | undefined {
  const segment = url.split(/[?#]/, 1)[0]!.split('/').pop() ?? ''
  let name = segment
  try {
    name = decodeURIComponent(segment)
  } catch {
    // keep the raw segment
  }
  return plainFileName(name)
}

/** A file name safe to announce to a bootloader: no path, no control characters, bounded. */
export function plainFileName(name: string): string | undefined {
  const plain = (name.split(/[\\/]/).pop() ?? '').replace(/[\u0000-\u001f\u007f]/g, '').slice(0, LIMITS.fileNameChars)
  return plain && plain !== '.' && plain !== '..' ? plain : undefined
}

/**
 * The common front of every adapter's decode: right topic, bounded size, JSON object, and no
 * exception ever escapes. Bad input becomes `ignored` with the reason; an exception thrown by
 * `handle` is a decoder bug and becomes `decode-error`, so tests and the fuzzer can tell the two apart.
 */
export function decodeJsonObject(
  topic: string,
  expectedTopic: string,
  payload: Buffer,
  handle: (msg: Record<string, unknown>) => DownlinkAction[],
  parse: (text: string) => unknown = JSON.parse
): DownlinkAction[] {
  try {
    if (topic !== expectedTopic) return [{ type: 'ignored', reason: `unexpected topic ${describeValue(topic, 120)}` }]
    if (payload.length > LIMITS.payloadBytes) return [{ type: 'ignored', reason: `the message is ${payload.length} bytes long; downlinks over ${LIMITS.payloadBytes} bytes are not read` }]
    let msg: unknown
    try {
      msg = parse(payload.toString('utf8'))
    } catch (e) {
      // the parser quotes a piece of the payload: keep control bytes out of the log line
      return [{ type: 'ignored', reason: `not JSON (${(e as Error).message.slice(0, 120).replace(/[\u0000-\u001f\u007f-\u009f]/g, '?')})` }]
    }
    if (!isRecord(msg)) return [{ type: 'ignored', reason: 'the message is not a JSON object' }]
    return handle(msg)
  } catch (e) {
    // Only the decoder's own bugs get here (malformed input is handled above and in `handle`).
    return [{ type: 'decode-error', error: e instanceof Error ? `${e.name}: ${e.message}` : String(e) }]
  }
}

/** A field the sender filled in (an empty string or null counts as left out). */
export function isPresent(v: unknown): boolean {
  return v !== undefined && v !== null && v !== ''
}

/** An optional byte count: absent is fine, anything but a non-negative integer is a problem. */
export function optionalSize(name: string, v: unknown): { size: number | undefined } | { problem: string } {
  if (!isPresent(v)) return { size: undefined }
  const n = num(v)
  if (n === undefined || !Number.isSafeInteger(n) || n < 0) return { problem: `${name} ${describeValue(v)} is not a byte count` }
  return { size: n }
}
