/**
 * A URL fit to print or store: no user info (mqtt://bob:hunter2@host) and no query or fragment
 * (presigned URLs carry their signature there). Anything that is not a URL is cut at its first "?".
 */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url)
    const auth = u.username || u.password ? '***@' : ''
    return `${u.protocol}//${auth}${u.host}${u.pathname === '/' && !url.includes(`${u.host}/`) ? '' : u.pathname}`
  } catch {
    return url.split('?')[0]!.replace(/\/\/[^/@]*@/, '//***@')
  }
}
