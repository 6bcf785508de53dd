import { readFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { FlashlineError } from '../errors'
import { ConfigProblem, readConnection, type ConnectionConfig } from './connection'
import { formatPath } from './fields'
import { check, stationFileSchema } from './schema'

/**
 * The station file (`flashline agent --config station.json`): one process, one or more platform
 * connections, and per device or gateway child its bench port, protocol, line settings and current
 * version. Secrets are never written in it: they are referenced by file (`…File`) or environment
 * variable (`…Env`). Every error names the JSON path of the bad field and what was expected.
 * Documented in README.md ("Station file"); version 1.
 */
export interface StationFile {
  dataDir?: string
  recordsDb?: string
  connections: ConnectionConfig[]
}

export interface StationFileOptions {
  env?: Record<string, string | undefined>
  /** Non-fatal findings (a secret file others can read), already prefixed with the file and field. */
  warn?: (message: string) => void
}

export function readStationFile(file: string, options: StationFileOptions = {}): StationFile {
  const bad = (path: Array<string | number>, message: string): never => {
    throw new FlashlineError('usage', 'bad-config', `${file}: ${formatPath(path)}: ${message}`, { file, path: formatPath(path) })
  }
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (e) {
    throw new FlashlineError('usage', 'bad-config', `${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`)
  }
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (e) {
    throw new FlashlineError('usage', 'bad-config', `${file}: not valid JSON (${(e as Error).message})`)
  }
  const top = check(stationFileSchema, json)
  if (!top.ok) return bad(top.problem.path, top.problem.message)
  const warned = new Set<string>()
  const ctx = {
    baseDir: dirname(resolve(file)),
    env: options.env ?? process.env,
    inlineSecrets: false,
    warn: (path: Array<string | number>, message: string) => {
      const where = formatPath(path)
      if (!warned.has(where)) options.warn?.(`warning: ${file}: ${where}: ${message}`)
      warned.add(where)
    }
  }
  const ports = new Map<string, string>()
  const identities = new Map<string, string>()
  const connections = top.value.connections.map((raw, i) => {
    const at = (p: Array<string | number>) => ['connections', i, ...p]
    let c: ConnectionConfig
    try {
      c = readConnection(raw, { ...ctx, warn: (p, m) => ctx.warn(at(p), m) })
    } catch (e) {
      if (e instanceof ConfigProblem) return bad(at(e.path), e.message)
      throw e
    }
    const clash = identities.get(c.identity)
    if (clash) {
      bad(at([]), `connects as the same device as ${clash} (${c.identity}); two connections with one identity would share a client id, a journal and an outbox and keep logging each other out — list its devices under one connection`)
    }
    identities.set(c.identity, formatPath(at([])))
    c.devices.forEach((d, di) => {
      const owner = ports.get(d.port)
      if (owner) bad(at(['devices', di, 'port']), `${d.port} is already used by ${owner}`)
      ports.set(d.port, formatPath(at(['devices', di])))
    })
    return c
  })
  return { dataDir: top.value.dataDir, recordsDb: top.value.recordsDb, connections }
}
