// The error module alone, not the front door: `flashline ports` and `--help` must not load the engine
// (start-up is measured; every command module below imports the front door when it runs).
import { asFlashlineError, EXIT_CODES } from '../engine/errors'
import { Output } from './output'
import { cliWording } from './wording'

// Each command's module is required when that command runs (and its help text when asked for), so
// `flashline ports` does not pay for loading the MQTT client, the broker or the ESP flasher.
/* eslint-disable @typescript-eslint/no-require-imports */
const agentModule = () => require('./commands/agent') as typeof import('./commands/agent')
const flashModule = () => require('./commands/flash') as typeof import('./commands/flash')
const fetchModule = () => require('./commands/fetch') as typeof import('./commands/fetch')
const portsModule = () => require('./commands/ports') as typeof import('./commands/ports')
const recordsModule = () => require('./commands/records') as typeof import('./commands/records')
const batchModule = () => require('./commands/batch') as typeof import('./commands/batch')
const demoModule = () => require('./commands/demo') as typeof import('./commands/demo')
const detectModule = () => require('./commands/detect') as typeof import('./commands/detect')
const uiModule = () => require('./commands/ui') as typeof import('./commands/ui')
/* eslint-enable @typescript-eslint/no-require-imports */

const USAGE = `Flashline — flash IoT devices on the bench, ordered by their IoT platform.

usage: flashline <command> [flags]   (flashline <command> --help for details)
  agent   act as the device on a platform and carry out the upgrades it orders
  flash   flash a local package onto a device (offline recovery, no platform)
  batch   flash one package onto many boards at once: fixture ports, or a station that takes boards as they arrive
  detect  tell which bootloader and chip answer on a port (chip, unit id), writing nothing
  fetch   download (resumable) and verify a package into the cache, for offline work
  ports   list serial ports with USB ids and known bridges
  records export the record of every flashing job (table, CSV, JSONL); sync them to PostgreSQL
  demo    run a complete upgrade against the built-in simulated platform and device
  ui      serve the Flashline app to a web browser on this machine (prints its address)

exit codes: 0 success · 2 usage/config · 3 download (network, HTTP status, expired token)
            4 integrity (hash or size mismatch) · 5 device (bench protocol, timeout, port lost; batch: a unit failed)
            6 platform (broker unreachable, report not acknowledged) · 130 interrupted`

const HELP: Record<string, () => string> = {
  agent: () => agentModule().AGENT_HELP,
  flash: () => flashModule().FLASH_HELP,
  batch: () => batchModule().BATCH_HELP,
  fetch: () => fetchModule().FETCH_HELP,
  records: () => recordsModule().RECORDS_HELP,
  detect: () => detectModule().DETECT_HELP,
  ports: () => 'flashline ports [--json] [--watch]   list serial ports (USB ids, known bridges); --watch reports arrivals and removals until Ctrl-C',
  demo: () => 'flashline demo [--json]',
  ui: () => uiModule().UI_HELP
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv
  if (!command || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(USAGE + '\n')
    return command ? 0 : EXIT_CODES.usage
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    const help = HELP[command]?.()
    if (help === undefined) {
      process.stderr.write(`unknown command "${command}"; run "flashline --help" for the list of commands\n`)
      return EXIT_CODES.usage
    }
    process.stdout.write(help + '\n')
    return 0
  }
  const controller = new AbortController()
  const onSignal = () => controller.abort()
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)
  let out: Output = new Output(rest.includes('--json'))
  const makeOutput = (json: boolean) => (out = new Output(json))
  try {
    switch (command) {
      case 'agent':
        return await agentModule().agentCommand(rest, makeOutput, controller.signal)
      case 'flash':
        return await flashModule().flashCommand(rest, makeOutput, controller.signal)
      case 'batch':
        return await batchModule().batchCommand(rest, makeOutput, controller.signal)
      case 'detect':
        return await detectModule().detectCommand(rest, makeOutput, controller.signal)
      case 'fetch':
        return await fetchModule().fetchCommand(rest, makeOutput, controller.signal)
      case 'ports':
        return await portsModule().portsCommand(rest, makeOutput, controller.signal)
      case 'records':
        return await recordsModule().recordsCommand(rest, makeOutput)
      case 'demo':
        return await demoModule().demoCommand(rest, makeOutput, controller.signal)
      case 'ui':
        return await uiModule().uiCommand(rest, makeOutput, controller.signal)
      default:
        out.error(`unknown command "${command}"; run "flashline --help"`)
        return EXIT_CODES.usage
    }
  } catch (e) {
    const err = asFlashlineError(e)
    const code = controller.signal.aborted ? EXIT_CODES.interrupted : EXIT_CODES[err.kind]
    const message = cliWording(err.message)
    out.event('error', { kind: err.kind, code: err.code, message, exitCode: code })
    out.error(`flashline ${command}: ${message}`)
    return code
  } finally {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
  }
}

/** Entry point for bin/flashline.js: runs the command and exits with its code. */
export function runCli(argv: string[]): void {
  void main(argv).then((code) => {
    process.exitCode = code
    // Timers of finished jobs or half-closed sockets must not keep a finished CLI alive.
    setTimeout(() => process.exit(code), 200).unref()
  })
}

// Run as a script (the desktop app's launcher: ELECTRON_RUN_AS_NODE=1 <app> <resources>/app.asar/out/cli/flashline.js …);
// bin/flashline.js and the tests require it instead.
if (typeof require !== 'undefined' && typeof module !== 'undefined' && require.main === module) runCli(process.argv.slice(2))
