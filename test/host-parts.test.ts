import { readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { AppEvent } from '../preload/contract'
import { Bench } from '../main/engine'
import { createHost, KeyFileSecretStore, MemorySecretStore, SafeStorageSecretStore } from '../main/host'
import { LogLimiter } from '../main/host/log-limit'
import { tempDir } from './harness/tmp'

let tmp: ReturnType<typeof tempDir>
beforeEach(() => {
  tmp = tempDir('flashline-host-parts-')
})
afterEach(() => {
  vi.useRealTimers()
  tmp.cleanup()
})

describe('log lines to the renderer', () => {
  it('drops debug lines, passes at most N a second per job, then names what it held back; errors always pass', () => {
    vi.useFakeTimers()
    const sent: Array<{ message: string; dropped?: number }> = []
    const limiter = new LogLimiter<{ level: string; jobId?: string; source: string; message: string }>(5, (line, dropped) => sent.push({ message: line.message, dropped }))
    limiter.push({ level: 'debug', jobId: 'j1', source: 'job', message: 'noise' })
    for (let i = 0; i < 50; i++) limiter.push({ level: 'info', jobId: 'j1', source: 'job', message: `line ${i}` })
    limiter.push({ level: 'error', jobId: 'j1', source: 'job', message: 'the reason' })
    // another job has its own budget
    limiter.push({ level: 'info', jobId: 'j2', source: 'job', message: 'other job' })
    expect(sent.map((s) => s.message)).toEqual(['line 0', 'line 1', 'line 2', 'line 3', 'line 4', 'the reason', 'other job'])
    vi.advanceTimersByTime(1000)
    expect(sent.at(-1)).toEqual({ message: 'line 49', dropped: 45 })
    limiter.push({ level: 'info', jobId: 'j1', source: 'job', message: 'next second' })
    expect(sent.at(-1)).toEqual({ message: 'next second', dropped: undefined })
    limiter.close()
  })

  it('masks every secret the host holds in log lines, whatever wrote them', async () => {
    const dataDir = join(tmp.dir, 'data')
    const bench = new Bench({ dataDir })
    const logged: string[] = []
    const events: AppEvent[] = []
    const host = createHost({ bench, secrets: new MemorySecretStore(), settingsFile: join(dataDir, 'settings.json'), logSink: (l) => logged.push(l.message), portsIntervalMs: 60_000 })
    host.onEvent((e) => events.push(e))
    await host.call('saveSlot', { id: 's1', settings: { port: 'sim:ymodem:mask', protocol: 'ymodem' } })
    const secret = 'pa55-w0rd-very-secret'
    const r = await host.call('saveProfile', { profile: { id: 'p', name: 'p', platform: 'wudun', broker: 'mqtt://127.0.0.1:1', username: 'u', wudun: { deviceUid: 'd' }, devices: [{ id: 'd', slotId: 's1', currentVersion: '1' }] }, secrets: { password: secret } })
    expect(r.ok).toBe(true)
    // an engine log line that (wrongly) carried the secret
    ;(bench as unknown as { log(l: object): void }).log({ level: 'warn', source: 'connection', message: `login with ${secret} refused` })
    expect(logged).toContain('login with *** refused')
    expect(JSON.stringify(events)).not.toContain(secret)
    await host.close()
  })
})

describe('secret stores', () => {
  it('flashline ui: AES-256-GCM in a 0600 file, the random key in another 0600 file; nothing readable in either', () => {
    const dir = join(tmp.dir, 'data')
    const store = new KeyFileSecretStore(dir)
    expect(store.get('a')).toBeUndefined()
    store.set('a', 'hunter2-secret-value')
    store.set('b', 'second')
    const again = new KeyFileSecretStore(dir)
    expect(again.get('a')).toBe('hunter2-secret-value')
    expect(again.has('b')).toBe(true)
    for (const f of ['secrets.json', 'secrets.key']) {
      expect(statSync(join(dir, f)).mode & 0o777, f).toBe(0o600)
      expect(readFileSync(join(dir, f), 'utf8')).not.toContain('hunter2')
    }
    expect(Buffer.from(readFileSync(join(dir, 'secrets.key'), 'utf8').trim(), 'base64')).toHaveLength(32)
    again.set('a', null)
    expect(new KeyFileSecretStore(dir).has('a')).toBe(false)
    // a tampered ciphertext is refused, not decrypted into garbage
    const file = JSON.parse(readFileSync(join(dir, 'secrets.json'), 'utf8'))
    const raw = Buffer.from(file.entries.b, 'base64')
    raw[raw.length - 1] ^= 1
    file.entries.b = raw.toString('base64')
    require('node:fs').writeFileSync(join(dir, 'secrets.json'), JSON.stringify(file))
    expect(() => new KeyFileSecretStore(dir).get('b')).toThrow(/cannot be decrypted/)
  })

  it('desktop app: every value through safeStorage, stored base64 in a 0600 file; refuses to save without secure storage', () => {
    const file = join(tmp.dir, 'secrets.json')
    let available = true
    // a stand-in for Electron's safeStorage: a reversible transformation that is not the plain text
    const safe = {
      isEncryptionAvailable: () => available,
      encryptString: (s: string) => Buffer.from([...Buffer.from(s)].map((b) => b ^ 0x5a)),
      decryptString: (b: Buffer) => Buffer.from([...b].map((x) => x ^ 0x5a)).toString()
    }
    const store = new SafeStorageSecretStore(file, safe)
    store.set('profile.x.secret', 'plain-secret')
    expect(readFileSync(file, 'utf8')).not.toContain('plain-secret')
    expect(statSync(file).mode & 0o777).toBe(0o600)
    expect(new SafeStorageSecretStore(file, safe).get('profile.x.secret')).toBe('plain-secret')
    available = false
    expect(() => store.set('k', 'v')).toThrow(/secure storage is not available/)
  })
})
