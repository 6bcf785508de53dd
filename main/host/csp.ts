/**
 * The renderer's Content-Security-Policy, sent as a header by the Electron shell (its app:// protocol)
 * and by `flashline ui`: the page runs its own scripts and nothing else, loads nothing from elsewhere,
 * cannot be framed, has no plugins, no <base>, no form posts. Inline styles stay allowed (React style
 * props, the renderer's CSS-in-JS); inline and remote scripts do not.
 */
export function rendererCsp(extra: { connect?: string[]; script?: string[] } = {}): string {
  return [
    "default-src 'none'",
    ["script-src 'self'", ...(extra.script ?? [])].join(' '),
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "font-src 'self' data:",
    ["connect-src 'self'", ...(extra.connect ?? [])].join(' '),
    "manifest-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
    "object-src 'none'"
  ].join('; ')
}

/** Headers every renderer response carries besides the CSP. */
export const SECURITY_HEADERS: Record<string, string> = {
  'X-Content-Type-Options': 'nosniff',
  // the page's address holds the bridge token: never sent on as a referrer
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'Cache-Control': 'no-store'
}

export const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.ttf': 'font/ttf',
  '.txt': 'text/plain; charset=utf-8',
  '.webmanifest': 'application/manifest+json'
}
