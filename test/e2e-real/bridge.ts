import WebSocket from 'ws'
import type { ApiMethod, AppEvent, FlashlineApi, Result } from '../../preload/contract'
import type { InstanceInfo } from './instances'

/**
 * The test's own client of a `flashline ui` bridge (the wire of preload/bridge-client.ts, with the
 * page's Origin, no reconnecting): to set up what the page is not under test for, and to hear the
 * host's events (the clouds' verdicts, progress) next to the page.
 */
export interface TestBridge {
  api: FlashlineApi
  events: AppEvent[]
  /** When each event arrived (Date.now(), the page's clock too), index for index with `events`. */
  at: number[]
  /** Polls `check` over the recorded events until it returns something, or fails at the deadline. */
  waitFor<T>(what: string, check: (events: AppEvent[]) => T | undefined, timeoutMs?: number): Promise<T>
  close(): Promise<void>
}

export async function openBridge(ui: InstanceInfo): Promise<TestBridge> {
  const ws = new WebSocket(`${ui.origin.replace(/^http/, 'ws')}/api`, { origin: ui.origin })
  const events: AppEvent[] = []
  const at: number[] = []
  const pending = new Map<number, (r: Result<unknown>) => void>()
  let nextId = 1
  let closedWith: string | undefined
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve())
    ws.once('error', reject)
  })
  ws.send(JSON.stringify({ auth: ui.token }))
  ws.on('message', (data) => {
    const msg = JSON.parse(data.toString()) as { id?: number; result?: Result<unknown>; event?: AppEvent }
    if (typeof msg.id === 'number' && msg.result) {
      pending.get(msg.id)?.(msg.result)
      pending.delete(msg.id)
    } else if (msg.event) {
      events.push(msg.event)
      at.push(Date.now())
    }
  })
  ws.on('close', (code, reason) => {
    closedWith = `the bridge closed the test's socket (${code} ${reason.toString()})`
    for (const resolve of pending.values()) resolve({ ok: false, error: { kind: 'internal', code: 'bridge-closed', message: closedWith } })
    pending.clear()
  })
  const call = (method: ApiMethod, args: unknown): Promise<Result<unknown>> => {
    if (closedWith) return Promise.resolve({ ok: false, error: { kind: 'internal', code: 'bridge-closed', message: closedWith } })
    const id = nextId++
    return new Promise((resolve) => {
      pending.set(id, resolve)
      ws.send(JSON.stringify({ id, method, args }))
    })
  }
  const api = new Proxy({} as FlashlineApi, {
    get(_t, prop) {
      if (typeof prop !== 'string' || prop === 'then' || prop === 'onEvent') return undefined
      return (args?: unknown) => call(prop as ApiMethod, args)
    }
  })
  return {
    api,
    events,
    at,
    async waitFor(what, check, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs
      for (;;) {
        const v = check(events)
        if (v !== undefined) return v
        if (closedWith) throw new Error(`${what}: ${closedWith}`)
        if (Date.now() > deadline) throw new Error(`${what}: not seen in ${timeoutMs} ms`)
        await new Promise((r) => setTimeout(r, 50))
      }
    },
    async close() {
      if (ws.readyState === ws.CLOSED) return
      const closed = new Promise((r) => ws.once('close', r))
      ws.close()
      await closed
    }
  }
}

/** The value of an ok Result, or an error naming the call and the host's message. */
export function ok<T>(what: string, r: Result<T>): T {
  if (!r.ok) throw new Error(`${what}: ${r.error.code}: ${r.error.message}`)
  return r.value
}
