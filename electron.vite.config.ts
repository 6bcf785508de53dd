import { resolve } from 'node:path'
import { defineConfig } from 'electron-vite'
import react from '@vitejs/plugin-react'

// Sources live in top-level main/, preload/, renderer/ (not electron-vite's default src/*).
export default defineConfig({
  main: {
    build: {
      lib: { entry: resolve('main/index.ts') },
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
      rolldownOptions: { input: resolve('renderer/index.html') }
    },
    plugins: [react()]
  }
})
