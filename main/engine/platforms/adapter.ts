import type { FailureReason, JobReport, OutboundMessage, PlatformName, UpgradeOrder } from '../model'

/** How to log in to the broker; recomputed before every (re)connect because some passwords carry a timestamp. */
export interface MqttLogin {
  clientId: string
  username?: string
  password?: string
  /** PEM client certificate and key (X.509 device authentication). */
  cert?: string
  key?: string
}

/** What the adapter may ask of the station while it decodes a message. */
export interface AdapterContext {
  /** The version the device (or gateway child) runs now, or undefined if this station does not serve that device. */
  currentVersion(deviceId: string): string | undefined
  now(): Date
}

export type DownlinkAction =
  | { type: 'order'; order: UpgradeOrder }
  /** Answer right away (version queries). */
  | { type: 'reply'; messages: OutboundMessage[] }
  /**
   * An order we understood well enough to answer but must not carry out (e.g. a malformed digest):
   * the station journals it and reports the failure to the platform without downloading anything.
   */
  | { type: 'refuse'; order: UpgradeOrder; reason: FailureReason; message: string }
  /** Deliberately not acted on (not ours, not an order, malformed in a way we cannot answer); `reason` is logged. */
  | { type: 'ignored'; reason: string }
  /** The decoder itself failed (a bug, never a property of the input): logged as an error, counted by the fuzzer. */
  | { type: 'decode-error'; error: string }

/**
 * Speaks one platform's MQTT dialect. Pure codec: it never touches the network, so it can be
 * contract-tested against golden payloads and fuzzed. The agent owns the MQTT link and the outbox.
 */
export interface PlatformAdapter {
  readonly platform: PlatformName
  login(now: Date): MqttLogin
  /** Topics to subscribe explicitly (QoS 1). */
  subscriptions(): string[]
  /** Messages to publish after every successful connect (e.g. a version announcement). */
  onConnected(ctx: AdapterContext): OutboundMessage[]
  /**
   * Decodes one downlink. Never throws: malformed input becomes `ignored` (or `refuse` when the platform
   * expects an answer), and an unexpected exception inside the decoder becomes `decode-error`.
   */
  decode(topic: string, payload: Buffer, ctx: AdapterContext): DownlinkAction[]
  /** Turns a job report into the platform's uplink message(s). */
  encodeReport(report: JobReport, ctx: AdapterContext): OutboundMessage[]
}
