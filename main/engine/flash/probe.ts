import { FlashlineError } from '../errors'
import type { Transport } from '../transport/transport'

/**
 * Watches the console after a reset for a version banner. Lines are matched only once complete
 * (or after a short quiet spell), so "version: 1.2" is never taken from "version: 1.2.3" mid-line.
 * Returns the first capture group of `pattern` (or the whole match).
 */
export async function probeVersion(transport: Transport, options: { pattern: RegExp; timeoutMs: number; signal?: AbortSignal; alreadyReceived?: string }): Promise<string> {
  const deadline = Date.now() + options.timeoutMs
  let seen = ''
  let partial = ''
  const test = (line: string): string | undefined => {
    const m = options.pattern.exec(line.replace(/\r/g, ''))
    return m ? (m[1] ?? m[0]) : undefined
  }
  const take = (text: string): string | undefined => {
    seen = (seen + text).slice(-2000)
    const lines = (partial + text).split('\n')
    partial = lines.pop() ?? ''
    for (const line of lines) {
      const v = test(line)
      if (v !== undefined) return v
    }
    return undefined
  }
  if (options.alreadyReceived) {
    const v = take(options.alreadyReceived)
    if (v !== undefined) return v
  }
  for (;;) {
    if (options.signal?.aborted) throw new FlashlineError('interrupted', 'aborted', 'interrupted')
    const left = deadline - Date.now()
    if (left <= 0) break
    let chunk: Buffer
    try {
      chunk = await transport.readSome(Math.min(left, 300))
    } catch (e) {
      if (!(e instanceof FlashlineError) || e.code !== 'timeout') throw e
      // quiet: a prompt without a newline still counts
      if (partial) {
        const v = test(partial)
        if (v !== undefined) return v
      }
      continue
    }
    const v = take(chunk.toString('latin1'))
    if (v !== undefined) return v
  }
  const printed = seen.replace(/[^\x20-\x7e\n]/g, '.').trim().slice(-300)
  throw new FlashlineError(
    'device',
    'probe-timeout',
    `no version banner matching /${options.pattern.source}/ within ${Math.round(options.timeoutMs / 1000)} s after the flash; ${printed ? `the device printed: "${printed}"` : 'the device printed nothing'} (check \`probe\`, \`probe.baud\` and that the device resets after flashing)`
  )
}
