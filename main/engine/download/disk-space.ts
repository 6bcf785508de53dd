import { statfsSync } from 'node:fs'
import { FlashlineError } from '../errors'

/** True for the errors a full disk or an exhausted quota give. */
export function isDiskFull(e: unknown): boolean {
  const errno = e instanceof FlashlineError ? e.details?.['errno'] : (e as NodeJS.ErrnoException | undefined)?.code
  return errno === 'ENOSPC' || errno === 'EDQUOT'
}

/** Bytes an unprivileged writer may still use on the file system holding `dir`; undefined where it cannot be told. */
export function freeBytes(dir: string): number | undefined {
  try {
    const s = statfsSync(dir)
    return s.bavail * s.bsize
  } catch {
    return undefined
  }
}

export function formatSize(n: number): string {
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`
  if (n < 1024 ** 3) return `${(n / 1024 / 1024).toFixed(1)} MiB`
  return `${(n / 1024 ** 3).toFixed(2)} GiB`
}

/**
 * The package does not fit. `size` is the package's size when known; `received` is how far the
 * download got (or had got before) when the disk filled up.
 */
export function diskFullError(dir: string, opts: { size?: number; received: number; free?: number; deleted: boolean; errno?: string }): FlashlineError {
  const needs =
    opts.size !== undefined
      ? `the package needs ${formatSize(opts.size)} (${opts.size} bytes)${opts.received > 0 && !opts.deleted ? `, ${formatSize(opts.size - opts.received)} of it still to come` : ''}`
      : `the package needs more than ${formatSize(opts.received)} (${opts.received} bytes received when the disk filled; its size was not announced)`
  const free = opts.free !== undefined ? `, ${formatSize(opts.free)} free` : ''
  const what = opts.errno ? `is full (${opts.errno})` : 'has too little space'
  return new FlashlineError(
    'download',
    'disk-full',
    `the disk holding ${dir} ${what}: ${needs}${free}.${opts.deleted ? ' The partial download was deleted.' : ''} Free space there (or use another \`dataDir\`) and try again`,
    { size: opts.size, received: opts.received, free: opts.free }
  )
}
