import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { writeFileAtomic } from './atomic-file'

/**
 * The version each served device runs, as far as this station knows: seeded from the configuration,
 * updated after a proven flash, so version queries after a restart answer the truth.
 */
export class DeviceVersions {
  private readonly file: string
  private versions: Record<string, string> = {}
  private readonly configured: Record<string, string>

  constructor(dataDir: string, initial: Record<string, string>) {
    this.file = join(dataDir, 'versions.json')
    let saved: { configured: Record<string, string>; current: Record<string, string> } | undefined
    try {
      saved = JSON.parse(readFileSync(this.file, 'utf8'))
    } catch {
      saved = undefined
    }
    for (const [id, v] of Object.entries(initial)) {
      // A flashed version wins over the configured one only while the configuration has not changed.
      const flashed = saved && saved.configured[id] === v ? saved.current[id] : undefined
      this.versions[id] = flashed ?? v
    }
    this.configured = initial
    this.persist()
  }

  get(deviceId: string): string | undefined {
    return this.versions[deviceId]
  }

  set(deviceId: string, version: string): void {
    this.versions[deviceId] = version
    this.persist()
  }

  private persist(): void {
    writeFileAtomic(this.file, JSON.stringify({ configured: this.configured, current: this.versions }, null, 1))
  }
}
