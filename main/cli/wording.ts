/** Engine messages name a setting as `field`; on the command line it is the flag that sets it. */
const FIELD_FLAGS: Record<string, string> = {
  broker: '--broker',
  ca: '--ca',
  allowHttp: '--allow-http',
  allowUnverified: '--allow-unverified',
  cert: '--cert',
  key: '--key',
  entry: '--entry',
  verify: '--verify',
  unprotect: '--unprotect',
  protect: '--protect',
  probe: '--probe',
  'probe.baud': '--probe-baud',
  'probe.timeoutSeconds': '--probe-timeout',
  dataDir: '--data-dir',
  mtu: '--mtu',
  image: '--image',
  address: '--address',
  baud: '--baud',
  menuCommand: '--menu-command',
  recordsDb: '--records-db'
}

/** Messages as a command-line user reads them: settings named by their flags. */
export function cliWording(message: string): string {
  return message.replace(/`([A-Za-z][A-Za-z.]*)`/g, (_m, field: string) => FIELD_FLAGS[field] ?? field)
}
