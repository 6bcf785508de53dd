import { FlashlineError } from '../errors'
import type { Signals, Transport } from '../transport/transport'

/**
 * Modem-line sequences that put a board into its bootloader and back (BOOT0/NRST wired to DTR/RTS),
 * written like stm32flash's `-i`: `rts`, `-rts`, `dtr`, `-dtr` set a line high or low (`-` = low),
 * `,` waits 100 ms, `&` joins two changes without a wait; `:` separates the entry sequence from
 * the exit sequence. Example: `-rts&dtr,,rts,:-dtr,rts,-rts` (BOOT0 on DTR, reset pulse on RTS).
 */
export type SignalStep = { set: Partial<Signals> } | { waitMs: number }

export function parseSignalSequence(text: string): { entry: SignalStep[]; exit: SignalStep[] } {
  const [entry = '', exit = '', ...rest] = text.split(':')
  if (rest.length) throw new FlashlineError('usage', 'bad-entry', `\`entry\` "${text}" has more than one ':' (entry:exit)`)
  return { entry: parsePart(entry, text), exit: parsePart(exit, text) }
}

function parsePart(part: string, whole: string): SignalStep[] {
  const steps: SignalStep[] = []
  let i = 0
  while (i < part.length) {
    const c = part[i]!
    if (c === ',') {
      steps.push({ waitMs: 100 })
      i++
      continue
    }
    if (c === '&') {
      i++
      continue
    }
    const m = /^(-?)(dtr|rts)/.exec(part.slice(i))
    if (!m) throw new FlashlineError('usage', 'bad-entry', `\`entry\` "${whole}": cannot read "${part.slice(i)}"; use dtr, -dtr, rts, -rts, "," (100 ms) and "&"`)
    steps.push({ set: { [m[2] as 'dtr' | 'rts']: m[1] !== '-' } })
    i += m[0].length
  }
  return steps
}

export async function runSignalSequence(t: Transport, steps: SignalStep[]): Promise<void> {
  for (const s of steps) {
    if ('waitMs' in s) await new Promise((r) => setTimeout(r, s.waitMs))
    else await t.setSignals(s.set)
  }
}
