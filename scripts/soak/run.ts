/**
 * npm run soak — a randomized fault soak of the whole engine through its front door.
 * SOAK_SEED (default: random, printed) makes a run repeatable; SOAK_JOBS sets its size (default 1000);
 * SOAK_KEEP=1 keeps the data dirs. Exits non-zero when there is a false success, a lost platform
 * report or a lost record.
 */
import { randomInt } from 'node:crypto'
import { formatReport, runSoak } from './soak'

async function main(): Promise<number> {
  const seed = process.env['SOAK_SEED'] ? Number(process.env['SOAK_SEED']) : randomInt(1, 2 ** 31)
  const jobs = process.env['SOAK_JOBS'] ? Number(process.env['SOAK_JOBS']) : 1000
  if (!Number.isInteger(seed) || seed < 0) throw new Error(`SOAK_SEED must be a whole number, got "${process.env['SOAK_SEED']}"`)
  if (!Number.isInteger(jobs) || jobs < 10) throw new Error(`SOAK_JOBS must be a whole number of at least 10, got "${process.env['SOAK_JOBS']}"`)
  process.stderr.write(`soak: seed ${seed} (SOAK_SEED=${seed} repeats this plan), ${jobs} jobs\n`)
  const report = await runSoak({ seed, jobs, keep: process.env['SOAK_KEEP'] === '1', log: (line) => process.stderr.write(`${line}\n`) })
  process.stdout.write(`${formatReport(report)}\n`)
  if (process.env['SOAK_KEEP'] === '1') process.stdout.write(`data dirs kept in ${report.dir}\n`)
  return report.falseSuccesses.length + report.lostReports.length + report.lostRecords.length === 0 ? 0 : 1
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`soak: ${(e as Error).stack ?? String(e)}\n`)
    process.exit(2)
  }
)
