import { spawn, type ChildProcess } from 'node:child_process'

/**
 * The `flashline ui` processes the real-engine specs run against: started once by the global setup,
 * named in FLASHLINE_REAL_UI (JSON) for the workers, stopped with Ctrl-C (SIGINT) by its teardown.
 */
export type InstanceName = 'demo' | 'bench'

export interface InstanceInfo {
  /** The one line's address: http://127.0.0.1:PORT/?token=… */
  url: string
  origin: string
  token: string
  dataDir: string
}

export const INSTANCES_ENV = 'FLASHLINE_REAL_UI'

export function instance(name: InstanceName): InstanceInfo {
  const raw = process.env[INSTANCES_ENV]
  if (!raw) throw new Error(`${INSTANCES_ENV} is not set: run these specs through playwright.config.ts (its global setup starts flashline ui)`)
  const all = JSON.parse(raw) as Record<InstanceName, InstanceInfo>
  return all[name]
}

export interface RunningUi {
  info: InstanceInfo
  child: ChildProcess
  /** Resolves when the process has closed (its output complete). */
  closed: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  stderr(): string
  /** Ctrl-C, then waits for 'close' (SIGKILL if it has not closed within the deadline). */
  stop(deadlineMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>
}

/** Starts `node bin/flashline.js ui ARGS` and resolves once it printed its one line. */
export function startUi(bin: string, args: string[], dataDir: string, startupMs = 60_000): Promise<RunningUi> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, 'ui', ...args, '--data-dir', dataDir], { stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    const closed = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.on('close', (code, signal) => r({ code, signal })))
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`flashline ui ${args.join(' ')} printed no address in ${startupMs} ms\nstderr: ${stderr}`))
    }, startupMs)
    void closed.then(({ code, signal }) => {
      clearTimeout(timer)
      reject(new Error(`flashline ui ${args.join(' ')} ended (${code ?? signal}) before printing its address\nstdout: ${stdout}\nstderr: ${stderr}`))
    })
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()))
    child.stdout!.on('data', (d: Buffer) => {
      stdout += d.toString()
      const nl = stdout.indexOf('\n')
      if (nl < 0) return
      clearTimeout(timer)
      const m = /^Flashline UI: (http:\/\/(127\.0\.0\.1:\d+)\/\?token=([A-Za-z0-9_-]+))$/.exec(stdout.slice(0, nl))
      if (!m) {
        child.kill('SIGKILL')
        return reject(new Error(`unexpected first line from flashline ui: ${JSON.stringify(stdout.slice(0, nl))}`))
      }
      const stop = async (deadlineMs = 15_000) => {
        if (child.exitCode === null && child.signalCode === null) {
          child.kill('SIGINT')
          const killer = setTimeout(() => child.kill('SIGKILL'), deadlineMs)
          const r = await closed
          clearTimeout(killer)
          return r
        }
        return closed
      }
      resolve({ info: { url: m[1]!, origin: `http://${m[2]}`, token: m[3]!, dataDir }, child, closed, stderr: () => stderr, stop })
    })
  })
}
