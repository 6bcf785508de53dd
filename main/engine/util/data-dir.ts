import { homedir } from 'node:os'
import { join } from 'node:path'

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
