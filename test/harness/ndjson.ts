/**
 * Reads newline-delimited JSON from a stream that arrives in arbitrary chunks: partial lines are
 * buffered until their newline, so an event split across two reads is still seen exactly once.
 */
export function ndjsonReader(onEvent: (event: Record<string, unknown> & { type: string }) => void): (chunk: string) => void {
  let pending = ''
  return (chunk: string) => {
    pending += chunk
    let nl: number
    while ((nl = pending.indexOf('\n')) >= 0) {
      const line = pending.slice(0, nl).trim()
      pending = pending.slice(nl + 1)
      if (!line.startsWith('{')) continue
      onEvent(JSON.parse(line) as Record<string, unknown> & { type: string })
    }
  }
}

/** Runs `action` the first time `match` holds for an event, and never again. */
export function once<E>(match: (e: E) => boolean, action: (e: E) => void): (e: E) => void {
  let done = false
  return (e: E) => {
    if (done || !match(e)) return
    done = true
    action(e)
  }
}
