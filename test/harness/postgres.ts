import { spawnSync, type SpawnSyncReturns } from 'node:child_process'
import { chmodSync, chownSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort } from './mosquitto'

/** The newest Debian PostgreSQL server binaries (/usr/lib/postgresql/<major>/bin), if installed. */
export const pgBin: string | undefined = (() => {
  try {
    const majors = readdirSync('/usr/lib/postgresql')
      .filter((v) => /^\d+$/.test(v))
      .sort((a, b) => Number(b) - Number(a))
    for (const m of majors) {
      const bin = join('/usr/lib/postgresql', m, 'bin')
      if (readdirSync(bin).includes('initdb')) return bin
    }
  } catch {
    // not installed
  }
  return undefined
})()

export interface Postgres {
  host: string
  port: number
  database: string
  user: string
  password: string
  /** postgresql://user:password@127.0.0.1:port/database */
  url: string
  /** Milliseconds initdb + first start took. */
  startupMs: number
  /** Runs SQL as the superuser over the unix socket with Debian's psql; returns its unaligned, tuples-only output. */
  psql(sql: string): string
  stop(): void
  start(): void
  close(): void
}

/**
 * A real PostgreSQL server for one test file: initdb in a temp dir, pg_ctl on a free loopback port
 * with its unix socket in the same dir, a login role with a password (scram-sha-256 over TCP) owning
 * a database. initdb refuses to run as root, so as root the dir is given to the `postgres` user and
 * every server command runs through runuser.
 */
export async function startPostgres(): Promise<Postgres> {
  if (!pgBin) throw new Error('PostgreSQL is not installed: run "bash scripts/ensure-test-packages.sh" (npm test does it) to install the test packages')
  const t0 = Date.now()
  const root = mkdtempSync(join(tmpdir(), 'flashline-pg-'))
  const data = join(root, 'data')
  const asRoot = process.getuid?.() === 0
  const owner = asRoot ? lookupUser('postgres') : undefined
  if (owner) {
    chownSync(root, owner.uid, owner.gid)
    chmodSync(root, 0o700)
  }
  const run = (cmd: string, args: string[], input?: string): SpawnSyncReturns<string> => {
    const [file, argv] = asRoot ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args]
    const r = spawnSync(file, argv, { encoding: 'utf8', input, timeout: 60_000, cwd: root })
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.error?.message ?? `exit ${r.status}`}):\n${r.stdout}\n${r.stderr}`)
    return r
  }
  const password = `pw-${Math.random().toString(36).slice(2)}:@/"'x`
  const user = 'flashline_test'
  const database = 'records'
  let port = 0

  run(join(pgBin, 'initdb'), ['-D', data, '-U', 'postgres', '--auth-local=trust', '--auth-host=scram-sha-256', '-E', 'UTF8', '--no-locale', '--no-sync'])
  const pgctl = (args: string[]) => run(join(pgBin, 'pg_ctl'), ['-D', data, '-l', join(root, 'server.log'), ...args])
  const start = () => {
    pgctl(['-w', '-t', '30', '-o', `-p ${port} -k ${root} -c listen_addresses=127.0.0.1 -c fsync=off`, 'start'])
  }
  const stop = () => {
    pgctl(['-w', '-t', '30', '-m', 'fast', 'stop'])
  }
  const psqlIn = (db: string, sql: string) =>
    run(join(pgBin, 'psql'), ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-At', '-h', root, '-p', String(port), '-U', 'postgres', '-d', db], sql).stdout

  try {
    // freePort() may lose a race to another process: try a few ports before giving up
    for (let attempt = 1; ; attempt++) {
      port = await freePort()
      try {
        start()
        break
      } catch (e) {
        if (attempt === 3) throw e
      }
    }
    const literal = `'${password.replace(/'/g, "''")}'`
    psqlIn('postgres', `CREATE ROLE ${user} LOGIN PASSWORD ${literal};\nCREATE DATABASE ${database} OWNER ${user};\n`)
  } catch (e) {
    try {
      stop()
    } catch {
      // not running
    }
    rmSync(root, { recursive: true, force: true })
    throw e
  }
  const startupMs = Date.now() - t0

  return {
    host: '127.0.0.1',
    port,
    database,
    user,
    password,
    url: `postgresql://${user}:${encodeURIComponent(password)}@127.0.0.1:${port}/${database}`,
    startupMs,
    psql: (sql) => psqlIn(database, sql),
    stop,
    start,
    close: () => {
      try {
        stop()
      } catch {
        // already stopped
      }
      rmSync(root, { recursive: true, force: true })
    }
  }
}

function lookupUser(name: string): { uid: number; gid: number } {
  const r = spawnSync('id', ['-u', name], { encoding: 'utf8' })
  const g = spawnSync('id', ['-g', name], { encoding: 'utf8' })
  if (r.status !== 0 || g.status !== 0) throw new Error(`the tests run as root and PostgreSQL refuses root, but there is no "${name}" user to run it as (install the postgresql package)`)
  return { uid: Number(r.stdout.trim()), gid: Number(g.stdout.trim()) }
}
