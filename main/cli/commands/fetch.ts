import { closeSync, copyFileSync, mkdirSync, openSync, renameSync, rmSync, statSync } from 'node:fs'
import { hostname } from 'node:os'
import { basename, dirname, join, resolve } from 'node:path'
import { Bench, defaultDataDir, FlashlineError, parsePackageUrl, redactUrl } from '../../engine'
import { hexDigest, int, parseFlags, readTextFile, required, str, type Flags } from '../args'
import { formatBytes, RateMeter, type Output } from '../output'

export const FETCH_HELP = `flashline fetch --url URL [--token T | --token-file FILE] [--sha256 H | --md5 H] [--size N] [--out PATH] [--ca FILE] [--allow-http] [--json]
  Download (resumable) and verify a package into the cache, for offline work.
  --url URL      https:// address of the package (http:// only with --allow-http)
  --token T      bearer token (sent as "Authorization: Bearer T"); omit for presigned URLs
  --token-file FILE  read the token from FILE (keep it chmod 600), or set env FLASHLINE_TOKEN;
                 a token on the command line is visible to other users in the process list
  --sha256 H / --md5 H / --size N   what the package must be; a mismatch fails with exit code 4
  --out PATH     also copy the verified package to PATH; when PATH is an existing directory the copy goes
                 inside it, named after the URL's last path segment (or <sha256>.bin when it has none).
                 Checked before the download starts: a place that cannot be written is exit code 2
  --ca FILE      extra trusted CA certificate (PEM); TLS verification stays on
  --data-dir DIR where the cache lives (default ${defaultDataDir()}); processes sharing it download a
                 package once: another run (or agent) wanting the same package waits for it, then uses it`

export async function fetchCommand(argv: string[], makeOutput: (json: boolean) => Output, signal: AbortSignal): Promise<number> {
  const flags = parseFlags(
    argv,
    {
      url: { type: 'string' },
      token: { type: 'string' },
      'token-file': { type: 'string' },
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
  const bearerToken = tokenFrom(flags, out)
  const expect = { sha256: hexDigest(flags, 'sha256', 64), md5: hexDigest(flags, 'md5', 32), size: int(flags, 'size', { min: 0 }) }
  const dataDir = str(flags, 'data-dir') ?? defaultDataDir()
  const ca = readTextFile(flags, 'ca')
  const target = str(flags, 'out')
  const copy = target !== undefined ? prepareOut(target, new URL(url)) : undefined
  const meter = new RateMeter()
  out.event('download-start', { url: redactUrl(url) })
  let pkg
  const bench = new Bench({ dataDir })
  try {
    pkg = await bench.fetchPackage(
      { url, bearerToken },
      expect,
      {
        ca,
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
  } catch (e) {
    if (copy) rmSync(copy.tmp, { force: true })
    throw e
  } finally {
    await bench.close()
  }
  out.clearBar()
  const path = copy ? finishOut(copy, pkg.path, pkg.sha256) : pkg.path
  out.event('download-done', { path, size: pkg.size, sha256: pkg.sha256, md5: pkg.md5, sum32: pkg.sum32, fromCache: pkg.fromCache })
  out.info(`${pkg.fromCache ? 'already in the cache' : 'downloaded and verified'}: ${path}`)
  out.info(`size ${pkg.size}  sha256 ${pkg.sha256}${pkg.md5 ? `  md5 ${pkg.md5}` : ''}${pkg.sum32 ? `  sum32 ${pkg.sum32}` : ''}`)
  return 0
}

/** --token, --token-file or env FLASHLINE_TOKEN (in that order); two flags at once are a usage error. */
function tokenFrom(flags: Flags, out: Output): string | undefined {
  const inline = str(flags, 'token')
  const file = str(flags, 'token-file')
  if (inline !== undefined && file !== undefined) throw new FlashlineError('usage', 'conflicting-flags', '--token and --token-file cannot be combined: give the token one way')
  if (file === undefined) return inline ?? (process.env['FLASHLINE_TOKEN'] || undefined)
  const token = readTextFile(flags, 'token-file')!.trim()
  if (!token) throw new FlashlineError('usage', 'bad-token', `--token-file ${file} is empty`)
  if (/[\r\n\0]/.test(token)) throw new FlashlineError('usage', 'bad-token', `--token-file ${file} holds more than one line; it must hold the token alone`)
  if (process.platform !== 'win32') {
    const mode = statSync(file).mode
    if (mode & 0o044) out.error(`warning: --token-file ${file} is readable by ${mode & 0o040 ? 'its group' : ''}${(mode & 0o044) === 0o044 ? ' and ' : ''}${mode & 0o004 ? 'other users' : ''} (mode ${(mode & 0o777).toString(8).padStart(3, '0')}); chmod 600 ${file}`)
  }
  return token
}

/** Where --out puts the copy, and the empty file beside it that proved the place writable. */
interface OutCopy {
  dir: string
  /** undefined: named after the package's SHA-256 once it is known */
  name: string | undefined
  tmp: string
}

/**
 * Checks --out before anything is downloaded: creates its folder and an empty file in it, so an
 * unwritable place (read-only, a path through a file, no permission) is a usage error now rather
 * than after the download. An existing directory means "put the package inside it".
 */
function prepareOut(target: string, url: URL): OutCopy {
  const abs = resolve(target)
  const fail = (what: string, e: unknown): never => {
    const err = e as NodeJS.ErrnoException
    throw new FlashlineError('usage', 'bad-out', `--out ${target}: ${what} (${err.code ? `${err.code}: ` : ''}${err.message.replace(/^[A-Z]+: /, '')})`)
  }
  let isDir = false
  try {
    isDir = statSync(abs).isDirectory()
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') fail('cannot write there', e)
  }
  const dir = isDir ? abs : dirname(abs)
  const name = isDir ? fileNameOf(url) : basename(abs)
  try {
    mkdirSync(dir, { recursive: true })
  } catch (e) {
    fail(`cannot create the folder ${dir}`, e)
  }
  if (name !== undefined) {
    let inside = false
    try {
      inside = statSync(join(dir, name)).isDirectory()
    } catch {
      /* absent: fine */
    }
    if (inside) throw new FlashlineError('usage', 'bad-out', `--out ${target}: ${join(dir, name)} is a directory; give a file name`)
  }
  const tmp = join(dir, `.${name ?? 'package'}.flashline-${process.pid}.tmp`)
  try {
    closeSync(openSync(tmp, 'wx'))
  } catch (e) {
    fail(`cannot write in ${dir}`, e)
  }
  return { dir, name, tmp }
}

/** Copies the verified package next to its destination, then renames it into place (never a half-written file). */
function finishOut(copy: OutCopy, from: string, sha256: string): string {
  const dest = join(copy.dir, copy.name ?? `${sha256}.bin`)
  try {
    copyFileSync(from, copy.tmp)
    renameSync(copy.tmp, dest)
  } catch (e) {
    rmSync(copy.tmp, { force: true })
    throw new FlashlineError('download', 'out-write', `cannot write --out ${dest}: ${(e as Error).message}; the verified package stays in the cache at ${from}`)
  }
  return dest
}

/** The URL's last path segment as a file name, if it is a usable one. */
function fileNameOf(url: URL): string | undefined {
  let name: string
  try {
    name = decodeURIComponent(url.pathname.split('/').pop() ?? '')
  } catch {
    return undefined
  }
  return name && name !== '.' && name !== '..' && !/[/\\\0]/.test(name) ? name : undefined
}
