// @vitest-environment happy-dom
import { cleanup, screen } from '@testing-library/react'
import { afterEach, describe, expect, it } from 'vitest'
import type { JobView } from '../../../../preload/contract'
import { renderApp, settle } from '../../test-utils'

afterEach(() => {
  cleanup()
  localStorage.clear()
})

const at = Date.UTC(2025, 5, 2, 9)
const failedJob: JobView = {
  id: 'local-9',
  origin: 'local',
  phase: 'failed',
  result: 'failed',
  port: '/dev/ttyUSB7',
  reason: 'install-failed',
  message: 'cannot open /dev/ttyUSB7: EACCES',
  startVersion: 'unknown',
  createdAt: at,
  updatedAt: at,
  history: [{ phase: 'received', at }, { phase: 'failed', at }]
}

describe('notices and versions in the page’s language (the host speaks English)', () => {
  it('zh-CN: a failed job’s notice names its port in Chinese, keeps the engine message; a batch end gives its counts', async () => {
    const r = await renderApp({ lng: 'zh-CN', hash: '#platform' })
    // as the host sends them: the job's event, then its notice
    r.fake.emit({ type: 'job', job: failedJob })
    r.fake.emit({ type: 'notice', kind: 'job-failed', text: 'Job on /dev/ttyUSB7 failed: cannot open /dev/ttyUSB7: EACCES' })
    r.fake.emit({ type: 'batch', batch: { id: 'b1', state: 'ended', passed: 7, failed: 1, cancelled: 0, yield: 0.875, unitsPerHour: 0, startedAt: new Date(at).toISOString(), units: [] } })
    r.fake.emit({ type: 'notice', kind: 'batch-ended', text: 'Batch ended: 7 passed, 1 failed' })
    await settle(20)
    const notices = [...document.querySelectorAll('.notice')].map((n) => n.textContent)
    expect(notices).toEqual(['任务失败/dev/ttyUSB7 上的任务失败。 cannot open /dev/ttyUSB7: EACCES×', '批次已结束通过 7，失败 1×'])
    expect(document.body.textContent).not.toContain('Job on')
    expect(document.body.textContent).not.toContain('passed')
    // the engine's "unknown" version is said in the page's language
    const card = document.querySelector('.job-card[data-job-id="local-9"]')!
    expect(card.textContent).toContain('未知')
    expect(card.textContent).not.toContain('unknown')
    expect(r.missing).toEqual([])
  })

  it('en: the same; a notice about nothing the page knows keeps the host’s words', async () => {
    const r = await renderApp({ lng: 'en', hash: '#bench' })
    r.fake.emit({ type: 'notice', kind: 'batch-ended', text: 'Batch ended: 2 passed, 0 failed' })
    r.fake.emit({ type: 'job', job: failedJob })
    r.fake.emit({ type: 'notice', kind: 'job-failed', text: 'host words' })
    await settle(20)
    expect([...document.querySelectorAll('.notice')].map((n) => n.textContent)).toEqual(['Batch endedBatch ended: 2 passed, 0 failed×', 'Job failedThe job on /dev/ttyUSB7 failed. cannot open /dev/ttyUSB7: EACCES×'])
    expect(screen.getAllByRole('button', { name: 'Dismiss' })).toHaveLength(2)
  })
})
