/**
 * One error type crosses every boundary (engine → CLI exit code, engine → IPC result).
 * `kind` decides the CLI exit code; `code` is a stable machine-readable reason.
 */
export type ErrorKind = 'usage' | 'download' | 'integrity' | 'device' | 'platform' | 'interrupted' | 'internal'

export const EXIT_CODES: Record<ErrorKind, number> = {
  usage: 2,
  download: 3,
  integrity: 4,
  device: 5,
  platform: 6,
  interrupted: 130,
  internal: 1
}

export class FlashlineError extends Error {
  readonly kind: ErrorKind
  readonly code: string
  readonly details?: Record<string, unknown>

  constructor(kind: ErrorKind, code: string, message: string, details?: Record<string, unknown>) {
    super(message)
    this.name = 'FlashlineError'
    this.kind = kind
    this.code = code
    this.details = details
  }

  toJSON(): { kind: ErrorKind; code: string; message: string; details?: Record<string, unknown> } {
    return { kind: this.kind, code: this.code, message: this.message, details: this.details }
  }
}

/** Wraps anything thrown into a FlashlineError, keeping an existing one as it is. */
export function asFlashlineError(e: unknown, fallbackKind: ErrorKind = 'internal', code = 'unexpected'): FlashlineError {
  if (e instanceof FlashlineError) return e
  if (e instanceof Error && e.name === 'AbortError') return new FlashlineError('interrupted', 'aborted', 'interrupted')
  const message = e instanceof Error ? e.message : String(e)
  return new FlashlineError(fallbackKind, code, message)
}

export function exitCodeOf(e: unknown): number {
  return EXIT_CODES[asFlashlineError(e).kind]
}
