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
 * The common front of every adapter's decode: right topic, JSON object, and no exception ever
 * escapes. Bad input becomes `ignored` with the reason; an exception thrown by `handle` is a decoder
 * bug and becomes `decode-error`, so tests and the fuzzer can tell the two apart.
 */
export function decodeJsonObject(
  topic: string,
  expectedTopic: string,
  payload: Buffer,
  handle: (msg: Record<string, unknown>) => DownlinkAction[],
  parse: (text: string) => unknown = JSON.parse
): DownlinkAction[] {
  try {
    if (topic !== expectedTopic) return [{ type: 'ignored', reason: `unexpected topic ${topic}` }]
    let msg: unknown
    try {
      msg = parse(payload.toString('utf8'))
    } catch (e) {
      return [{ type: 'ignored', reason: `not JSON (${(e as Error).message})` }]
    }
    if (!isRecord(msg)) return [{ type: 'ignored', reason: 'the message is not a JSON object' }]
    return handle(msg)
  } catch (e) {
    // Only the decoder's own bugs get here (malformed input is handled above and in `handle`).
    return [{ type: 'decode-error', error: e instanceof Error ? `${e.name}: ${e.message}` : String(e) }]
  }
}
