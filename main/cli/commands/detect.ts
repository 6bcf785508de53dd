import { Bench, defaultDataDir, useSimulators, type DetectedDevice } from '../../engine'
import { parseFlags, str, type OptionSpec } from '../args'
import { flagError, SLOT_OPTIONS, slotFields } from '../config-flags'
import type { Output } from '../output'

export const DETECT_HELP = `flashline detect --port PATH --protocol ymodem|stm32|esp|mcuboot [--baud N] [--parity none|even] [--entry SEQ] [--menu-command S] [--image N] [--json]
  Tell which bootloader and chip answer on a port, without erasing or writing anything (exit 5 when
  nothing answers, with how to put the board in its bootloader).
    stm32    sync, Get, Get Version, Get ID, then the 96-bit unique ID and flash size (Read Memory)
    esp      reset into the ROM loader, chip, features and MAC (no stub, no flash command), then a hard reset
    mcuboot  the image list (slots: version, hash, flags) and, on Zephyr, mcumgr params; no upload, no reset
    ymodem   waits up to 5 s for the receiver's 'C', then cancels it (CAN CAN); no block is sent
  --port PATH        serial port (see "flashline ports"); sim:ymodem, sim:stm32, sim:esp, sim:mcuboot are built-in simulated boards
  --protocol P       the bootloader to ask
  --baud N           line speed (default per protocol, 115200; esp always meets the ROM at 115200)
  --parity P         none or even (stm32 defaults to even; ptys need none)
  --entry SEQ        stm32, mcuboot: DTR/RTS bootloader entry[:exit] sequence, stm32flash -i syntax; the exit part runs afterwards
  --menu-command S   ymodem: text that starts the receiver from a bootloader menu (e.g. "1\\r")
  --image N          mcuboot: image number the chip is named after (default 0)
  --data-dir DIR     where jobs are journalled: a port that a job there is flashing is refused (default ${defaultDataDir()})
  --json             one "detected" event (newline-delimited JSON) on stdout`

const DETECT_FLAGS = ['port', 'protocol', 'baud', 'parity', 'entry', 'menu-command', 'image'] as const

export async function detectCommand(argv: string[], makeOutput: (json: boolean) => Output, signal: AbortSignal): Promise<number> {
  const options: OptionSpec = { json: { type: 'boolean' }, 'data-dir': { type: 'string' } }
  for (const f of DETECT_FLAGS) options[f] = SLOT_OPTIONS[f]!
  const flags = parseFlags(argv, options, 'detect')
  const out = makeOutput(Boolean(flags['json']))
  const slot = slotFields(flags)
  useSimulators()
  const bench = new Bench({ dataDir: str(flags, 'data-dir') ?? defaultDataDir() })
  let found: DetectedDevice
  try {
    found = await bench.detect(slot, { signal })
  } catch (e) {
    throw flagError(e)
  } finally {
    await bench.close()
  }
  out.event('detected', { port: slot['port'], ...found })
  for (const line of describe(String(slot['port']), found)) out.info(line)
  return 0
}

/** The answer as a technician reads it: what answered, its unit id, then the details one per line. */
function describe(port: string, d: DetectedDevice): string[] {
  const lines = [`${port}: ${d.chip ?? 'unknown chip'} (${d.protocol})`, `  chip id       ${d.chipId ?? 'none (this bootloader names no unit)'}`]
  for (const [key, value] of Object.entries(d.details ?? {})) {
    if (key === 'slots' && Array.isArray(value)) {
      if (value.length === 0) lines.push(`  ${'slots'.padEnd(13)} none holds a valid image`)
      for (const s of value as Array<Record<string, unknown>>) lines.push(`  ${`slot ${s['image'] !== undefined ? `${String(s['image'])}/` : ''}${String(s['slot'])}`.padEnd(13)} ${describeSlot(s)}`)
    } else if (key === 'commands' && Array.isArray(value)) {
      lines.push(`  ${key.padEnd(13)} ${value.map((c: number) => `0x${c.toString(16).padStart(2, '0')}`).join(' ')}`)
    } else {
      const text = typeof value === 'object' && value !== null ? JSON.stringify(value) : String(value)
      lines.push(`  ${key.padEnd(13)} ${text.replace(/\n/g, '\n                ')}`)
    }
  }
  return lines
}

function describeSlot(s: Record<string, unknown>): string {
  const flags = ['bootable', 'confirmed', 'active', 'pending'].filter((f) => s[f] === true)
  return [s['version'] !== undefined ? `version ${String(s['version'])}` : undefined, s['hash'] !== undefined ? `hash ${String(s['hash'])}` : undefined, ...flags].filter(Boolean).join(', ')
}
