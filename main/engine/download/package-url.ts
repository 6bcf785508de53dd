import { FlashlineError } from '../errors'
import { redactUrl } from '../util/redact'

/**
 * Checks a package URL from an order or a redirect. Failures are download errors: the URL came
 * from the platform (or a server), so a job reports a download failure rather than an internal one;
 * the CLI turns them into usage errors for a URL the user typed.
 */
export function parsePackageUrl(raw: string, allowHttp?: boolean): URL {
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    throw new FlashlineError('download', 'bad-url', `the package URL "${redactUrl(raw)}" is not a valid URL`)
  }
  if (url.protocol === 'http:' && !allowHttp) {
    throw new FlashlineError('download', 'http-not-allowed', `refusing plain http:// for ${url.host}: packages are fetched over https:// only (allow it with \`allowHttp\` on a trusted lab network)`)
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new FlashlineError('download', 'bad-url', `unsupported URL scheme "${url.protocol}" for the package ${redactUrl(raw)}: only https:// (or http:// when allowed)`)
  }
  // The URL parser passes a stray "%" through unchanged; RFC 3986 §2.1 allows "%" only before two hex digits.
  const bad = /%(?![0-9a-fA-F]{2})/.exec(url.pathname + url.search)
  if (bad) {
    throw new FlashlineError('download', 'bad-url', `the package URL ${redactUrl(raw)} has a malformed percent-encoding ("%" not followed by two hex digits); ask the platform for a corrected order`)
  }
  return url
}
