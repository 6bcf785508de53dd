import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { writeFileAtomic } from './atomic-file'
import { quarantine, type StoreProblem } from './quarantine'
import { firstIssue, versionsFileSchema } from './schemas'

/**
 * The version each served device runs, as far as this station knows: seeded from the configuration,
 * updated after a proven flash, so version queries after a restart answer the truth. When the file is
 * damaged it is quarantined and the flashed versions are rebuilt from the journal's succeeded jobs.
 */
export class DeviceVersions {
  private readonly file: string
  private versions: Record<string, string> = {}
  private readonly configured: Record<string, string>
  private readonly problem: StoreProblem

  constructor(
    private readonly dataDir: string,
    initial: Record<string, string>,
    options: { problem?: StoreProblem; flashedFromJournal?: () => Record<string, string> } = {}
  ) {
    this.file = join(dataDir, 'versions.json')
    const problem = (this.problem = options.problem ?? (() => undefined))
    let saved: { configured: Record<string, string>; current: Record<string, string> } | undefined
    let text: string | undefined
    try {
      text = readFileSync(this.file, 'utf8')
    } catch {
      text = undefined // first start
    }
    if (text !== undefined) {
      let why: string
      try {
        const parsed = versionsFileSchema.safeParse(JSON.parse(text))
        if (parsed.success) saved = parsed.data
        why = parsed.success ? '' : firstIssue(parsed.error)
      } catch (e) {
        why = (e as Error).message
      }
      if (!saved) {
        const moved = quarantine(dataDir, this.file)
        const flashed = options.flashedFromJournal?.() ?? {}
        // the journal knows what was proven flashed; the configuration it was flashed over is taken as today's
        saved = { configured: { ...initial }, current: flashed }
        problem('warn', `${this.file} could not be used (${why}); moved to ${moved}. Flashed versions were rebuilt from the job journal: ${Object.entries(flashed).map(([d, v]) => `${d}=${v}`).join(', ') || 'none'}`)
      }
    }
    for (const [id, v] of Object.entries(initial)) {
      // A flashed version wins over the configured one only while the configuration has not changed.
      const flashed = saved && saved.configured[id] === v ? saved.current[id] : undefined
      this.versions[id] = flashed ?? v
    }
    this.configured = initial
    const unchanged = saved && JSON.stringify(saved.configured) === JSON.stringify(initial) && JSON.stringify(saved.current) === JSON.stringify(this.versions)
    if (!unchanged) {
      try {
        this.persist()
      } catch (e) {
        // a full disk must not stop the start-up: the versions are kept in memory and written with the next change
        problem('warn', `cannot write ${this.file} (${(e as Error).message}); versions are kept in memory for now`)
      }
    }
  }

  get(deviceId: string): string | undefined {
    return this.versions[deviceId]
  }

  set(deviceId: string, version: string): void {
    this.versions[deviceId] = version
    try {
      this.persist()
    } catch (e) {
      this.problem('error', `cannot write ${this.file} (${(e as Error).message}); ${deviceId} now runs ${version}, kept in memory until the next write succeeds`)
    }
  }

  private persist(): void {
    writeFileAtomic(this.file, JSON.stringify({ configured: this.configured, current: this.versions }, null, 1))
  }
}
