import type { ProtocolName } from '../../preload/contract'

/** Hint keys under `hint.` in the translations. */
export type HintKey =
  | 'portOpen'
  | 'portBusy'
  | 'portLost'
  | 'imageTooLarge'
  | 'stm32Protected'
  | 'stm32Unsupported'
  | 'bootEsp'
  | 'bootStm32'
  | 'bootMcuboot'
  | 'bootYmodem'
  | 'baud'
  | 'downloadRefused'
  | 'network'
  | 'disk'
  | 'verificationFailed'
  | 'deviceVerify'
  | 'versionMismatch'
  | 'mcubootImage'
  | 'emptyImage'
  | 'fileChanged'
  | 'notInCache'
  | 'loginRefused'
  | 'brokerUnreachable'
  | 'tls'
  | 'notConnected'
  | 'pin'
  | 'pinLocked'
  | 'noPin'
  | 'operatorMode'
  | 'usage'
  | 'device'
  | 'platform'
  | 'internal'

export interface Failure {
  /** ApiError.code or JobView.error.code. */
  code?: string
  /** ApiError.kind or JobView.error.kind. */
  kind?: string
  /** JobView.reason (the platform-neutral failure reason). */
  reason?: string
  /** The engine's English message (a last resort: OS error names in it). */
  message?: string
  /** The protocol in use, for the bootloader hint. */
  protocol?: ProtocolName
}

const BOOT_HINT: Record<ProtocolName, HintKey> = { esp: 'bootEsp', stm32: 'bootStm32', mcuboot: 'bootMcuboot', ymodem: 'bootYmodem' }

const BY_CODE: Record<string, HintKey> = {
  'port-open-failed': 'portOpen',
  'port-failed': 'portOpen',
  'port-in-use': 'portBusy',
  'slot-busy': 'portBusy',
  'port-lost': 'portLost',
  'port-closed': 'portLost',
  'signals-failed': 'portLost',
  'write-failed': 'portLost',
  'image-too-large': 'imageTooLarge',
  'stm32-protected': 'stm32Protected',
  'stm32-no-erase': 'stm32Protected',
  'stm32-unsupported': 'stm32Unsupported',
  'stm32-unknown-chip': 'stm32Unsupported',
  'stm32-timeout': 'bootStm32',
  'stm32-protocol': 'bootStm32',
  'esp-no-sync': 'bootEsp',
  'esp-failed': 'bootEsp',
  'smp-timeout': 'bootMcuboot',
  'smp-no-progress': 'bootMcuboot',
  'smp-bad-answer': 'bootMcuboot',
  'ymodem-retries': 'bootYmodem',
  'ymodem-eot': 'bootYmodem',
  'ymodem-cancelled': 'bootYmodem',
  'baud-failed': 'baud',
  refused: 'downloadRefused',
  'bad-token': 'downloadRefused',
  network: 'network',
  'http-status': 'network',
  redirects: 'network',
  tls: 'tls',
  disk: 'disk',
  'out-write': 'disk',
  mismatch: 'verificationFailed',
  'hash-mismatch': 'verificationFailed',
  changed: 'verificationFailed',
  'verify-failed': 'deviceVerify',
  'mcuboot-tlv': 'mcubootImage',
  'mcuboot-hash': 'mcubootImage',
  'not-mcuboot-image': 'mcubootImage',
  'empty-image': 'emptyImage',
  'file-changed': 'fileChanged',
  'file-shrank': 'fileChanged',
  'not-in-cache': 'notInCache',
  'login-refused': 'loginRefused',
  'broker-unreachable': 'brokerUnreachable',
  'tls-failed': 'tls',
  'not-connected': 'notConnected',
  'bad-pin': 'pin',
  'wrong-pin': 'pin',
  'pin-locked': 'pinLocked',
  'no-pin': 'noPin',
  'operator-mode': 'operatorMode'
}

const BY_REASON: Record<string, HintKey> = {
  'download-refused': 'downloadRefused',
  'download-timeout': 'network',
  'verification-failed': 'verificationFailed',
  'version-mismatch': 'versionMismatch',
  busy: 'portBusy'
}

const BY_KIND: Record<string, HintKey> = { usage: 'usage', download: 'network', integrity: 'verificationFailed', device: 'device', platform: 'platform', internal: 'internal' }

/** The OS said the port could not be opened (no permission, no such device, no driver). */
export function isPortOpenFailure(f: Failure): boolean {
  if (f.code === 'port-open-failed' || f.code === 'port-failed') return true
  return /\b(EACCES|ENOENT|EPERM|EBUSY)\b|permission denied|access denied|no such file/i.test(f.message ?? '')
}

/**
 * The hints for a failure, most specific first: the error code, then the failure reason, then the
 * OS error in the message, then the error's kind. Cancelled jobs need no hint.
 */
export function hintsFor(f: Failure): HintKey[] {
  if (f.reason === 'cancelled' || f.code === 'aborted' || f.code === 'cancelled' || f.kind === 'interrupted') return []
  const out: HintKey[] = []
  const add = (k: HintKey | undefined): void => {
    if (k && !out.includes(k)) out.push(k)
  }
  if (f.code) add(BY_CODE[f.code])
  if (f.code === 'timeout' && f.protocol) add(BOOT_HINT[f.protocol])
  if (isPortOpenFailure(f)) add('portOpen')
  // an HTTP 401/403 is a refusal whatever the reason says (an expired link is not a network problem)
  if (/\b(401|403)\b/.test(f.message ?? '') && (f.kind === 'download' || f.reason?.startsWith('download'))) add('downloadRefused')
  if (f.reason) add(BY_REASON[f.reason])
  if (out.length === 0 && f.reason === 'install-failed' && f.protocol) add(BOOT_HINT[f.protocol])
  if (out.length === 0 && f.kind) add(BY_KIND[f.kind])
  if (out.length === 0 && f.reason && f.reason !== 'cancelled') add('internal')
  return out
}

export const bootHintFor = (protocol: ProtocolName): HintKey => BOOT_HINT[protocol]
