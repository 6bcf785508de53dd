import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
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
  close(): Promise<void>
}

export interface BrokerOptions {
  /** Extra mosquitto.conf lines (TLS listeners, password files …). */
  extraConfig?: string
}

/** A real mosquitto on a free loopback port, configured for anonymous access, persistence off. */
export async function startMosquitto(options: BrokerOptions = {}): Promise<Broker> {
  if (!hasMosquitto) throw new Error('mosquitto is not installed: run "bash scripts/ensure-test-packages.sh" (npm test does it) to install the test packages')
  const port = await freePort()
  const dir = mkdtempSync(join(tmpdir(), 'flashline-mosq-'))
  const conf = join(dir, 'mosquitto.conf')
  writeFileSync(
    conf,
    [`listener ${port} 127.0.0.1`, 'allow_anonymous true', 'persistence false', 'user root', 'max_queued_messages 10000', options.extraConfig ?? ''].join('\n') + '\n'
  )
  const bin = spawnSync('sh', ['-c', 'command -v mosquitto || echo /usr/sbin/mosquitto']).stdout.toString().trim()
  let proc: ChildProcess | null = null
  const start = async () => {
    proc = spawn(bin, ['-c', conf], { stdio: 'ignore' })
    await waitForPort(port)
  }
  const stop = async () => {
    const p = proc
    proc = null
    if (p && p.exitCode === null) {
      const exited = new Promise((r) => p.once('exit', r))
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
    close: async () => {
      await stop()
      rmSync(dir, { recursive: true, force: true })
    }
  }
}
