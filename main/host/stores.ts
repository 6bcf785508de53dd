import { join } from 'node:path'
import type { ProfileInput, ProfileSecrets, SlotSettings } from '../../preload/contract'
import { readJsonFile, writeJsonFile } from './private-file'

/** A saved slot: its settings as the renderer wrote them (the station file's device fields). */
export interface SavedSlot {
  id: string
  label: string
  settings: SlotSettings
}

export type SavedProfile = ProfileInput & { id: string }

export const SECRET_NAMES = ['secret', 'deviceSecret', 'password', 'cert', 'key'] as const satisfies ReadonlyArray<keyof ProfileSecrets>

export const secretKey = (profileId: string, name: keyof ProfileSecrets): string => `profile.${profileId}.${name}`
export const RECORDS_DB_KEY = 'settings.recordsDb'

/** A list of objects with ids, kept in one 0600 JSON file under the data dir. */
export class ListFile<T extends { id: string }> {
  private items: T[]

  constructor(readonly file: string) {
    const raw = readJsonFile<{ items?: T[] }>(file, {})
    this.items = Array.isArray(raw.items) ? raw.items : []
  }

  all(): T[] {
    return [...this.items]
  }

  get(id: string): T | undefined {
    return this.items.find((i) => i.id === id)
  }

  put(item: T): void {
    const next = this.items.filter((i) => i.id !== item.id)
    const at = this.items.findIndex((i) => i.id === item.id)
    next.splice(at < 0 ? next.length : at, 0, item)
    writeJsonFile(this.file, { version: 1, items: next })
    this.items = next
  }

  remove(id: string): boolean {
    if (!this.get(id)) return false
    const next = this.items.filter((i) => i.id !== id)
    writeJsonFile(this.file, { version: 1, items: next })
    this.items = next
    return true
  }

  /** The first id `prefix-N` not taken. */
  freshId(prefix: string): string {
    for (let n = 1; ; n++) if (!this.get(`${prefix}-${n}`)) return `${prefix}-${n}`
  }
}

/** Where the host keeps its own files in the data dir. */
export function hostFiles(dataDir: string): { slots: string; profiles: string; packages: string; uploads: string; scratch: string } {
  const dir = join(dataDir, 'app')
  return { slots: join(dir, 'slots.json'), profiles: join(dir, 'profiles.json'), packages: join(dir, 'packages.json'), uploads: join(dir, 'uploads'), scratch: join(dir, 'scratch') }
}

/** True when the data dir has no slot and no profile but the demo's: the app starts in demo mode then. */
export function nothingConfigured(dataDir: string): boolean {
  const f = hostFiles(dataDir)
  const mine = (file: string) => new ListFile<{ id: string }>(file).all().filter((i) => !i.id.startsWith('demo-'))
  return mine(f.slots).length === 0 && mine(f.profiles).length === 0
}
