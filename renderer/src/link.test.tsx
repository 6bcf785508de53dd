import { describe, expect, it } from 'vitest'
import type { FlashlineApi } from '../../preload/contract'
import { installFakeApi } from '../../test/e2e/fake-api'
import { resolveApi } from './api'
import { keepInSync } from './link'
import { AppStore } from './store/store'

/** The fake engine behind a line that can drop (calls answer 'bridge-closed') or refuse ('unauthorized'). */
function flakyLine(): { api: FlashlineApi; line: { state: 'up' | 'down' | 'refused' }; calls: string[] } {
  installFakeApi({ slots: 2 })
  const inner = (globalThis as unknown as { api: FlashlineApi }).api
  const line = { state: 'up' as 'up' | 'down' | 'refused' }
  const calls: string[] = []
  const api = new Proxy(inner, {
    get(target, prop) {
      const f = Reflect.get(target, prop) as unknown
      if (prop === 'onEvent' || typeof f !== 'function') return f
      return async (args: unknown) => {
        calls.push(String(prop))
        if (line.state === 'down') return { ok: false, error: { kind: 'internal', code: 'bridge-closed', message: 'the connection to flashline ui was lost (1006)' } }
        if (line.state === 'refused') return { ok: false, error: { kind: 'internal', code: 'unauthorized', message: 'its token is missing or wrong' } }
        return (f as (a: unknown) => Promise<unknown>)(args)
      }
    }
  })
  return { api, line, calls }
}

const until = async (cond: () => boolean, ms = 2000): Promise<void> => {
  const end = Date.now() + ms
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time')
    await new Promise((r) => setTimeout(r, 5))
  }
}

describe('the line to the engine', () => {
  it('loads everything, marks a dropped socket lost, and loads everything again once it is back', async () => {
    const { api, line, calls } = flakyLine()
    const store = new AppStore((f) => setTimeout(f, 0))
    const { api: watched, stop } = keepInSync(api, store, { retryMs: 10 })
    await until(() => store.link === 'ok')
    expect(store.slots).toHaveLength(2)
    line.state = 'down'
    const r = await watched.listPorts()
    expect(r.ok).toBe(false)
    expect(store.link).toBe('lost')
    expect(store.linkMessage).toContain('was lost')
    await new Promise((r) => setTimeout(r, 40))
    expect(store.link).toBe('lost')
    const before = calls.filter((c) => c === 'listSlots').length
    line.state = 'up'
    await until(() => store.link === 'ok')
    expect(calls.filter((c) => c === 'listSlots').length).toBeGreaterThan(before)
    stop()
  })

  it('a refused token is final: no retries', async () => {
    const { api, line, calls } = flakyLine()
    line.state = 'refused'
    const store = new AppStore((f) => setTimeout(f, 0))
    const { stop } = keepInSync(api, store, { retryMs: 5 })
    await until(() => store.link === 'refused')
    const n = calls.length
    await new Promise((r) => setTimeout(r, 40))
    expect(calls.length).toBe(n)
    stop()
  })

  it('a heartbeat notices a drop with no call made', async () => {
    const { api, line } = flakyLine()
    const store = new AppStore((f) => setTimeout(f, 0))
    const { stop } = keepInSync(api, store, { heartbeatMs: 10, retryMs: 10 })
    await until(() => store.link === 'ok')
    line.state = 'down'
    await until(() => store.link === 'lost')
    line.state = 'up'
    await until(() => store.link === 'ok')
    stop()
  })
})

describe('resolveApi', () => {
  const loc = (href: string) => new URL(href) as unknown as Location
  const loader = (seen: Array<[string, string]>) => async () => ({
    connectBridge: (url: string, token: string) => {
      seen.push([url, token])
      return {} as FlashlineApi
    }
  })

  it("uses the desktop app's window.api when there is one", async () => {
    const api = {} as FlashlineApi
    expect(await resolveApi({ api, location: loc('http://127.0.0.1:9/?token=x') }, loader([]))).toEqual({ api, bridge: false })
  })

  it("connects to the page's own /api with the token from the address, or the cookie's after a reload", async () => {
    const seen: Array<[string, string]> = []
    await resolveApi({ location: loc('http://127.0.0.1:4599/?token=abc&lang=zh-CN#bench') }, loader(seen))
    await resolveApi({ location: loc('http://127.0.0.1:4599/#records') }, loader(seen))
    await resolveApi({ location: loc('https://bench.local/?token=t') }, loader(seen))
    expect(seen).toEqual([
      ['ws://127.0.0.1:4599/api', 'abc'],
      ['ws://127.0.0.1:4599/api', ''],
      ['wss://bench.local/api', 't']
    ])
  })

  it('is null for a page nobody serves (a file opened directly)', async () => {
    expect(await resolveApi({ location: loc('file:///tmp/out/renderer/index.html') }, loader([]))).toBeNull()
  })
})
