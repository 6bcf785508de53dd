/**
 * A URL as it may be printed or stored: scheme, host, port and path only. User info
 * (`user:password@`) is dropped, and so are the query and fragment, where presigned URLs carry
 * their signature and tokens (OBS `Signature=`, `X-Amz-Signature=`, `token=` …).
 */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url)
    // `host` never includes user info; `origin` is "null" for schemes such as mqtts:, so build it.
    return `${u.protocol}//${u.host}${u.pathname}`
  } catch {
    // Not a URL the parser accepts: still cut what could be secret, by shape.
    return url
      .replace(/[?#].*$/s, '')
      .replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/]*@/i, '$1')
  }
}
