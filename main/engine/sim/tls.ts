import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'

/** The simulators' TLS material (resources/sim-tls): a throw-away CA and a localhost certificate. */
export function simTls(): { ca: string; cert: string; key: string } {
  // main/engine/sim in a source checkout; out/cli or out/main in a bundle
  const candidates = [join(__dirname, '..', '..', '..', 'resources', 'sim-tls'), join(__dirname, '..', '..', 'resources', 'sim-tls'), join(process.cwd(), 'resources', 'sim-tls')]
  if (process.resourcesPath) candidates.push(join(process.resourcesPath, 'sim-tls'))
  const dir = candidates.find((d) => existsSync(join(d, 'cert.pem')))
  if (!dir) throw new Error(`simulator TLS files not found (looked in ${candidates.join(', ')})`)
  const read = (f: string) => readFileSync(join(dir, f), 'utf8')
  return { ca: read('ca.pem'), cert: read('cert.pem'), key: read('key.pem') }
}
