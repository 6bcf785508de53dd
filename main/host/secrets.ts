import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto'
import { closeSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { PRIVATE_DIR_MODE, PRIVATE_FILE_MODE, readJsonFile, writeJsonFile } from './private-file'

/**
 * Where the host keeps secrets: profile secrets (device secrets, broker passwords, client keys) and
 * the records database URL. Values go in and never come back out to the renderer; the renderer only
 * learns whether a key is set.
 */
export interface SecretStore {
  get(key: string): string | undefined
  /** null removes the key. */
  set(key: string, value: string | null): void
  has(key: string): boolean
}

/** Secrets for this process only (tests; nothing is written). */
export class MemorySecretStore implements SecretStore {
  private readonly values = new Map<string, string>()
  get(key: string): string | undefined {
    return this.values.get(key)
  }
  set(key: string, value: string | null): void {
    if (value === null) this.values.delete(key)
    else this.values.set(key, value)
  }
  has(key: string): boolean {
    return this.values.has(key)
  }
}

/** What Electron's `safeStorage` offers (injected, so this file does not import Electron). */
export interface SafeStorageLike {
  isEncryptionAvailable(): boolean
  encryptString(plain: string): Buffer
  decryptString(encrypted: Buffer): string
}

/** An encrypted map on disk: key → base64 ciphertext, in a 0600 JSON file. */
abstract class EncryptedFileStore implements SecretStore {
  private cache?: Record<string, string>

  constructor(protected readonly file: string) {}

  protected abstract encrypt(plain: string): string
  protected abstract decrypt(encrypted: string): string

  private entries(): Record<string, string> {
    this.cache ??= readJsonFile<{ entries?: Record<string, string> }>(this.file, {}).entries ?? {}
    return this.cache
  }

  get(key: string): string | undefined {
    const e = this.entries()[key]
    if (e === undefined) return undefined
    try {
      return this.decrypt(e)
    } catch (err) {
      throw new Error(`the secret "${key}" in ${this.file} cannot be decrypted (${(err as Error).message}); enter it again`)
    }
  }

  set(key: string, value: string | null): void {
    const entries = { ...this.entries() }
    if (value === null) delete entries[key]
    else entries[key] = this.encrypt(value)
    writeJsonFile(this.file, { version: 1, entries })
    this.cache = entries
  }

  has(key: string): boolean {
    return this.entries()[key] !== undefined
  }
}

/**
 * The desktop app's store: Electron's safeStorage (Keychain on macOS, DPAPI on Windows, the Secret
 * Service or KWallet on Linux) encrypts every value; the ciphertext lives in a 0600 file under the
 * app's userData. Where Linux has no keyring, Electron falls back to a fixed key ("basic_text"):
 * then the file is only obscured, which the app says in its log.
 */
export class SafeStorageSecretStore extends EncryptedFileStore {
  constructor(
    file: string,
    private readonly safeStorage: SafeStorageLike
  ) {
    super(file)
  }

  protected encrypt(plain: string): string {
    if (!this.safeStorage.isEncryptionAvailable()) {
      throw new Error("the system's secure storage is not available, so secrets cannot be saved; unlock the keyring (or start a Secret Service) and try again")
    }
    return this.safeStorage.encryptString(plain).toString('base64')
  }

  protected decrypt(encrypted: string): string {
    return this.safeStorage.decryptString(Buffer.from(encrypted, 'base64'))
  }
}

/**
 * `flashline ui`'s store (plain Node, no OS keychain): AES-256-GCM with a random key kept in a second
 * 0600 file next to it. Honestly: anyone who can read both files (the same user, root, a backup of the
 * data dir) can decrypt the secrets. It keeps them out of casual reading (a `cat` or a grep of the
 * data dir, a pasted settings file), nothing more; the desktop app uses the OS keychain instead.
 */
export class KeyFileSecretStore extends EncryptedFileStore {
  private key?: Buffer

  constructor(dir: string) {
    super(join(dir, 'secrets.json'))
  }

  private keyBytes(): Buffer {
    if (this.key) return this.key
    const keyFile = join(dirname(this.file), 'secrets.key')
    try {
      this.key = Buffer.from(readFileSync(keyFile, 'utf8').trim(), 'base64')
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e
      const key = randomBytes(32)
      mkdirSync(dirname(keyFile), { recursive: true, mode: PRIVATE_DIR_MODE })
      // 'wx': two processes starting at once never overwrite each other's key
      try {
        const fd = openSync(keyFile, 'wx', PRIVATE_FILE_MODE)
        writeSync(fd, key.toString('base64') + '\n')
        closeSync(fd)
        this.key = key
      } catch (e2) {
        if ((e2 as NodeJS.ErrnoException).code !== 'EEXIST') throw e2
        this.key = Buffer.from(readFileSync(keyFile, 'utf8').trim(), 'base64')
      }
    }
    if (this.key.length !== 32) throw new Error(`${keyFile} does not hold a 256-bit key; remove it and ${this.file} and enter the secrets again`)
    return this.key
  }

  protected encrypt(plain: string): string {
    const iv = randomBytes(12)
    const cipher = createCipheriv('aes-256-gcm', this.keyBytes(), iv)
    const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()])
    return Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64')
  }

  protected decrypt(encrypted: string): string {
    const raw = Buffer.from(encrypted, 'base64')
    const decipher = createDecipheriv('aes-256-gcm', this.keyBytes(), raw.subarray(0, 12))
    decipher.setAuthTag(raw.subarray(12, 28))
    return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8')
  }
}
