import type { EventEmitter } from 'node:events'

/** Resolves when `task` is closed (now or on a later 'task-closed' event for it); rejects after `timeoutMs`. */
export function waitForClosed<T>(cloud: EventEmitter, task: T, same: (a: T, b: T) => boolean, closed: (t: T) => boolean, timeoutMs: number, describe: () => string): Promise<T> {
  if (closed(task)) return Promise.resolve(task)
  return new Promise((resolve, reject) => {
    const onClosed = (t: T): void => {
      if (!same(t, task)) return
      clearTimeout(timer)
      cloud.off('task-closed', onClosed)
      resolve(t)
    }
    const timer = setTimeout(() => {
      cloud.off('task-closed', onClosed)
      reject(new Error(describe()))
    }, timeoutMs)
    cloud.on('task-closed', onClosed)
  })
}
