/**
 * Worker-thread side of the ESP flasher: esptool-js and the compressed write (deflate at level 9)
 * run here, off the thread that serves the UI, MQTT and the other bench ports. One worker serves
 * every ESP flash of the process at once, each a session: starting a thread, loading esptool-js and
 * warming up its code once per flash cost more CPU than the flash itself on a busy bench. The ports
 * stay with the parent; bytes, modem lines and baud changes are relayed over the message port.
 */
import { parentPort } from 'node:worker_threads'
import { FlashlineError } from '../errors'
import { QueuedReads } from '../transport/queued-reads'
import type { Signals, Transport } from '../transport/transport'
import { flashEsp } from './esp'
import type { EspWorkerData, FromWorker, ToWorker } from './esp-worker-protocol'

/** What every message from here carries: which session it belongs to, added by the sender. */
type Unsessioned<M> = M extends unknown ? Omit<M, 'session'> : never
type Post = (m: Unsessioned<FromWorker>) => void

/** The parent's port of one session, seen from here. */
class RelayedTransport extends QueuedReads implements Transport {
  isOpen = true
  private nextId = 1
  private pending = new Map<number, { resolve: () => void; reject: (e: Error) => void }>()
  private closeListeners: Array<(err?: Error) => void> = []

  constructor(
    readonly path: string,
    public baudRate: number,
    private readonly post: Post
  ) {
    super()
  }

  rpc(message: (id: number) => Unsessioned<FromWorker>): Promise<void> {
    if (!this.isOpen) return Promise.reject(new FlashlineError('device', 'port-closed', `port ${this.path} is closed`))
    const id = this.nextId++
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject })
      this.post(message(id))
    })
  }

  settle(id: number, error?: string): void {
    const p = this.pending.get(id)
    this.pending.delete(id)
    if (error) p?.reject(new FlashlineError('device', 'port-failed', error))
    else p?.resolve()
  }

  lost(message: string): void {
    if (!this.isOpen) return
    this.isOpen = false
    const err = new FlashlineError('device', 'port-lost', message)
    this.queue.fail(err)
    for (const p of this.pending.values()) p.reject(err)
    this.pending.clear()
    for (const l of this.closeListeners) l(err)
  }

  write(data: Uint8Array): Promise<void> {
    const copy = new Uint8Array(data)
    return this.rpc((id) => ({ type: 'write', id, data: copy }))
  }
  setSignals(signals: Partial<Signals>): Promise<void> {
    return this.rpc((id) => ({ type: 'signals', id, signals }))
  }
  async setBaudRate(baud: number): Promise<void> {
    await this.rpc((id) => ({ type: 'baud', id, baud }))
    this.baudRate = baud
  }
  async close(): Promise<void> {
    /* the parent owns the port */
  }
  onClose(listener: (err?: Error) => void): void {
    this.closeListeners.push(listener)
  }
}

interface Session {
  t: RelayedTransport
  abort: AbortController
  post: Post
}

if (parentPort) {
  const port = parentPort
  const sessions = new Map<number, Session>()

  const start = (session: number, data: EspWorkerData): void => {
    const post: Post = (m) => port.postMessage({ ...m, session } as FromWorker)
    const t = new RelayedTransport(data.path, data.baudRate, post)
    const abort = new AbortController()
    sessions.set(session, { t, abort, post })
    flashEsp(t, data.image, {
      ...data.options,
      signal: abort.signal,
      log: (message) => post({ type: 'log', message }),
      onProgress: (progress) => post({ type: 'progress', progress })
    })
      .then(
        (result) => {
          // bytes relayed to us but not read by the flasher belong to the boot log
          const rest = t.discardInput().toString('latin1')
          post({ type: 'done', result: rest ? { ...result, bootLog: (result.bootLog ?? '') + rest } : result })
        },
        (e: unknown) => {
          const fe = e instanceof FlashlineError ? e : new FlashlineError('device', 'esp-failed', (e as Error)?.message ?? String(e))
          post({ type: 'failed', kind: fe.kind, code: fe.code, message: fe.message })
        }
      )
      .finally(() => {
        sessions.delete(session)
        // what esptool-js left waiting on this port (it has no cancel) ends now rather than at its timeouts
        t.lost('the flash is over')
      })
  }

  port.on('message', (m: ToWorker) => {
    if (m.type === 'start') return start(m.session, m.data)
    const s = sessions.get(m.session)
    if (!s) return
    if (m.type === 'data') s.t.queue.push(m.chunk)
    else if (m.type === 'reply') s.t.settle(m.id, m.error)
    else if (m.type === 'closed') s.t.lost(m.message)
    else if (m.type === 'abort') s.abort.abort()
  })

  // A promise esptool-js drops without a handler would end this thread, and with it every board's
  // flash; it is told to the boards being flashed instead (each flash still ends on its own errors).
  process.on('unhandledRejection', (e) => {
    for (const s of sessions.values()) s.post({ type: 'log', message: `esptool-js left an error unhandled: ${(e as Error)?.message ?? String(e)}` })
  })
}
