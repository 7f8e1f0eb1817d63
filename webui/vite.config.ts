/// <reference types="vitest/config" />
import { defineConfig } from 'vite'
import react from '@vitejs/plugin-react'

// Dev server: proxies /api (and the one-time `/?launch=TOKEN` exchange) to a
// running `taskchat serve`. Set TASKCHAT_URL to its origin, e.g.
// TASKCHAT_URL=http://127.0.0.1:8765 npm run dev
const target = process.env.TASKCHAT_URL ?? 'http://127.0.0.1:8765'

export default defineConfig({
  base: '/',
  plugins: [react()],
  build: {
    outDir: 'dist',
    assetsDir: 'assets',
    sourcemap: false,
    // No data: URIs (the CSP allows only 'self').
    assetsInlineLimit: 0,
    chunkSizeWarningLimit: 600,
  },
  server: {
    host: '127.0.0.1',
    port: 5173,
    proxy: {
      '/api': { target, changeOrigin: false },
      // The launch URL printed by `taskchat serve` sets the session cookie;
      // cookies are host-scoped (not port-scoped), so the cookie also reaches
      // the dev server, which forwards it with /api requests.
      '^/\\?launch=': { target, changeOrigin: false },
    },
  },
  test: {
    environment: 'jsdom',
    include: ['src/**/*.test.{ts,tsx}'],
  },
})
