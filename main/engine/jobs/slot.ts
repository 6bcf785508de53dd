import type { ProtocolName } from '../model'

/** One device on the bench: where it is connected and how to flash and probe it. */
export interface SlotConfig {
  /** Platform device id (a direct device, or a gateway child). */
  deviceId: string
  /** Serial port path (COM3, /dev/ttyUSB0) or a built-in simulator (sim:ymodem). */
  port: string
  protocol: ProtocolName
  baud?: number
  /** Overrides the protocol's default parity (stm32 defaults to even; ptys need none). */
  parity?: 'none' | 'even' | 'odd'
  /** Version the device runs now: answered to version queries until a flash changes it. */
  currentVersion: string
  probe?: ProbeConfig
  /** Protocol-specific options (address, menu command, entry sequence …). */
  protocolOptions?: Record<string, unknown>
}

export interface ProbeConfig {
  /** Regular expression whose first capture group is the version (default `version[: ]+(\S+)`). */
  pattern?: string
  baud?: number
  timeoutMs?: number
}

export const DEFAULT_PROBE_PATTERN = 'version[: ]+(\\S+)'
