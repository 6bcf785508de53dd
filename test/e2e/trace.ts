/** A Chrome trace event, as Playwright's `browser.startTracing()` writes them. */
interface TraceEvent {
  name: string
  ph: string
  pid: number
  tid: number
  dur?: number
  tdur?: number
  args?: { name?: string }
}

/** The renderer main thread's tasks in a Chrome trace: wall time and the thread's own CPU time, in ms. */
export function mainThreadTasks(trace: Buffer, name: string): Array<{ wall: number; cpu: number }> {
  const events = (JSON.parse(trace.toString()) as { traceEvents: TraceEvent[] }).traceEvents
  const main = new Set(events.filter((e) => e.name === 'thread_name' && e.args?.name === 'CrRendererMain').map((e) => `${e.pid}:${e.tid}`))
  return events.filter((e) => e.ph === 'X' && e.name === name && main.has(`${e.pid}:${e.tid}`)).map((e) => ({ wall: (e.dur ?? 0) / 1000, cpu: (e.tdur ?? 0) / 1000 }))
}
