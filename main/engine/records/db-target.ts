import { createHash } from 'node:crypto'
import { FlashlineError } from '../errors'

/** A records database address, with what may be shown of it (never the password). */
export interface RecordsDbTarget {
  url: string
  /** The URL with its password replaced by ***. */
  redacted: string
  host: string
  port: number
  database: string
  /** host:port/database, for messages. */
  label: string
  /** Stable name of this database for the acknowledgement cursor (no secret in it). */
  key: string
  /** Replaces the password, wherever it appears, by ***. */
  redact(text: string): string
}

/**
 * Reads a postgresql:// (or postgres://) URL as libpq documents it: host, port (default 5432),
 * database (default: the user name), and a `host=` parameter for a unix socket directory.
 * A bad URL is a usage error that shows no secret.
 */
export function parseRecordsDb(url: string, source = '--records-db'): RecordsDbTarget {
  let u: URL
  try {
    u = new URL(url)
  } catch {
    throw new FlashlineError('usage', 'bad-records-db', `${source} must be a URL like postgresql://user:password@host:5432/database; the value given is not a URL`)
  }
  if (u.protocol !== 'postgresql:' && u.protocol !== 'postgres:') throw new FlashlineError('usage', 'bad-records-db', `${source} must start with postgresql:// (got ${u.protocol}//…)`)
  const secrets = u.password ? [u.password, safeDecode(u.password)] : []
  const redact = (text: string) => secrets.reduce((t, s) => (s ? t.split(s).join('***') : t), text)
  const shown = new URL(url)
  if (shown.password) shown.password = '***'
  const host = u.searchParams.get('host') || decodeURIComponent(u.hostname.replace(/^\[(.*)\]$/, '$1')) || 'localhost'
  const port = Number(u.searchParams.get('port') || u.port || 5432)
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new FlashlineError('usage', 'bad-records-db', `${source} has a bad port in ${redact(shown.toString())}`)
  const user = safeDecode(u.username)
  const database = safeDecode(u.pathname.replace(/^\//, '')) || user
  const label = `${host}:${port}${database ? `/${database}` : ''}`
  const key = createHash('sha256').update(`${host}\n${port}\n${database}\n${user}`).digest('hex').slice(0, 16)
  return { url, redacted: redact(shown.toString()), host, port, database, label, key, redact }
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s)
  } catch {
    return s
  }
}
