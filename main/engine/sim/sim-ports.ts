import { FlashlineError } from '../errors'
import { registerSimPorts, type OpenOptions } from '../transport/open'
import type { Transport } from '../transport/transport'

/**
 * Built-in simulated devices reachable as `sim:<kind>[:<name>]` ports, so the demo and a curious
 * technician can try every flow without hardware. Each simulated board lives for the whole process,
 * keeping what was flashed into it across opens (the version probe reopens the port after a flash).
 */
export type SimBoardFactory = (name: string, options: OpenOptions) => Promise<{ open(): Promise<Transport> }>

const factories = new Map<string, SimBoardFactory>()
const boards = new Map<string, { open(): Promise<Transport> }>()

export function registerSimBoard(kind: string, factory: SimBoardFactory): void {
  factories.set(kind, factory)
}

export function registerBuiltinSimPorts(): void {
  registerSimPorts(async (name, options) => {
    let board = boards.get(name)
    if (!board) {
      const kind = name.split(':')[0] ?? ''
      const factory = factories.get(kind)
      if (!factory) {
        throw new FlashlineError('usage', 'unknown-sim-port', `unknown simulated port "sim:${name}"; available: ${[...factories.keys()].map((k) => `sim:${k}`).join(', ') || 'none'}`)
      }
      board = await factory(name, options)
      boards.set(name, board)
    }
    return board.open()
  })
}
