import { closeSync, mkdirSync, openSync, rmSync, statSync } from 'node:fs'
import { homedir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { FlashlineError } from '../errors'
import { PRIVATE_DIR_MODE } from '../store/atomic-file'

/** Where Flashline keeps its journal, outbox, records and package cache unless --data-dir says otherwise. */
export function defaultDataDir(): string {
  if (process.env['FLASHLINE_DATA_DIR']) return process.env['FLASHLINE_DATA_DIR']
  switch (process.platform) {
    case 'win32':
      return join(process.env['APPDATA'] ?? join(homedir(), 'AppData', 'Roaming'), 'Flashline')
    case 'darwin':
      return join(homedir(), 'Library', 'Application Support', 'Flashline')
    default:
      return join(process.env['XDG_DATA_HOME'] ?? join(homedir(), '.local', 'share'), 'flashline')
  }
}

/**
 * Makes sure the data directory can hold Flashline's state before anything else happens: creates it
 * (one level at a time — Node's recursive mkdir spins forever under /proc), then creates and removes
 * an empty probe file (no data, so it still works on a full disk). Fails at once with a usage error
 * naming the path and the OS error. Returns the absolute path.
 */
export function prepareDataDir(dir: string): string {
  const full = resolve(dir)
  const fail = (e: unknown, what: string): never => {
    const err = e as NodeJS.ErrnoException
    throw new FlashlineError('usage', 'data-dir', `the data directory ${full} cannot be used: ${what} (${err.code ?? err.message}); choose another data directory or fix its permissions`)
  }
  const missing: string[] = []
  for (let p = full; ; p = dirname(p)) {
    let st
    try {
      st = statSync(p)
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code
      if (code !== 'ENOENT' && code !== 'ENOTDIR') fail(e, `cannot look at ${p}`)
      if (dirname(p) === p) fail(e, `${p} does not exist`)
      missing.unshift(p)
      continue
    }
    if (!st.isDirectory()) fail(Object.assign(new Error('not a directory'), { code: 'ENOTDIR' }), `${p} is not a directory`)
    break
  }
  for (const p of missing) {
    try {
      mkdirSync(p, { mode: PRIVATE_DIR_MODE })
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') fail(e, `cannot create ${p}`)
    }
  }
  const probe = join(full, `.probe-${process.pid}`)
  try {
    closeSync(openSync(probe, 'w', 0o600))
    rmSync(probe)
  } catch (e) {
    fail(e, 'cannot write in it')
  }
  return full
}
