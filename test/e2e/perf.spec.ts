import { cpus, loadavg } from 'node:os'
import { mkdir, writeFile } from 'node:fs/promises'
import { expect, test } from '@playwright/test'
import { openApp } from './app'
import { mainThreadTasks } from './trace'

/**
 * 16 busy slots, each job sending 10 progress events a second (the engine's coalesced rate) for 10 s:
 * a PerformanceObserver('longtask') in the page must see no task over 50 ms.
 *
 * A long task is wall-clock time, so on a machine shared with other work a 5 ms task preempted by
 * another process is "long" too. The trace tells the two apart: each task's CPU time on the
 * renderer's main thread is what the page itself costs, and must stay under 50 ms whatever the load.
 */
test('16 busy slots at 10 progress events/s each for 10 s: no long task over 50 ms', async ({ page, browser }, testInfo) => {
  test.setTimeout(60_000)
  await page.setViewportSize({ width: 1600, height: 1200 })
  await page.addInitScript(() => {
    const w = window as unknown as { __longTasks: number[] }
    w.__longTasks = []
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) w.__longTasks.push(Math.round(e.duration))
    }).observe({ type: 'longtask', buffered: true })
  })
  const { problems } = await openApp(page, { slots: 16, cachedPackage: true })
  await expect(page.locator('.tile')).toHaveCount(16)
  const loadLongTasks = await page.evaluate(() => (window as unknown as { __longTasks: number[] }).__longTasks.splice(0))

  const loadBefore = loadavg()[0]!
  await browser.startTracing(page, { categories: ['toplevel', 'devtools.timeline', 'disabled-by-default-devtools.timeline'] })
  const result = await page.evaluate(async () => {
    const w = window as unknown as { __longTasks: number[]; __fake: { startBusy(o: { slots: number; perSecond: number; seconds: number }): Promise<number> } }
    let last = 0
    let maxGap = 0
    let frames = 0
    let running = true
    const frame = (t: number): void => {
      if (last) maxGap = Math.max(maxGap, t - last)
      last = t
      frames++
      if (running) requestAnimationFrame(frame)
    }
    requestAnimationFrame(frame)
    const sent = await w.__fake.startBusy({ slots: 16, perSecond: 10, seconds: 10 })
    running = false
    return { sent, longTasks: w.__longTasks.slice(), maxFrameGapMs: Math.round(maxGap), frames }
  })
  const trace = await browser.stopTracing()
  const machineLoad = Math.max(loadBefore, loadavg()[0]!)
  const tasks = mainThreadTasks(trace, 'RunTask')
  const flushes = mainThreadTasks(trace, 'FireAnimationFrame')
  const max = (xs: number[]): number => Math.round(Math.max(0, ...xs) * 10) / 10
  const figures = {
    progressEvents: result.sent,
    frames: result.frames,
    longTasks: result.longTasks,
    longTaskMaxMs: Math.max(0, ...result.longTasks),
    maxFrameGapMs: result.maxFrameGapMs,
    taskCpuMaxMs: max(tasks.map((t) => t.cpu)),
    taskWallMaxMs: max(tasks.map((t) => t.wall)),
    frameCallbackCpuMaxMs: max(flushes.map((t) => t.cpu)),
    mainThreadCpuTotalMs: Math.round(tasks.reduce((a, t) => a + t.cpu, 0)),
    machineLoad: Math.round(machineLoad * 100) / 100,
    cores: cpus().length,
    loadLongTasks
  }
  await mkdir('test-results', { recursive: true })
  await writeFile('test-results/perf-16-slots.json', JSON.stringify(figures, null, 2))
  testInfo.annotations.push({ type: 'perf', description: JSON.stringify(figures) })
  console.log(`16 slots × 10 events/s × 10 s: ${JSON.stringify(figures)}`)

  // every tile shows the last progress it was sent
  const values = await page.locator('.tile progress').evaluateAll((els) => els.map((e) => Number((e as HTMLProgressElement).value) / Number((e as HTMLProgressElement).max)))
  expect(values).toHaveLength(16)
  for (const v of values) expect(v).toBeGreaterThan(0.85)
  expect(result.sent).toBeGreaterThanOrEqual(16 * 10 * 10 * 0.9)
  expect(tasks.length).toBeGreaterThan(100)
  // what the page costs: no task of its own near 50 ms of main-thread CPU
  expect(figures.taskCpuMaxMs).toBeLessThan(50)
  // the observer's verdict holds whenever other processes leave the page a core to run on
  if (machineLoad < figures.cores) expect(result.longTasks).toEqual([])
  else if (result.longTasks.length) testInfo.annotations.push({ type: 'note', description: `long tasks ${JSON.stringify(result.longTasks)} ms wall-clock with the machine's load at ${figures.machineLoad} on ${figures.cores} cores; the longest task used ${figures.taskCpuMaxMs} ms of CPU` })
  expect(problems).toEqual([])
})
