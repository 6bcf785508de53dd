import { defineConfig } from '@playwright/test'

// The renderer is tested in Debian's Chromium (no Electron binary here), served from the built
// out/renderer, with the preload's window.api stubbed in the page.
// a port of its own per run, so two runs on one machine do not collide; chosen once by the runner
// (workers load this file again and inherit the variable)
process.env['PW_PORT'] ??= String(20000 + (process.pid % 20000))
const port = Number(process.env['PW_PORT'])

export default defineConfig({
  testDir: 'test/e2e',
  timeout: 30_000,
  use: {
    baseURL: `http://127.0.0.1:${port}`,
    browserName: 'chromium',
    launchOptions: {
      executablePath: process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium',
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run']
    }
  },
  webServer: {
    command: `npx vite preview --outDir out/renderer --host 127.0.0.1 --port ${port} --strictPort`,
    url: `http://127.0.0.1:${port}`,
    reuseExistingServer: false
  }
})
