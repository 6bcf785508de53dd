import type { FlashImage } from '../model'
import type { Signals } from '../transport/transport'
import type { EspOptions } from './esp'

/**
 * The messages between the ESP flasher's worker thread (esp-worker.ts) and the thread that owns the
 * ports (esp-threaded.ts). One worker serves every ESP flash of the process at once; each flash is a
 * session, and every message names the session it belongs to.
 */
export type ToWorker = { session: number } & (
  | { type: 'start'; data: EspWorkerData }
  | { type: 'data'; chunk: Uint8Array }
  | { type: 'closed'; message: string }
  | { type: 'reply'; id: number; error?: string }
  | { type: 'abort' }
)
export type FromWorker = { session: number } & (
  | { type: 'write'; id: number; data: Uint8Array }
  | { type: 'signals'; id: number; signals: Partial<Signals> }
  | { type: 'baud'; id: number; baud: number }
  | { type: 'progress'; progress: { stage: 'connect' | 'erase' | 'write' | 'verify' | 'reset'; done: number; total: number } }
  | { type: 'log'; message: string }
  | { type: 'done'; result: unknown }
  | { type: 'failed'; kind: string; code: string; message: string }
)

export interface EspWorkerData {
  path: string
  baudRate: number
  image: FlashImage
  options: Omit<EspOptions, 'log'>
}
