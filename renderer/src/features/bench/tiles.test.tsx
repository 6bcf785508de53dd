// @vitest-environment happy-dom
import { act, cleanup, render, screen } from '@testing-library/react'
import { Profiler } from 'react'
import { I18nextProvider } from 'react-i18next'
import { afterEach, describe, expect, it } from 'vitest'
import type { FlashlineApi, JobView } from '../../../../preload/contract'
import { installFakeApi } from '../../../../test/e2e/fake-api'
import { AppProvider } from '../../store/context'
import { AppStore } from '../../store/store'
import { strictI18n } from '../../test-utils'
import { SlotTile } from './SlotTile'

afterEach(() => cleanup())

const job = (id: string, slotId: string, patch: Partial<JobView>): JobView => ({ id, origin: 'batch', slotId, port: `/dev/${slotId}`, phase: 'flashing', startVersion: '1.0.0', createdAt: 1, updatedAt: 1, history: [{ phase: 'received', at: 1 }], ...patch })

async function setup() {
  installFakeApi({})
  const api = (globalThis as unknown as { api: FlashlineApi }).api
  const frames: Array<() => void> = []
  const store = new AppStore((f) => frames.push(f))
  const missing: string[] = []
  const i18n = await strictI18n('en', missing)
  const renders: Record<string, number> = { a: 0, b: 0 }
  render(
    <I18nextProvider i18n={i18n}>
      <AppProvider value={{ api, store }}>
        {(['a', 'b'] as const).map((s) => (
          <Profiler key={s} id={s} onRender={() => renders[s]!++}>
            <SlotTile slotId={s} label={`Slot ${s.toUpperCase()}`} port={`/dev/${s}`} />
          </Profiler>
        ))}
      </AppProvider>
    </I18nextProvider>
  )
  const frame = (): void => act(() => frames.splice(0).forEach((f) => f()))
  return { store, frame, renders, missing }
}

const tile = (label: string): HTMLElement => screen.getByRole('article', { name: new RegExp(`^${label}:`) })

describe('slot tiles', () => {
  it('tell passed and failed by colour, icon and word, and carry data-job-id and data-result', async () => {
    const { store, frame, missing } = await setup()
    store.apply({ type: 'job', job: job('j-a', 'a', { phase: 'succeeded', result: 'succeeded', chip: 'STM32F103', chipId: '0x1234', version: '2.0.0' }) })
    store.apply({ type: 'job', job: job('j-b', 'b', { phase: 'failed', result: 'failed', reason: 'install-failed', error: { kind: 'device', code: 'stm32-protected' }, message: 'read-protected' }) })
    frame()
    const a = tile('Slot A')
    expect(a.dataset['jobId']).toBe('j-a')
    expect(a.dataset['result']).toBe('succeeded')
    expect(a.className).toContain('tile--succeeded')
    const passBadge = a.querySelector('.badge')!
    expect(passBadge.className).toContain('badge--succeeded')
    expect(passBadge.querySelector('svg.icon--check')).not.toBeNull()
    expect(passBadge.textContent).toBe('Passed')
    expect(a.textContent).toContain('STM32F103')
    expect(a.textContent).toContain('0x1234')

    const b = tile('Slot B')
    expect(b.dataset['result']).toBe('failed')
    const failBadge = b.querySelector('.badge')!
    expect(failBadge.className).toContain('badge--failed')
    expect(failBadge.querySelector('svg.icon--cross')).not.toBeNull()
    expect(failBadge.textContent).toBe('Failed')
    // the reason translated and the fix for this error code
    expect(b.textContent).toContain('Flashing the device failed')
    expect(b.textContent).toContain('Remove read protection')
    expect(missing).toEqual([])
  })

  it('shows a running job with progress bytes, speed and time left, and a cancel button', async () => {
    const { store, frame } = await setup()
    store.apply({ type: 'job', job: job('j-a', 'a', {}) })
    store.apply({ type: 'progress', jobId: 'j-a', progress: { stage: 'write', done: 512 * 1024, total: 1024 * 1024, bytesPerSec: 64 * 1024 } })
    frame()
    const a = tile('Slot A')
    expect(a.dataset['result']).toBe('running')
    expect(a.querySelector('progress')?.getAttribute('value')).toBe(String(512 * 1024))
    expect(a.textContent).toContain('512 KiB of 1.0 MiB')
    expect(a.textContent).toContain('64.0 KiB/s')
    expect(a.textContent).toContain('0:08 left')
    expect(screen.getAllByRole('button', { name: 'Cancel' })).toHaveLength(1)
  })

  it('an idle slot has no data-result', async () => {
    await setup()
    expect(tile('Slot A').hasAttribute('data-result')).toBe(false)
    expect(tile('Slot A').textContent).toContain('Idle')
  })

  it("one slot's progress re-renders that tile only", async () => {
    const { store, frame, renders } = await setup()
    store.apply({ type: 'job', job: job('j-a', 'a', {}) })
    store.apply({ type: 'job', job: job('j-b', 'b', {}) })
    frame()
    const before = { ...renders }
    for (let i = 1; i <= 5; i++) store.apply({ type: 'progress', jobId: 'j-a', progress: { stage: 'write', done: i * 100, total: 1000, bytesPerSec: 100 } })
    frame()
    expect(renders['a']! - before['a']!).toBe(1)
    expect(renders['b']! - before['b']!).toBe(0)
  })
})
