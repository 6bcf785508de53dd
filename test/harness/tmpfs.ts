import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/**
 * A real, small filesystem (tmpfs) to run out of space on. Mounting needs root (the test run installs
 * its Debian packages as root too) or password-less sudo; otherwise this throws saying so.
 */
export function smallDisk(sizeKiB: number): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'flashline-disk-'))
  const sudo = process.getuid?.() === 0 ? [] : ['sudo', '-n']
  const run = (args: string[]) => spawnSync(sudo[0] ?? args[0]!, [...sudo.slice(1), ...(sudo.length ? args : args.slice(1))], { encoding: 'utf8' })
  const mounted = run(['mount', '-t', 'tmpfs', '-o', `size=${sizeKiB}k,mode=0777`, 'tmpfs', dir])
  if (mounted.status !== 0) {
    rmSync(dir, { recursive: true, force: true })
    throw new Error(`the disk-full tests mount a small tmpfs and need root or password-less sudo (mount said: ${mounted.stderr.trim() || mounted.error?.message})`)
  }
  return {
    dir,
    cleanup: () => {
      run(['umount', '-l', dir])
      rmSync(dir, { recursive: true, force: true })
    }
  }
}

/** Fills the filesystem holding `dir` until a write fails with ENOSPC. */
export function fillDisk(dir: string): void {
  spawnSync('sh', ['-c', `cat /dev/zero > "${join(dir, 'filler')}" 2>/dev/null; true`])
}
