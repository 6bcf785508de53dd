import { copyFileSync, mkdirSync } from 'node:fs'
import { hostname } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fetchPackage } from '../../engine/download/fetch-package'
import { parsePackageUrl } from '../../engine/download/package-url'
import { FlashlineError } from '../../engine/errors'
import { defaultDataDir } from '../../engine/util/data-dir'
import { redactUrl } from '../../engine/util/redact'
import { hexDigest, int, parseFlags, readTextFile, required, str } from '../args'
import { formatBytes, RateMeter, type Output } from '../output'

export const FETCH_HELP = `flashline fetch --url URL [--token T] [--sha256 H | --md5 H] [--size N] [--out FILE] [--ca FILE] [--allow-http] [--json]
  Download (resumable) and verify a package into the cache, for offline work.
  --url URL      https:// address of the package (http:// only with --allow-http)
  --token T      bearer token (sent as "Authorization: Bearer T"); omit for presigned URLs
  --sha256 H / --md5 H / --size N   what the package must be; a mismatch fails with exit code 4
  --out FILE     also copy the verified package to FILE
  --ca FILE      extra trusted CA certificate (PEM); TLS verification stays on
  --data-dir DIR where the cache lives (default ${defaultDataDir()})`

export async function fetchCommand(argv: string[], makeOutput: (json: boolean) => Output, signal: AbortSignal): Promise<number> {
  const flags = parseFlags(
    argv,
    {
      url: { type: 'string' },
      token: { type: 'string' },
      sha256: { type: 'string' },
      md5: { type: 'string' },
      size: { type: 'string' },
      out: { type: 'string' },
      ca: { type: 'string' },
      'allow-http': { type: 'boolean' },
      'data-dir': { type: 'string' },
      json: { type: 'boolean' }
    },
    'fetch'
  )
  const out = makeOutput(Boolean(flags['json']))
  const url = required(flags, 'url', 'the address of the package')
  const allowHttp = Boolean(flags['allow-http'])
  try {
    parsePackageUrl(url, allowHttp) // a URL typed here is the user's to fix: exit 2 before anything starts
  } catch (e) {
    if (e instanceof FlashlineError) throw new FlashlineError('usage', e.code, `--url: ${e.message}`)
    throw e
  }
  const expect = { sha256: hexDigest(flags, 'sha256', 64), md5: hexDigest(flags, 'md5', 32), size: int(flags, 'size', { min: 0 }) }
  const dataDir = str(flags, 'data-dir') ?? defaultDataDir()
  const meter = new RateMeter()
  out.event('download-start', { url: redactUrl(url) })
  const pkg = await fetchPackage(
    { url, bearerToken: str(flags, 'token') },
    expect,
    {
      cacheDir: join(dataDir, 'cache'),
      ca: readTextFile(flags, 'ca'),
      allowHttp,
      signal,
      onWait: (w) => {
        const who = w.owner ? `pid ${w.owner.pid}${w.owner.host === hostname() ? '' : ` on ${w.owner.host}`}` : 'another process'
        out.event('download-wait', { pid: w.owner?.pid, host: w.owner?.host, partialBytes: w.partialBytes, waitedMs: w.waitedMs })
        out.info(`waiting for another flashline process (${who}) that is downloading this package into the same cache (${formatBytes(w.partialBytes)} so far)`)
      },
      onProgress: (p) => {
        if (!meter.due(100, p.total !== undefined && p.done === p.total)) return
        out.event('download-progress', { done: p.done, total: p.total, bytesPerSec: Math.round(p.bytesPerSec) })
        out.progress('download', p.done, p.total, p.bytesPerSec)
      }
    }
  )
  out.clearBar()
  let path = pkg.path
  const target = str(flags, 'out')
  if (target) {
    mkdirSync(dirname(resolve(target)), { recursive: true })
    copyFileSync(pkg.path, target)
    path = resolve(target)
  }
  out.event('download-done', { path, size: pkg.size, sha256: pkg.sha256, md5: pkg.md5, sum32: pkg.sum32, fromCache: pkg.fromCache })
  out.info(`${pkg.fromCache ? 'already in the cache' : 'downloaded and verified'}: ${path}`)
  out.info(`size ${pkg.size}  sha256 ${pkg.sha256}${pkg.md5 ? `  md5 ${pkg.md5}` : ''}${pkg.sum32 ? `  sum32 ${pkg.sum32}` : ''}`)
  return 0
}
