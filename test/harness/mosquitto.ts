import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export const hasMosquitto = spawnSync('sh', ['-c', 'command -v mosquitto || test -x /usr/sbin/mosquitto']).status === 0

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer()
    srv.once('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number }
      srv.close(() => resolve(port))
    })
  })
}

async function waitForPort(port: number, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1', () => {
        s.destroy()
        resolve(true)
      })
      s.once('error', () => resolve(false))
    })
    if (ok) return
    if (Date.now() > deadline) throw new Error(`mosquitto did not listen on ${port}`)
    await new Promise((r) => setTimeout(r, 25))
  }
}

export interface Broker {
  port: number
  url: string
  /** Stops the broker (for restart-mid-job tests); `start()` brings it back on the same port. */
  stop(): Promise<void>
  start(): Promise<void>
  /** Freezes the broker process (SIGSTOP): connections stay open but nothing is answered, not even PUBACK. */
  pause(): void
  resume(): void
  /** Rewrites the password file (mosquitto_passwd); mosquitto reads it again on the next start(). */
  setPasswords(users: Record<string, string>): void
  /** mosquitto's own log so far (connections name their client id and user name). */
  log(): string
  close(): Promise<void>
}

export interface BrokerOptions {
  /** Extra mosquitto.conf lines (TLS listeners …). */
  extraConfig?: string
  /** Users and passwords (written with mosquitto_passwd -b); when given, anonymous clients are refused. */
  passwords?: Record<string, string>
}

/**
 * A real mosquitto on a free loopback port, persistence off; anonymous access unless `passwords` is
 * given (then `allow_anonymous false` and a password file made by mosquitto_passwd).
 */
export async function startMosquitto(options: BrokerOptions = {}): Promise<Broker> {
  if (!hasMosquitto) throw new Error('mosquitto is not installed: run "bash scripts/ensure-test-packages.sh" (npm test does it) to install the test packages')
  const port = await freePort()
  const dir = mkdtempSync(join(tmpdir(), 'flashline-mosq-'))
  const conf = join(dir, 'mosquitto.conf')
  const passwordFile = join(dir, 'passwords')
  const logFile = join(dir, 'mosquitto.log')
  const setPasswords = (users: Record<string, string>) => {
    rmSync(passwordFile, { force: true })
    writeFileSync(passwordFile, '')
    for (const [user, password] of Object.entries(users)) {
      const r = spawnSync('mosquitto_passwd', ['-b', passwordFile, user, password], { encoding: 'utf8' })
      if (r.status !== 0) throw new Error(`mosquitto_passwd failed for ${user}: ${r.stderr || r.error?.message}`)
    }
  }
  const auth = options.passwords ? ['allow_anonymous false', `password_file ${passwordFile}`] : ['allow_anonymous true']
  if (options.passwords) setPasswords(options.passwords)
  writeFileSync(
    conf,
    [
      `listener ${port} 127.0.0.1`,
      ...auth,
      'persistence false',
      'user root',
      'max_queued_messages 10000',
      `log_dest file ${logFile}`,
      'log_type error',
      'log_type warning',
      'log_type notice',
      'log_type information',
      'connection_messages true',
      options.extraConfig ?? ''
    ].join('\n') + '\n'
  )
  const bin = spawnSync('sh', ['-c', 'command -v mosquitto || echo /usr/sbin/mosquitto']).stdout.toString().trim()
  let proc: ChildProcess | null = null
  const start = async () => {
    proc = spawn(bin, ['-c', conf], { stdio: 'ignore' })
    await waitForPort(port)
  }
  const stop = async () => {
    const p = proc as ChildProcess | null
    proc = null
    if (p && p.exitCode === null) {
      const exited = new Promise((r) => p.once('exit', r))
      p.kill('SIGCONT') // a paused broker cannot act on SIGTERM
      p.kill('SIGTERM')
      await exited
    }
  }
  await start()
  return {
    port,
    url: `mqtt://127.0.0.1:${port}`,
    stop,
    start,
    pause: () => {
      ;(proc as ChildProcess | null)?.kill('SIGSTOP')
    },
    resume: () => {
      ;(proc as ChildProcess | null)?.kill('SIGCONT')
    },
    setPasswords,
    log: () => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : ''),
    close: async () => {
      await stop()
      rmSync(dir, { recursive: true, force: true })
    }
  }
}
