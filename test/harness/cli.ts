import { spawn, type ChildProcessByStdio } from 'node:child_process'
import { join } from 'node:path'
import type { Readable } from 'node:stream'
import { ndjsonReader } from './ndjson'

export interface CliRun {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
}

const BIN = join(__dirname, '..', '..', 'bin', 'flashline.js')

/** Runs the real `flashline` command as a child process, as a user would. */
export function runCli(args: string[], options: { env?: Record<string, string>; timeoutMs?: number; cwd?: string; onStdout?: (chunk: string, child: ReturnType<typeof spawn>) => void } = {}): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'], cwd: options.cwd })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString()
      options.onStdout?.(d.toString(), child)
    })
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`flashline ${args.join(' ')} did not finish in ${options.timeoutMs ?? 60_000} ms\nstdout:\n${stdout}\nstderr:\n${stderr}`))
    }, options.timeoutMs ?? 60_000)
    // 'close', not 'exit': only then are stdout and stderr fully read
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      resolve({ code, signal, stdout, stderr })
    })
  })
}

/** Parses --json output into events. */
export function jsonEvents(stdout: string): Array<Record<string, unknown> & { type: string }> {
  return stdout
    .split('\n')
    .filter((l) => l.trim().startsWith('{'))
    .map((l) => JSON.parse(l))
}

export interface FollowedCli {
  /** Every --json event the child has printed so far. */
  events: Array<Record<string, unknown> & { type: string }>
  stderr: () => string
  /** Settles when the child has exited and its output is fully read. */
  closed: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  /** Waits until `ok()` holds; fails naming `what`, with the last events and stderr, if the child exits first or time runs out. */
  until: (what: string, ok: () => boolean, ms?: number) => Promise<void>
  /** SIGKILLs the child if it is still running, and waits for it. */
  kill: () => Promise<void>
}

/** Follows a long-running `flashline … --json` child: collects its events as they arrive. */
export function followCli(child: ChildProcessByStdio<null, Readable, Readable>): FollowedCli {
  const events: FollowedCli['events'] = []
  let stderr = ''
  const read = ndjsonReader((e) => events.push(e))
  child.stdout.on('data', (d: Buffer) => read(d.toString()))
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
  const closed = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('close', (code, signal) => resolve({ code, signal })))
  return {
    events,
    stderr: () => stderr,
    closed,
    async until(what, ok, ms = 15_000) {
      const deadline = Date.now() + ms
      while (!ok()) {
        if (Date.now() > deadline || child.exitCode !== null) throw new Error(`${what}: not seen in time; last events:\n${events.slice(-15).map((e) => JSON.stringify(e)).join('\n')}\nstderr:\n${stderr}`)
        await new Promise((r) => setTimeout(r, 25))
      }
    },
    async kill() {
      if (child.exitCode !== null || child.signalCode !== null) return
      child.kill('SIGKILL')
      await closed
    }
  }
}
