import { spawnSync } from 'node:child_process'

/** Lowercase hex HMAC computed by the openssl command line (an implementation independent of ours). */
export function opensslHmac(digest: 'sha1' | 'md5' | 'sha256', key: string, data: string): string {
  const r = spawnSync('openssl', ['dgst', `-${digest}`, '-hmac', key], { input: data, encoding: 'utf8' })
  if (r.status !== 0) throw new Error(`openssl dgst -${digest} -hmac failed: ${r.stderr || r.error?.message}`)
  const m = /=\s*([0-9a-f]+)\s*$/.exec(r.stdout)
  if (!m) throw new Error(`unexpected openssl output: ${r.stdout}`)
  return m[1]!
}

/**
 * The current UTC hour as yyyyMMddHH, built from Date#toISOString (not the product's helper); waits
 * past the hour when it is about to change, so a test's expected IoTDA password stays valid for a minute.
 */
export async function stableUtcHour(marginMs = 60_000): Promise<string> {
  const msToNextHour = 3600_000 - (Date.now() % 3600_000)
  if (msToNextHour < marginMs) await new Promise((r) => setTimeout(r, msToNextHour + 1000))
  const iso = new Date().toISOString() // 2024-01-02T03:04:05.678Z
  return iso.slice(0, 4) + iso.slice(5, 7) + iso.slice(8, 10) + iso.slice(11, 13)
}
