/**
 * Worker-thread side of the ESP flasher: esptool-js and the compressed write (deflate at level 9)
 * run here, off the thread that serves the UI, MQTT and the other bench ports. The port
 * itself stays with the parent; bytes, modem lines and baud changes are relayed over the message port.
 */
import { parentPort, workerData } from 'node:worker_threads'
import { FlashlineError } from '../errors'
import { QueuedReads } from '../transport/queued-reads'
import type { Signals, Transport } from '../transport/transport'
import { flashEsp } from './esp'
import type { EspWorkerData, FromWorker, ToWorker } from './esp-worker-protocol'

/** The parent's port, seen from here. */
class RelayedTransport extends QueuedReads implements Transport {
  isOpen = true
  private nextId = 1
  private pending = new Map<number, { resolve: () => void; reject: (e: Error) => void }>()
  private closeListeners: Array<(err?: Error) => void> = []

  constructor(
    readonly path: string,
    public baudRate: number
  ) {
    super()
  }

  rpc(message: (id: number) => FromWorker): Promise<void> {
    if (!this.isOpen) return Promise.reject(new FlashlineError('device', 'port-closed', `port ${this.path} is closed`))
    const id = this.nextId++
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject })
      parentPort!.postMessage(message(id))
    })
  }

  settle(id: number, error?: string): void {
    const p = this.pending.get(id)
    this.pending.delete(id)
    if (error) p?.reject(new FlashlineError('device', 'port-failed', error))
    else p?.resolve()
  }

  lost(message: string): void {
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

if (parentPort) {
  const data = workerData as EspWorkerData
  const t = new RelayedTransport(data.path, data.baudRate)
  const abort = new AbortController()
  parentPort.on('message', (m: ToWorker) => {
    if (m.type === 'data') t.queue.push(m.chunk)
    else if (m.type === 'reply') t.settle(m.id, m.error)
    else if (m.type === 'closed') t.lost(m.message)
    else if (m.type === 'abort') abort.abort()
  })
  const post = (m: FromWorker): void => parentPort!.postMessage(m)
  flashEsp(t, data.image, {
    ...data.options,
    signal: abort.signal,
    log: (message) => post({ type: 'log', message }),
    onProgress: (progress) => post({ type: 'progress', progress })
  }).then(
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
}
