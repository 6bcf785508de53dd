import type { FlashImage, FlashProgress, FlashResult, ProtocolName } from '../model'
import type { Transport } from '../transport/transport'

export interface FlashOptions {
  onProgress?: (p: FlashProgress) => void
  signal?: AbortSignal
}

/** One bootloader protocol. Created per job with its transport injected; knows nothing of platforms. */
export interface Flasher {
  readonly protocol: ProtocolName
  flash(transport: Transport, image: FlashImage, options?: FlashOptions): Promise<FlashResult>
}
