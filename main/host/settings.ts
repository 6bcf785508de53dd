import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto'
import type { Language, Settings } from '../../preload/contract'
import { readJsonFile, writeJsonFile } from './private-file'

/** The settings file as kept on disk (0600). The admin PIN is stored only as a scrypt hash. */
interface SettingsFile {
  version: 1
  language: Language | 'system'
  serialPattern: string
  station?: string
  operator?: string
  operatorMode: boolean
  adminPin?: { scrypt: { N: number; r: number; p: number; keylen: number }; salt: string; hash: string }
  /** Wrong PINs in a row, and until when PIN checks are refused (survives a restart of the app). */
  pinFailures?: number
  lockedUntil?: number
}

export interface PinPolicy {
  /** Every wrong PIN is answered only after this delay (default 1 s). */
  delayMs: number
  /** After this many wrong PINs in a row… (default 5) */
  maxFailures: number
  /** …PIN checks are refused for this long (default 5 min). */
  lockoutMs: number
}

export const DEFAULT_PIN_POLICY: PinPolicy = { delayMs: 1000, maxFailures: 5, lockoutMs: 5 * 60_000 }

// RFC 7914 parameters: N = 2^14, r = 8, p = 1 (16 MiB, tens of ms per check)
const SCRYPT = { N: 16_384, r: 8, p: 1, keylen: 32 }

function scryptHash(pin: string, salt: Buffer, params: { N: number; r: number; p: number; keylen: number }): Promise<Buffer> {
  const options: ScryptOptions = { N: params.N, r: params.r, p: params.p, maxmem: 128 * params.N * params.r * 2 }
  return new Promise((resolve, reject) => scrypt(pin.normalize('NFKC'), salt, params.keylen, options, (err, key) => (err ? reject(err) : resolve(key))))
}

export type PinCheck = { ok: true } | { ok: false; code: 'bad-pin' | 'pin-locked' | 'no-pin'; message: string }

export class SettingsStore {
  private data: SettingsFile
  /** PIN checks run one after another, so parallel guesses wait out each other's delay. */
  private pinQueue: Promise<unknown> = Promise.resolve()

  constructor(
    private readonly file: string,
    private readonly policy: PinPolicy = DEFAULT_PIN_POLICY
  ) {
    const raw = readJsonFile<Partial<SettingsFile>>(file, {})
    this.data = {
      version: 1,
      language: raw.language ?? 'system',
      serialPattern: typeof raw.serialPattern === 'string' ? raw.serialPattern : '',
      station: raw.station,
      operator: raw.operator,
      operatorMode: raw.operatorMode === true,
      adminPin: raw.adminPin,
      pinFailures: raw.pinFailures,
      lockedUntil: raw.lockedUntil
    }
  }

  get operatorMode(): boolean {
    return this.data.operatorMode
  }

  get station(): string | undefined {
    return this.data.station
  }

  get operator(): string | undefined {
    return this.data.operator
  }

  get serialPattern(): string {
    return this.data.serialPattern
  }

  view(recordsDbSet: boolean): Settings {
    return {
      language: this.data.language,
      operatorMode: this.data.operatorMode,
      adminPinSet: this.data.adminPin !== undefined,
      serialPattern: this.data.serialPattern,
      station: this.data.station,
      operator: this.data.operator,
      recordsDb: { set: recordsDbSet }
    }
  }

  update(patch: { language?: Language | 'system'; serialPattern?: string; station?: string; operator?: string; operatorMode?: boolean }): void {
    const next = { ...this.data }
    if (patch.language !== undefined) next.language = patch.language
    if (patch.serialPattern !== undefined) next.serialPattern = patch.serialPattern
    // an empty name removes it from the records
    if (patch.station !== undefined) next.station = patch.station || undefined
    if (patch.operator !== undefined) next.operator = patch.operator || undefined
    if (patch.operatorMode !== undefined) next.operatorMode = patch.operatorMode
    this.save(next)
  }

  private save(next: SettingsFile): void {
    writeJsonFile(this.file, next)
    this.data = next
  }

  async setPin(pin: string): Promise<void> {
    const salt = randomBytes(16)
    const hash = await scryptHash(pin, salt, SCRYPT)
    this.save({ ...this.data, adminPin: { scrypt: SCRYPT, salt: salt.toString('base64'), hash: hash.toString('base64') }, pinFailures: 0, lockedUntil: undefined })
  }

  /** Checks the admin PIN: a wrong one is answered after the policy's delay; too many lock checks out for a while. */
  checkPin(pin: string): Promise<PinCheck> {
    const run = this.pinQueue.then(() => this.checkPinNow(pin))
    this.pinQueue = run.catch(() => undefined)
    return run
  }

  private async checkPinNow(pin: string): Promise<PinCheck> {
    const stored = this.data.adminPin
    if (!stored) return { ok: false, code: 'no-pin', message: 'no admin PIN is set' }
    const now = Date.now()
    if (this.data.lockedUntil !== undefined && now < this.data.lockedUntil) {
      const s = Math.ceil((this.data.lockedUntil - now) / 1000)
      return { ok: false, code: 'pin-locked', message: `too many wrong PINs; try again in ${s} s` }
    }
    const expected = Buffer.from(stored.hash, 'base64')
    const actual = await scryptHash(pin, Buffer.from(stored.salt, 'base64'), stored.scrypt)
    if (actual.length === expected.length && timingSafeEqual(actual, expected)) {
      if (this.data.pinFailures || this.data.lockedUntil) this.save({ ...this.data, pinFailures: 0, lockedUntil: undefined })
      return { ok: true }
    }
    const failures = (this.data.pinFailures ?? 0) + 1
    const locked = failures >= this.policy.maxFailures
    this.save({ ...this.data, pinFailures: locked ? 0 : failures, lockedUntil: locked ? Date.now() + this.policy.lockoutMs : undefined })
    await new Promise((r) => setTimeout(r, this.policy.delayMs))
    return locked
      ? { ok: false, code: 'pin-locked', message: `wrong PIN; after ${this.policy.maxFailures} wrong PINs in a row, PIN checks are refused for ${Math.round(this.policy.lockoutMs / 1000)} s` }
      : { ok: false, code: 'bad-pin', message: `wrong PIN (${this.policy.maxFailures - failures} more tries before a lockout)` }
  }
}
