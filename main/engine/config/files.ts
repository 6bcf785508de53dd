import { X509Certificate } from 'node:crypto'
import { statSync } from 'node:fs'

/** Why a PEM text is not a usable trust root, or undefined when it holds at least one certificate. */
export function pemCertificateProblem(text: string): string | undefined {
  const blocks = text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g)
  if (!blocks) return 'holds no PEM certificate ("-----BEGIN CERTIFICATE-----"); give the CA certificate that signed the server’s certificate'
  for (const block of blocks) {
    try {
      new X509Certificate(block)
    } catch (e) {
      return `holds a certificate that cannot be read (${(e as Error).message})`
    }
  }
  return undefined
}

/** A warning when a file holding a secret may be read by other users (POSIX modes only). */
export function secretFileWarning(path: string): string | undefined {
  if (process.platform === 'win32') return undefined
  try {
    const mode = statSync(path).mode & 0o777
    if (mode & 0o077) return `${path} can be read by other users (mode ${mode.toString(8).padStart(3, '0')}); restrict it with: chmod 600 ${path}`
  } catch {
    // unreadable files are reported by the reader
  }
  return undefined
}
