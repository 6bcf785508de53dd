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
function startWorker(data: EspWorkerData): Worker {
  const bundled = join(__dirname, 'esp-worker.js')
  if (existsSync(bundled)) return new Worker(bundled, { workerData: data })
  const source = join(__dirname, 'esp-worker.ts')
  // resolved here: an eval'd worker resolves bare names from the process's working directory
  const tsx = require.resolve('tsx/cjs')
  return new Worker(`require(${JSON.stringify(tsx)}); require(${JSON.stringify(source)})`, { eval: true, workerData: data })
}

/**
 * Runs the ESP flasher on a worker thread while this thread keeps the port: bytes the device sends
 * are forwarded as they arrive; the worker's writes, modem-line and baud changes are carried out here.
 */
export async function flashEspThreaded(t: Transport, image: FlashImage, options: EspOptions & FlashOptions = {}): Promise<FlashResult> {
  const { log, onProgress, signal, ...plain } = options
  const worker = startWorker({ path: t.path, baudRate: t.baudRate, image, options: plain })
  const send = (m: ToWorker): void => worker.postMessage(m)
  let finished = false
  let late = ''
  const pump = (async () => {
    while (!finished) {
      try {
        const chunk = await t.readSome(50)
        if (finished) late += chunk.toString('latin1')
        else send({ type: 'data', chunk })
      } catch (e) {
        if (e instanceof FlashlineError && e.code === 'timeout') continue
        if (!finished) send({ type: 'closed', message: (e as Error).message })
        return
      }
    }
  })()
  const onAbort = (): void => send({ type: 'abort' })
  signal?.addEventListener('abort', onAbort, { once: true })
  let result: FlashResult
  try {
    result = await new Promise<FlashResult>((resolve, reject) => {
      const reply = (id: number, p: Promise<unknown>): void =>
        void p.then(
          () => send({ type: 'reply', id }),
          (e: Error) => send({ type: 'reply', id, error: e.message })
        )
      worker.on('message', (m: FromWorker) => {
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
            return resolve(m.result as FlashResult)
          case 'failed':
            return reject(new FlashlineError(m.kind as ErrorKind, m.code, m.message))
        }
      })
      worker.once('error', (e) => reject(new FlashlineError('internal', 'esp-worker', `the ESP flashing worker failed: ${e.message}`)))
      worker.once('exit', (code) => reject(new FlashlineError('internal', 'esp-worker', `the ESP flashing worker exited (${code}) before finishing`)))
    })
  } finally {
    finished = true
    signal?.removeEventListener('abort', onAbort)
    await pump
    await worker.terminate()
  }
  // what the pump caught after the worker finished is the start of the boot banner
  return late ? { ...result, bootLog: (result.bootLog ?? '') + late } : result
}
