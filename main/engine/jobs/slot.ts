import type { ProtocolName } from '../model'
import type { ProtocolOptions } from '../protocols'

/** How to reach and flash one bench position: port, protocol, line settings, protocol options, probe. */
export type SlotSettings = {
  [P in ProtocolName]: {
    /** Serial port path (COM3, /dev/ttyUSB0) or a simulated board (sim:ymodem). */
    port: string
    protocol: P
    baud?: number
    /** Overrides the protocol's default parity (stm32 defaults to even; ptys need none). */
    parity?: 'none' | 'even' | 'odd'
    /** The protocol's own options (typed per protocol). */
    options?: ProtocolOptions[P]
    probe?: ProbeConfig
  }
}[ProtocolName]

/** One platform device on the bench (a direct device or a gateway child) and the slot it sits in. */
export type SlotConfig = SlotSettings & {
  /** Platform device id (a direct device, or a gateway child). */
  deviceId: string
  /** Version the device runs now: answered to version queries until a flash changes it. */
  currentVersion: string
}

export interface ProbeConfig {
  /** Regular expression whose first capture group is the version (default `version[: ]+(\S+)`). */
  pattern?: string
  baud?: number
  timeoutMs?: number
}

export const DEFAULT_PROBE_PATTERN = 'version[: ]+(\\S+)'
