import type { ApiMethod, AppEvent, FlashlineApi, Result } from './contract'

/**
 * `window.api` over `flashline ui`'s WebSocket bridge, for the renderer running in a plain browser
 * (where there is no preload). Plain TypeScript for the page: no Node, nothing imported but types.
 *
 * The wire (JSON text frames):
 *   page → host   {auth: token}                     first, when the page has the token
 *                 {id, method, args}                a call
 *   host → page   {id, result}                      the call's Result
 *                 {event}                           an AppEvent
 * The host closes with 4401 (no or wrong token) or 4403 (a foreign page); then nothing is retried.
 * Any other close ends the calls waiting for an answer with error code 'bridge-closed' and the client
 * reconnects; calls made meanwhile wait for the new socket.
 */

/** The part of the WebSocket interface the client uses (the browser's, or a Node one in tests). */
export interface BridgeSocket {
  readonly readyState: number
  send(data: string): void
  close(code?: number, reason?: string): void
  onopen: ((ev: unknown) => void) | null
  onmessage: ((ev: { data: unknown }) => void) | null
  onclose: ((ev: { code: number; reason: string }) => void) | null
  onerror: ((ev: unknown) => void) | null
}

export interface BridgeOptions {
  /** The WebSocket constructor (default: the page's). */
  WebSocket?: new (url: string) => BridgeSocket
  /** Wait before reconnecting after a lost socket (default 1 s, growing to 10 s). */
  reconnectMs?: number
}

const OPEN = 1

/** Ends calls that cannot be answered: a Result, never a rejection. */
const failure = (code: string, message: string): Result<never> => ({ ok: false, error: { kind: 'internal', code, message } })

/**
 * A FlashlineApi whose calls travel over the bridge at `url` (ws://host:port/api), authenticated with
 * `token` (from the page's `?token=`; the page's cookie also authenticates, so after a reload without
 * the query an empty token works).
 */
export function connectBridge(url: string, token: string, options: BridgeOptions = {}): FlashlineApi {
  const Socket = options.WebSocket ?? (globalThis as unknown as { WebSocket: new (url: string) => BridgeSocket }).WebSocket
  const baseDelay = options.reconnectMs ?? 1000
  const listeners = new Set<(e: AppEvent) => void>()
  const pending = new Map<number, (r: Result<unknown>) => void>()
  let queue: string[] = []
  let nextId = 1
  let socket: BridgeSocket | null = null
  let refused: string | null = null
  let delay = baseDelay

  const open = (): void => {
    const ws = new Socket(url)
    socket = ws
    ws.onopen = () => {
      delay = baseDelay
      if (token) ws.send(JSON.stringify({ auth: token }))
      for (const frame of queue) ws.send(frame)
      queue = []
    }
    ws.onmessage = (ev) => {
      let msg: { id?: unknown; result?: Result<unknown>; event?: AppEvent }
      try {
        msg = JSON.parse(String(ev.data))
      } catch {
        return
      }
      if (typeof msg.id === 'number' && msg.result) {
        pending.get(msg.id)?.(msg.result)
        pending.delete(msg.id)
      } else if (msg.event) {
        for (const l of listeners) l(msg.event)
      }
    }
    ws.onerror = () => undefined
    ws.onclose = (ev) => {
      socket = null
      if (ev.code === 4401) refused = 'the Flashline UI refused the page: its token is missing or wrong; open the address flashline ui printed'
      else if (ev.code === 4403) refused = 'the Flashline UI refused the page: it is not the page flashline ui serves'
      const message = refused ?? `the connection to flashline ui was lost (${ev.code}${ev.reason ? `: ${ev.reason}` : ''}); is it still running?`
      // calls not sent yet end too: none runs later without its caller knowing
      queue = []
      for (const resolve of pending.values()) resolve(failure(refused ? 'unauthorized' : 'bridge-closed', message))
      pending.clear()
      if (!refused) {
        setTimeout(open, delay)
        delay = Math.min(delay * 2, 10_000)
      }
    }
  }

  const call = (method: ApiMethod, args: unknown): Promise<Result<unknown>> => {
    if (refused) return Promise.resolve(failure('unauthorized', refused))
    const id = nextId++
    const frame = JSON.stringify({ id, method, args })
    return new Promise((resolve) => {
      pending.set(id, resolve)
      if (socket && socket.readyState === OPEN) socket.send(frame)
      else queue.push(frame)
    })
  }

  const onEvent = (listener: (e: AppEvent) => void): (() => void) => {
    listeners.add(listener)
    return () => listeners.delete(listener)
  }

  open()
  // every property is a method of the contract; the host answers an unknown one with 'unknown-method'
  return new Proxy({} as FlashlineApi, {
    get(_target, prop) {
      if (prop === 'onEvent') return onEvent
      // not a thenable, not a symbol-keyed protocol
      if (typeof prop !== 'string' || prop === 'then' || prop === 'toJSON') return undefined
      return (args?: unknown) => call(prop as ApiMethod, args)
    }
  })
}
