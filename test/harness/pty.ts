import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export const hasSocat = spawnSync('sh', ['-c', 'command -v socat']).status === 0

export interface PtyPair {
  /** Host side (what Flashline opens). */
  a: string
  /** Device side (simulator or peer program). */
  b: string
  close(): Promise<void>
}

/** A linked pty pair from socat: bytes written to `a` come out of `b` and vice versa. */
export async function ptyPair(): Promise<PtyPair> {
  if (!hasSocat) throw new Error('socat is not installed: run "bash scripts/ensure-test-packages.sh" (npm test does it) to install the test packages')
  const dir = mkdtempSync(join(tmpdir(), 'flashline-pty-'))
  const a = join(dir, 'ttyA')
  const b = join(dir, 'ttyB')
  const proc: ChildProcess = spawn('socat', [`pty,raw,echo=0,link=${a}`, `pty,raw,echo=0,link=${b}`], { stdio: 'ignore' })
  const deadline = Date.now() + 5000
  while (!(existsSync(a) && existsSync(b))) {
    if (Date.now() > deadline || proc.exitCode !== null) throw new Error('socat did not create the pty pair')
    await new Promise((r) => setTimeout(r, 10))
  }
  return {
    a,
    b,
    close: async () => {
      if (proc.exitCode === null) {
        const exited = new Promise((r) => proc.once('exit', r))
        proc.kill('SIGTERM')
        await exited
      }
      rmSync(dir, { recursive: true, force: true })
    }
  }
}
