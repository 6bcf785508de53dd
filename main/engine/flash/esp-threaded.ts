import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { Worker } from 'node:worker_threads'
import { FlashlineError, type ErrorKind } from '../errors'
import type { FlashImage, FlashResult } from '../model'
import type { Transport } from '../transport/transport'
import type { EspOptions } from './esp'
import type { EspWorkerData, FromWorker, ToWorker } from './esp-worker-protocol'
import type { FlashOptions } from './flasher'

/** Starts the worker from the bundled build (out/main/esp-worker.js) or, in a source checkout, through tsx. */
function startWorker(): Worker {
  const bundled = join(__dirname, 'esp-worker.js')
  if (existsSync(bundled)) return new Worker(bundled)
  const source = join(__dirname, 'esp-worker.ts')
  // resolved here: an eval'd worker resolves bare names from the process's working directory
  const tsx = require.resolve('tsx/cjs')
  return new Worker(`require(${JSON.stringify(tsx)}); require(${JSON.stringify(source)})`, { eval: true })
}

/** An idle worker is kept this long for the next flash (a station flashing unit after unit), then ended. */
const IDLE_MS = 30_000

type Unsessioned<M> = M extends unknown ? Omit<M, 'session'> : never

interface SessionHandler {
  message(m: FromWorker): void
  /** The worker ended or failed under this session. */
  lost(e: FlashlineError): void
}

/**
 * The one ESP worker of this process, shared by every ESP flash running at once (each a session).
 * It keeps the process alive only while it has sessions, and ends after IDLE_MS without any.
 */
class SharedWorker {
  private worker: Worker | null = null
  private readonly sessions = new Map<number, SessionHandler>()
  private nextSession = 1
  private idle: NodeJS.Timeout | null = null

  open(data: EspWorkerData, handler: SessionHandler): { send(m: Unsessioned<ToWorker>): void; close(): void } {
    const worker = this.worker ?? this.start()
    if (this.idle) clearTimeout(this.idle)
    this.idle = null
    worker.ref()
    const session = this.nextSession++
    this.sessions.set(session, handler)
    const send = (m: Unsessioned<ToWorker>): void => worker.postMessage({ ...m, session } as ToWorker)
    send({ type: 'start', data })
    return {
      send,
      close: () => {
        if (!this.sessions.delete(session) || this.sessions.size > 0 || this.worker !== worker) return
        worker.unref()
        this.idle = setTimeout(() => this.stop(worker), IDLE_MS)
        this.idle.unref()
      }
    }
  }

  private start(): Worker {
    const worker = startWorker()
    this.worker = worker
    const gone = (e: FlashlineError): void => {
      if (this.worker !== worker) return
      this.worker = null
      if (this.idle) clearTimeout(this.idle)
      this.idle = null
      const handlers = [...this.sessions.values()]
      this.sessions.clear()
      for (const h of handlers) h.lost(e)
    }
    worker.on('message', (m: FromWorker) => this.sessions.get(m.session)?.message(m))
    worker.once('error', (e) => gone(new FlashlineError('internal', 'esp-worker', `the ESP flashing worker failed: ${e.message}`)))
    worker.once('exit', (code) => gone(new FlashlineError('internal', 'esp-worker', `the ESP flashing worker exited (${code}) before finishing`)))
    return worker
  }

  private stop(worker: Worker): void {
    if (this.worker !== worker || this.sessions.size > 0) return
    this.worker = null
    this.idle = null
    void worker.terminate()
  }
}

const shared = new SharedWorker()

/**
 * Runs the ESP flasher on the ESP worker thread while this thread keeps the port: bytes the device
 * sends are forwarded as they arrive; the worker's writes, modem-line and baud changes are carried out here.
 */
export async function flashEspThreaded(t: Transport, image: FlashImage, options: EspOptions & FlashOptions = {}): Promise<FlashResult> {
  const { log, onProgress, signal, ...plain } = options
  let finished = false
  let late = ''
  let settle: { resolve: (r: FlashResult) => void; reject: (e: Error) => void } = { resolve: () => undefined, reject: () => undefined }
  const outcome = new Promise<FlashResult>((resolve, reject) => (settle = { resolve, reject }))
  const session = shared.open(
    { path: t.path, baudRate: t.baudRate, image, options: plain },
    {
      message: (m) => {
        const reply = (id: number, p: Promise<unknown>): void =>
          void p.then(
            () => session.send({ type: 'reply', id }),
            (e: Error) => session.send({ type: 'reply', id, error: e.message })
          )
        switch (m.type) {
          case 'write':
            return reply(m.id, t.write(m.data))
          case 'signals':
            return reply(m.id, t.setSignals(m.signals))
          case 'baud':
            return reply(m.id, t.setBaudRate(m.baud))
          case 'progress':
            return onProgress?.(m.progress)
          case 'log':
            return log?.(m.message)
          case 'done':
            return settle.resolve(m.result as FlashResult)
          case 'failed':
            return settle.reject(new FlashlineError(m.kind as ErrorKind, m.code, m.message))
        }
      },
      lost: (e) => settle.reject(e)
    }
  )
  const pump = (async () => {
    while (!finished) {
      try {
        const chunk = await t.readSome(50)
        if (finished) late += chunk.toString('latin1')
        else session.send({ type: 'data', chunk })
      } catch (e) {
        if (e instanceof FlashlineError && e.code === 'timeout') continue
        if (!finished) session.send({ type: 'closed', message: (e as Error).message })
        return
      }
    }
  })()
  const onAbort = (): void => session.send({ type: 'abort' })
  signal?.addEventListener('abort', onAbort, { once: true })
  if (signal?.aborted) onAbort()
  let result: FlashResult
  try {
    result = await outcome
  } finally {
    finished = true
    signal?.removeEventListener('abort', onAbort)
    await pump
    session.close()
  }
  // what the pump caught after the worker finished is the start of the boot banner
  return late ? { ...result, bootLog: (result.bootLog ?? '') + late } : result
}
