import { Stm32Device, type Stm32Personality } from '../../main/engine/sim/stm32-device'
import { SerialTransport } from '../../main/engine/transport/serial'
import { ptyPair, type PtyPair } from '../harness/pty'

/**
 * Simulated STM32 boards on socat pty pairs, in the test process: flashline ui opens the host side
 * (`port`) like any serial port; the simulator serves the device side (as in test/stm32.test.ts).
 * A board made without a simulator is a port where nothing answers; `attach` puts one there later.
 */
export interface PtyBoard {
  /** The host side: what a slot names. */
  port: string
  device: Stm32Device
  /** The unit's 96-bit unique ID as it lies in memory (RM0008 §30.2: 12 bytes from 0x1FFFF7E8). */
  uid: Buffer
  readonly attached: boolean
  /** Connects the simulator, dropping whatever the host sent while nothing answered. */
  attach(): void
  close(): Promise<void>
}

export async function ptyBoard(uid: Buffer, options: { simulator: boolean; personality?: Stm32Personality; version?: string }): Promise<PtyBoard> {
  const pair: PtyPair = await ptyPair()
  let end: SerialTransport
  try {
    end = await SerialTransport.open({ path: pair.b, baudRate: 115200 })
  } catch (e) {
    await pair.close()
    throw e
  }
  const device = new Stm32Device(options.personality ?? 'f1', { uid, version: options.version ?? '1.0.0' })
  let served: Promise<void> | undefined
  const board: PtyBoard = {
    port: pair.a,
    device,
    uid,
    get attached() {
      return served !== undefined
    },
    attach() {
      if (served) return
      end.discardInput()
      served = device.attach(end)
    },
    async close() {
      await end.close()
      await served
      await pair.close()
    }
  }
  if (options.simulator) board.attach()
  return board
}

/** Distinct unit IDs shaped like real ones ("0672ff48…"), the n-th ending in n. */
export function unitId(n: number): Buffer {
  const d = (n % 16).toString(16)
  return Buffer.from(`066${d}ff48515089668716453${d}`, 'hex')
}
