import { resolve } from 'node:path'
import { defineConfig } from 'electron-vite'
import react from '@vitejs/plugin-react'

// Sources live in top-level main/, preload/, renderer/ (not electron-vite's default src/*).
export default defineConfig({
  main: {
    build: {
      // the ESP flasher's worker thread is its own entry (out/main/esp-worker.js, found next to the bundle)
      lib: { entry: { index: resolve('main/index.ts'), 'esp-worker': resolve('main/engine/flash/esp-worker.ts') } },
      externalizeDeps: { include: ['serialport', '@serialport/bindings-cpp', 'mqtt'] }
    }
  },
  preload: {
    build: {
      lib: { entry: resolve('preload/index.ts') }
    }
  },
  renderer: {
    root: resolve('renderer'),
    build: {
      rolldownOptions: { input: resolve('renderer/index.html') },
      // a minified bundle parses in a fraction of the time: the first paint carried a ~60 ms task
      minify: true
    },
    plugins: [react()]
  }
})
