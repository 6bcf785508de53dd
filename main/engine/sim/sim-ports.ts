import { createHash } from 'node:crypto'
import { FlashlineError } from '../errors'
import { registerSimPorts, type OpenOptions } from '../transport/open'
import { memoryPair } from '../transport/memory'
import type { Transport } from '../transport/transport'
import { EspDevice } from './esp-device'
import { McubootDevice, type McubootPersonality } from './mcuboot-device'
import { Stm32Device, type Stm32Personality } from './stm32-device'
import { YmodemDevice, type YmodemPersonality } from './ymodem-device'

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

/** A simulated device on an in-process link: every open connects a fresh cable to the same device. */
export function memoryBoard(name: string, device: { attach(t: Transport): Promise<void> }): { open(): Promise<Transport> } {
  return {
    async open(): Promise<Transport> {
      const [host, dev] = memoryPair(`sim:${name}`, `sim:${name}#device`)
      host.onClose(() => void dev.close())
      void device.attach(dev)
      return host
    }
  }
}

const simVersion = (): string => process.env['FLASHLINE_SIM_VERSION'] || '1.0.0'

/** `sim:ymodem[:lrz|st-iap|mico][:label]` — a YMODEM bootloader that remembers what was flashed. */
async function ymodemBoard(name: string): Promise<{ open(): Promise<Transport> }> {
  const p = name.split(':')[1] ?? ''
  const personality = (['lrz', 'st-iap', 'mico'].includes(p) ? p : 'st-iap') as YmodemPersonality
  return memoryBoard(name, new YmodemDevice({ personality, version: simVersion() }))
}

/** `sim:stm32[:f1|f1-crc|f4][:label]` — an STM32 system bootloader; each open is a reset into it. */
async function stm32Board(name: string): Promise<{ open(): Promise<Transport> }> {
  const p = name.split(':')[1] ?? ''
  const personality = (['f1', 'f1-crc', 'f4'].includes(p) ? p : 'f1') as Stm32Personality
  // every simulated board is its own unit: its unique ID comes from its name
  const uid = createHash('sha256').update(name).digest().subarray(0, 12)
  return memoryBoard(name, new Stm32Device(personality, { version: simVersion(), uid }))
}

/** `sim:mcuboot[:mcuboot|zephyr][:label]` — MCUboot serial recovery (SMP); slot 0 survives reopens. */
async function mcubootBoard(name: string): Promise<{ open(): Promise<Transport> }> {
  const p = name.split(':')[1] ?? ''
  const personality = (['mcuboot', 'zephyr'].includes(p) ? p : 'mcuboot') as McubootPersonality
  return memoryBoard(name, new McubootDevice({ personality, version: simVersion() }))
}

/** `sim:esp[:label]` — an ESP32-C3 in download mode (ROM + stub), wired to DTR/RTS like a dev board. */
async function espBoard(name: string): Promise<{ open(): Promise<Transport> }> {
  return memoryBoard(name, new EspDevice({ appVersion: simVersion() }))
}

let builtinsRegistered = false

export function registerBuiltinSimPorts(): void {
  if (!builtinsRegistered) {
    builtinsRegistered = true
    if (!factories.has('ymodem')) registerSimBoard('ymodem', ymodemBoard)
    if (!factories.has('stm32')) registerSimBoard('stm32', stm32Board)
    if (!factories.has('esp')) registerSimBoard('esp', espBoard)
    if (!factories.has('mcuboot')) registerSimBoard('mcuboot', mcubootBoard)
  }
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
