import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'main/**/*.test.ts', 'renderer/**/*.test.tsx'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Serial and broker tests spawn real peers; two cores only.
    pool: 'forks',
    maxWorkers: 2
  }
})
