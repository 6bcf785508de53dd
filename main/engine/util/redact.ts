/**
 * A URL as it may be printed or stored: scheme, host, port and path only. User info
 * (`user:password@`) is replaced by `***@`, and the query and fragment are dropped: presigned URLs
 * carry their signature and tokens there (OBS `Signature=`, `X-Amz-Signature=`, `token=` …).
 */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url)
    const auth = u.username || u.password ? '***@' : ''
    // `host` never includes user info; `origin` is "null" for schemes such as mqtts:, so build it
    const path = u.pathname === '/' && !url.includes(`${u.host}/`) ? '' : u.pathname
    return `${u.protocol}//${auth}${u.host}${path}`
  } catch {
    // not a URL the parser accepts: still cut what could be secret, by shape
    const cut = url.replace(/[?#].*$/s, '')
    const scheme = /^([a-z][a-z0-9+.-]*:\/\/)[^/]*@/i
    return scheme.test(cut) ? cut.replace(scheme, '$1***@') : cut.replace(/[^\s@/]*(:[^\s@]*)?@/g, '***@')
  }
}
