import { defineConfig } from '@playwright/test'

// Two projects, one run:
// - renderer: the built renderer (out/renderer) in Debian's Chromium (no Electron binary here), with
//   the preload's window.api stubbed in the page by a fake engine (test/e2e/fake-api.ts);
// - real-engine: the same renderer served by `flashline ui` with the real engine behind its bridge,
//   the simulated platforms (--demo) and simulated boards on ptys (test/e2e-real; its global setup
//   starts the flashline ui processes and stops them at the end).
// a port of its own per run, so two runs on one machine do not collide; chosen once by the runner
// (workers load this file again and inherit the variable)
process.env['PW_PORT'] ??= String(20000 + (process.pid % 20000))
const port = Number(process.env['PW_PORT'])

export default defineConfig({
  timeout: 30_000,
  globalSetup: './test/e2e-real/global-setup.ts',
  use: {
    browserName: 'chromium',
    launchOptions: {
      executablePath: process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium',
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run']
    }
  },
  projects: [
    { name: 'renderer', testDir: 'test/e2e', use: { baseURL: `http://127.0.0.1:${port}` } },
    // the specs share the two flashline ui processes: one at a time, in file order
    { name: 'real-engine', testDir: 'test/e2e-real', timeout: 90_000, workers: 1, fullyParallel: false }
  ],
  webServer: {
    command: `npx vite preview --outDir out/renderer --host 127.0.0.1 --port ${port} --strictPort`,
    url: `http://127.0.0.1:${port}`,
    reuseExistingServer: false
  }
})
