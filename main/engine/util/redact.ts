/**
 * A URL fit to print or store: no user info (mqtt://bob:hunter2@host) and no query or fragment
 * (presigned URLs carry their signature there).
 */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url)
    const auth = u.username || u.password ? '***@' : ''
    return `${u.protocol}//${auth}${u.host}${u.pathname === '/' && !url.includes(`${u.host}/`) ? '' : u.pathname}`
  } catch {
    // not a URL: cut at the query, mask every `user[:password]@`
    return url.split('?')[0]!.replace(/[^\s@/]*(:[^\s@]*)?@/g, '***@')
  }
}
