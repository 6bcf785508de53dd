/**
 * Where a V8 CPU profile (node --cpu-prof) spent its time: self time per function, top N, several
 * profiles added up (e.g. every ESP worker of a batch run).
 *   npx tsx scripts/bench/profile-summary.ts [--top 30] [--by file] [--from MS] [--to MS] a.cpuprofile [b.cpuprofile …]
 * --from/--to keep the samples of that window, in ms from the profile's start.
 */
import { readFileSync } from 'node:fs'

interface ProfileNode {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number }
  hitCount?: number
  children?: number[]
}
interface Profile {
  nodes: ProfileNode[]
  startTime: number
  endTime: number
  samples?: number[]
  timeDeltas?: number[]
}

const args = process.argv.slice(2)
let top = 30
let byFile = false
let fromMs = 0
let toMs = Infinity
const files: string[] = []
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--top') top = Number(args[++i])
  else if (args[i] === '--by') byFile = args[++i] === 'file'
  else if (args[i] === '--from') fromMs = Number(args[++i])
  else if (args[i] === '--to') toMs = Number(args[++i])
  else files.push(args[i]!)
}
if (!files.length) {
  process.stderr.write('usage: profile-summary.ts [--top N] [--by file] PROFILE…\n')
  process.exit(2)
}

const self = new Map<string, number>()
let totalMs = 0
for (const f of files) {
  const p = JSON.parse(readFileSync(f, 'utf8')) as Profile
  const byId = new Map(p.nodes.map((n) => [n.id, n]))
  const ms = new Map<number, number>()
  // each sample's time is the delta to the next one
  const samples = p.samples ?? []
  const deltas = p.timeDeltas ?? []
  let at = 0
  for (let i = 0; i < samples.length; i++) {
    at += (deltas[i] ?? 0) / 1000
    if (at < fromMs || at > toMs) continue
    ms.set(samples[i]!, (ms.get(samples[i]!) ?? 0) + (deltas[i + 1] ?? 0) / 1000)
  }
  for (const [id, t] of ms) {
    const n = byId.get(id)!
    const where = n.callFrame.url.replace(/^.*\/(node_modules\/)?/, (m, nm: string | undefined) => (nm ? 'node_modules/' : ''))
    const key = byFile ? where || `(${n.callFrame.functionName || 'native'})` : `${n.callFrame.functionName || '(anonymous)'} ${where}:${n.callFrame.lineNumber + 1}`
    self.set(key, (self.get(key) ?? 0) + t)
    totalMs += t
  }
}
process.stdout.write(`${files.length} profile(s), ${totalMs.toFixed(0)} ms sampled\n`)
for (const [k, t] of [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, top)) {
  process.stdout.write(`${t.toFixed(1).padStart(9)} ms ${((t / totalMs) * 100).toFixed(1).padStart(5)} %  ${k}\n`)
}
