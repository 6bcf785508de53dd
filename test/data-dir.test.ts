/**
 * One data directory, several processes: the package cache is shared, but a station identity (its
 * journal and outbox) is served by one process at a time. Real `flashline agent` processes on mosquitto.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runCli } from './harness/cli'
import { startMosquitto, type Broker } from './harness/mosquitto'
import { tempDir } from './harness/tmp'

const BIN = join(__dirname, '..', 'bin', 'flashline.js')
let broker: Broker
const work = tempDir()

beforeAll(async () => {
  broker = await startMosquitto()
})
afterAll(async () => {
  await broker?.close()
  work.cleanup()
})

function agentArgs(deviceId: string, extra: string[] = []): string[] {
  return ['agent', '--platform', 'iotda', '--broker', broker.url, '--device-id', deviceId, '--secret', 's3cret', '--port', 'sim:ymodem', '--protocol', 'ymodem', '--current-version', '1.0.0', '--data-dir', work.dir, '--json', ...extra]
}

/** Starts an agent and resolves once it reports being connected (NDJSON parsed line by line). */
function startAgent(deviceId: string): Promise<{ child: ChildProcess; exited: Promise<number | null> }> {
  const child = spawn(process.execPath, [BIN, ...agentArgs(deviceId)], { stdio: ['ignore', 'pipe', 'pipe'] })
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)))
  return new Promise((resolve, reject) => {
    let buffered = ''
    let stderr = ''
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`the agent did not connect within 20 s; stderr: ${stderr}`))
    }, 20_000)
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()))
    child.stdout!.on('data', (d: Buffer) => {
      buffered += d.toString()
      const lines = buffered.split('\n')
      buffered = lines.pop()!
      for (const line of lines) {
        const e = JSON.parse(line) as { type: string; message?: string }
        if (e.type === 'log' && e.message?.startsWith('connected to')) {
          clearTimeout(timer)
          resolve({ child, exited })
        }
      }
    })
    void exited.then((code) => reject(new Error(`the agent exited (${code}) before connecting: ${stderr}`)))
  })
}

describe('a data directory shared by processes', () => {
  it('refuses a second process for the same station identity, naming the first; a killed owner is taken over', async () => {
    const first = await startAgent('bench01')
    try {
      const second = await runCli(agentArgs('bench01'), { timeoutMs: 20_000 })
      expect(second.code).toBe(2)
      expect(second.stderr.trim().split('\n')).toHaveLength(1)
      expect(second.stderr).toMatch(new RegExp(`iotda-bench01 is already being served from .*stations/iotda-bench01 by another Flashline process \\(pid ${first.child.pid}, since`))
      // another device on the same data dir shares the package cache, not the journal: it runs
      const other = await startAgent('bench02')
      other.child.kill('SIGINT')
      expect(await other.exited).toBe(130)
    } finally {
      first.child.kill('SIGKILL')
      await first.exited
    }
    // the lock of a process killed with -9 is taken over
    const again = await startAgent('bench01')
    again.child.kill('SIGINT')
    expect(await again.exited).toBe(130)
  })

  it('warns when the secret file can be read by other users', async () => {
    const secret = join(work.dir, 'open.secret')
    writeFileSync(secret, 's3cret\n', { mode: 0o644 })
    const r = await runCli(['agent', '--platform', 'iotda', '--broker', 'mqtt://127.0.0.1:1', '--device-id', 'd9', '--secret-file', secret, '--port', 'sim:ymodem', '--protocol', 'ymodem', '--current-version', '1', '--data-dir', work.dir, '--connect-timeout', '1'], { timeoutMs: 20_000 })
    expect(r.code).toBe(6)
    expect(r.stderr).toMatch(new RegExp(`warning: --secret-file ${secret} can be read by other users \\(mode 644\\); restrict it with: chmod 600`))
  })
})
